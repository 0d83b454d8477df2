"""``[ChunkAnswer]`` -> ``Draft``: one list of proposed figures, text items and meta per report.

Pure and deterministic: answers are ordered by chunk index first, so the order a backend
returns them in never changes the output. Nothing is verified here (that is ``fazhi.verify``);
merge only removes what is certainly the same statement seen twice -- e.g. by two overlapping
chunks -- and makes disagreements visible instead of resolving them silently:

- figures: same indicator and value with one quote containing the other (an exact duplicate
  is the special case of equal quotes) -> one figure with the longer quote. The same indicator
  and scope with different values -> both kept and listed in ``Draft.conflicts``.
- text items: one containing the other, or character overlap >= 0.8 -> the longer one.
- meta: per field the first non-null value in chunk order (the title and opening lines state
  region, issuer and year). A later, different non-null value is not used but recorded as a
  ``Rejection(what="meta", code="bad_meta", reason="conflicting meta: ...")``: it is a proposal
  that did not make it into the output, which is exactly what ``rejected`` lists.
"""

from __future__ import annotations

from typing import TypeVar

from fazhi.model import (
    ChunkAnswer,
    Conflict,
    Draft,
    FigureProposal,
    Meta,
    Rejection,
    TextProposal,
    Usage,
)
from fazhi.numbers import values_equal
from fazhi.text import char_overlap

TEXT_OVERLAP_SAME = 0.8  # two text items this similar are one item quoted twice


def merge(answers: list[ChunkAnswer], *, source: str = "", chunks: int | None = None) -> Draft:
    """One ``Draft`` from every chunk's answer; ``chunks`` defaults to the answer count."""
    ordered = sorted(answers, key=lambda a: (a.chunk, a.model_dump_json()))
    figures = merge_figures([_with_chunk(f, a.chunk) for a in ordered for f in a.figures])
    shortcomings = [_with_chunk(t, a.chunk) for a in ordered for t in a.shortcomings]
    plans = [_with_chunk(t, a.chunk) for a in ordered for t in a.plans]
    meta, meta_rejections = merge_meta(ordered)
    usage = Usage()
    for answer in ordered:
        usage = usage + answer.usage
    return Draft(
        source=source,
        meta=meta,
        figures=figures,
        shortcomings=merge_text_items(shortcomings),
        plans=merge_text_items(plans),
        rejected=[r for a in ordered for r in a.rejected] + meta_rejections,
        conflicts=find_conflicts(figures),
        usage=usage,
        chunks=len(answers) if chunks is None else chunks,
        chunk_errors=[f"chunk {a.chunk}: {a.error}" for a in ordered if a.error],
    )


_Item = TypeVar("_Item", FigureProposal, TextProposal)


def _with_chunk(item: _Item, chunk: int) -> _Item:
    # The chunk index is the verifier's hint for which occurrence of a repeated quote is meant.
    return item if item.chunk is not None else item.model_copy(update={"chunk": chunk})


def same_statement(a: FigureProposal, b: FigureProposal) -> bool:
    """The same figure quoted twice: same indicator and value, one quote inside the other."""
    return (
        a.indicator == b.indicator
        and values_equal(a.value, b.value)
        and (a.quote in b.quote or b.quote in a.quote)
    )


def merge_figures(figures: list[FigureProposal]) -> list[FigureProposal]:
    """Collapse repeated statements to the one with the longer quote, keeping first-seen order."""
    kept: list[FigureProposal] = []
    by_indicator: dict[str, list[int]] = {}  # where in ``kept``: only these can be the same
    for figure in figures:
        same_indicator = by_indicator.setdefault(figure.indicator, [])
        for i in same_indicator:
            if same_statement(figure, kept[i]):
                kept[i] = _longer_quote(kept[i], figure)
                break
        else:
            same_indicator.append(len(kept))
            kept.append(figure)
    return kept


def _longer_quote(first: FigureProposal, second: FigureProposal) -> FigureProposal:
    longer, shorter = (second, first) if len(second.quote) > len(first.quote) else (first, second)
    if longer.scope is None and shorter.scope is not None:
        return longer.model_copy(update={"scope": shorter.scope})
    return longer


def find_conflicts(figures: list[FigureProposal]) -> list[Conflict]:
    """Every (indicator, scope) stated with more than one value, in first-seen order."""
    values: dict[tuple[str, str | None], list[int | float]] = {}
    for figure in figures:
        seen = values.setdefault((figure.indicator, figure.scope), [])
        if not any(values_equal(figure.value, v) for v in seen):
            seen.append(figure.value)
    return [
        Conflict(indicator=indicator, scope=scope, values=vals)
        for (indicator, scope), vals in values.items()
        if len(vals) > 1
    ]


def same_passage(a: str, b: str) -> bool:
    return a in b or b in a or char_overlap(a, b) >= TEXT_OVERLAP_SAME


def merge_text_items(items: list[TextProposal]) -> list[TextProposal]:
    """Collapse near-identical passages to the longer one, keeping first-seen order."""
    kept: list[TextProposal] = []
    for item in items:
        for i, other in enumerate(kept):
            if same_passage(item.quote, other.quote):
                if len(item.quote) > len(other.quote):
                    kept[i] = item
                break
        else:
            kept.append(item)
    return kept


def merge_meta(ordered: list[ChunkAnswer]) -> tuple[Meta, list[Rejection]]:
    """First non-null value per field; later different values become visible rejections."""
    fields: dict[str, object] = {}
    source_chunk: dict[str, int] = {}
    rejections: list[Rejection] = []
    for answer in ordered:
        if answer.meta is None:
            continue
        for name, value in answer.meta.model_dump().items():
            if value is None:
                continue
            if name not in fields:
                fields[name], source_chunk[name] = value, answer.chunk
            elif value != fields[name]:
                rejections.append(
                    Rejection(
                        what="meta",
                        code="bad_meta",
                        reason=(
                            f"conflicting meta: {name} {value!r} in chunk {answer.chunk} differs "
                            f"from {fields[name]!r} in chunk {source_chunk[name]}, kept the earlier"
                        ),
                        item={name: value},
                        chunk=answer.chunk,
                    )
                )
    return Meta.model_validate(fields), rejections
