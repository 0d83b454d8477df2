"""The trust boundary: ``verify(draft, source, catalog) -> Result``.

Every figure, meta field and text item a backend proposes is checked against the source text
itself; what passes becomes a verified ``Figure`` or ``TextItem`` with its character offsets
(``span``, ``raw_span``), what fails moves to ``Result.rejected`` with a code and a one-line
reason. Nothing is repaired by guessing: the only rewrites are to what the source literally
says -- a quote found modulo whitespace becomes the exact source slice, ``raw`` becomes the
number as printed there, and ``approx`` is read off it.

This module and its two helpers are the only code that makes verified types (a test holds it):
``verify_figures`` (``check_figure``, ``cuts_number``: the figure checks in order) and
``verify_text`` (locating quotes modulo whitespace, ``check_meta``, ``check_items``).
"""

from __future__ import annotations

from fazhi.catalog import Catalog, default_catalog
from fazhi.index import index_of
from fazhi.model import Chunk, Conflict, Draft, Figure, Rejection, Result, Source
from fazhi.numbers import values_equal
from fazhi.verify_figures import check_figure, cuts_number
from fazhi.verify_text import (
    check_items,
    check_meta,
    date_in_source,
    foreign_numbers,
    locate,
    occurrences,
    squeeze,
    year_in_source,
)

__all__ = [
    "check_figure",
    "check_items",
    "check_meta",
    "cuts_number",
    "date_in_source",
    "foreign_numbers",
    "locate",
    "occurrences",
    "squeeze",
    "verify",
    "year_in_source",
]


def _surviving_conflicts(conflicts: list[Conflict], figures: list[Figure]) -> list[Conflict]:
    # A conflict stays only while at least two of its values are still among accepted figures.
    by_key: dict[tuple[str, str | None], list[Figure]] = {}
    for figure in figures:
        by_key.setdefault((figure.indicator, figure.scope), []).append(figure)
    kept = []
    for conflict in conflicts:
        same = by_key.get((conflict.indicator, conflict.scope), [])
        values = [v for v in conflict.values if any(values_equal(f.value, v) for f in same)]
        if len(values) > 1:
            kept.append(conflict.model_copy(update={"values": values}))
    return kept


def verify(
    draft: Draft, source: Source, catalog: Catalog | None = None, chunks: list[Chunk] | None = None
) -> Result:
    """The verified ``Result``: only what the source bears out, every failure in ``rejected``
    (the draft's own rejections first).

    ``chunks`` (optional) maps each item's ``chunk`` index to its offsets, so that a quote the
    report repeats is located in the chunk that proposed it.
    """
    catalog = catalog if catalog is not None else default_catalog()
    text = source.text
    index_of(source)  # the source's one index: every check below looks up this text in it
    chunk_spans = {c.index: (c.start, c.end) for c in chunks or []}
    figures: list[Figure] = []
    rejected = list(draft.rejected)
    for figure in draft.figures:
        hint = chunk_spans.get(figure.chunk) if figure.chunk is not None else None
        checked = check_figure(figure, text, catalog, hint)
        if isinstance(checked, Rejection):
            rejected.append(checked)
        else:
            figures.append(checked)
    meta, meta_rejections = check_meta(draft.meta, text)
    shortcomings, shortcoming_rejections = check_items(
        draft.shortcomings, text, "shortcoming", chunk_spans
    )
    plans, plan_rejections = check_items(draft.plans, text, "plan", chunk_spans)
    header = {name: getattr(draft, name) for name in _CARRIED}
    return Result(
        **header,
        source_sha256=draft.source_sha256 or source.sha256,
        meta=meta,
        figures=figures,
        shortcomings=shortcomings,
        plans=plans,
        rejected=rejected + meta_rejections + shortcoming_rejections + plan_rejections,
        conflicts=_surviving_conflicts(draft.conflicts, figures),
        verified=True,
    )


# what a draft says about the run (not about the report's content): the result keeps it as is
_CARRIED = sorted(
    set(Draft.model_fields)
    - {"source_sha256", "meta", "figures", "shortcomings", "plans", "rejected", "conflicts"}
)
