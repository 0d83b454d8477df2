"""Hybrid = two labellers over one candidate set: the rules and the LLM.

Both backends answer the same chunks. Each side's proposals are verified on their own first, so
that every figure names the number of the source it labels (``raw_span``, the source index's
candidate); then, per candidate:

- both give it the same indicator -> one figure, ``sources = ["rules", "llm"]``;
- they give it different indicators -> the preferred labeller's figure, with a
  ``labellers_disagree`` review reason; the other label is kept in ``rejected`` with the code
  ``outvoted`` and a reason that names the decision (``prefer``; ``auto``, the default, decides
  per report: see ``choose``);
- only one labels it -> that figure with its one source, unless the preferred labeller gave
  the same indicator (in an agreeing scope) to another number: then the preferred reading wins
  and the other is ``outvoted`` (a 不予受理 count read as the accepted count, a multi-year total
  beside the year's own). Where the preferred labeller is silent on an indicator, the other
  fills it (single source: a lower confidence, docs/confidence.md).

``auto`` prefers the model on a report where it agrees with the rules on most of the numbers
both labelled and most of its proposals verified, the rules otherwise (``choose``); ``llm`` and
``rules`` fix the preference. Meta per field and text items per chunk follow the same report's
preference; every label not used leaves a rejection. A chunk one labeller failed and the other
answered is not failed: the answer stands and the failure is a cap hit (the report is partial).
The pipeline's one merge and one verifier still run on the combined answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fazhi.backends.hybrid_policy import (
    POLICIES,
    UNRELIABLE_SHARE,
    Policy,
    Preference,
    Side,
    choose,
    failed_share,
)
from fazhi.catalog import Catalog, default_catalog
from fazhi.crosschecks import scopes_agree
from fazhi.merge import merge
from fazhi.model import Chunk, ChunkAnswer, Figure, Meta, Rejection, Result, Source, TextItem
from fazhi.text import char_overlap
from fazhi.verify import verify

TEXT_SAME = 0.8  # two text items this similar are one passage (as in merge)


class HybridBackend:
    name = "hybrid"

    def __init__(self, rules, llm, prefer: Policy = "auto", catalog: Catalog | None = None):
        if prefer not in POLICIES:
            raise ValueError(f"unknown hybrid policy {prefer!r}; choose one of {POLICIES}")
        self.rules = rules
        self.llm = llm
        self.prefer: Policy = prefer
        # the catalog the model labels against is the one its figures are verified against
        self.catalog: Catalog = catalog or getattr(llm, "catalog", None) or default_catalog()
        self.labellers = ("rules", "llm")
        self.model = llm.model
        self.prompt_version = f"{rules.prompt_version}+{llm.prompt_version}"
        self.preferred_chunk_size = getattr(llm, "preferred_chunk_size", None)

    @property
    def estimate_basis(self) -> str | None:
        return getattr(self.llm, "estimate_basis", None)

    def estimate_tokens(self, chunks: Sequence[Chunk]) -> tuple[int, int]:
        """The rules cost nothing: the LLM sees every chunk, so a dry run costs what it costs."""
        return self.llm.estimate_tokens(chunks)

    def answer(self, chunks: Sequence[Chunk], source: Source) -> list[ChunkAnswer]:
        by_rules = self.rules.answer(chunks, source)
        by_llm = self.llm.answer(chunks, source)
        return combine(
            by_rules, by_llm, source, list(chunks), policy=self.prefer, catalog=self.catalog
        )

    # Batch API mode (fazhi.pipeline.BatchBackend): only the model's side goes through the batch

    def batch_requests(
        self, chunks: Sequence[Chunk], source: Source, responses: Mapping[str, dict]
    ) -> dict[str, dict[str, Any]]:
        return self.llm.batch_requests(chunks, source, responses)

    def batch_answers(
        self,
        chunks: Sequence[Chunk],
        source: Source,
        responses: Mapping[str, dict],
        failures: Mapping[str, str] | None = None,
    ) -> list[ChunkAnswer]:
        by_rules = self.rules.answer(chunks, source)
        by_llm = self.llm.batch_answers(chunks, source, responses, failures)
        return combine(
            by_rules, by_llm, source, list(chunks), policy=self.prefer, catalog=self.catalog
        )


def combine(
    by_rules: list[ChunkAnswer],
    by_llm: list[ChunkAnswer],
    source: Source,
    chunks: list[Chunk],
    policy: Policy = "auto",
    catalog: Catalog | None = None,
) -> list[ChunkAnswer]:
    """One answer per chunk from both labellers' answers (see the module docstring)."""
    answers: dict[Side, list[ChunkAnswer]] = {"rules": by_rules, "llm": by_llm}
    verified = _verified_sides(answers, source, chunks, catalog)
    share = failed_share(verified["llm"])
    pref = choose(policy, verified["rules"], verified["llm"])
    prefer, other = pref.side, pref.other
    failed = {a.chunk for a in answers[prefer] if a.error}
    figures, outvoted = combine_figures(verified[prefer], verified[other], pref, failed)
    if policy == "auto" and share > UNRELIABLE_SHARE:
        figures, distrusted = _distrust(figures, "llm", share)
        outvoted += distrusted
    meta, meta_outvoted = combine_meta(verified[prefer].meta, verified[other].meta, pref)
    texts: dict[str, list[TextItem]] = {}
    text_outvoted: list[Rejection] = []
    for what in ("shortcomings", "plans"):
        kept, lost = combine_text_items(
            getattr(verified[prefer], what), getattr(verified[other], what), pref, failed, what
        )
        texts[what] = kept
        text_outvoted += lost
    rejected = [*verified[prefer].rejected, *verified[other].rejected, *outvoted]
    rejected += [*meta_outvoted, *text_outvoted]
    return _per_chunk(chunks, answers, figures, meta, texts, rejected)


def preference_for(
    by_rules: list[ChunkAnswer],
    by_llm: list[ChunkAnswer],
    source: Source,
    chunks: list[Chunk],
    policy: Policy = "auto",
    catalog: Catalog | None = None,
) -> Preference:
    """The decision ``combine`` takes on this report (for benches and reports)."""
    verified = _verified_sides({"rules": by_rules, "llm": by_llm}, source, chunks, catalog)
    return choose(policy, verified["rules"], verified["llm"])


def _verified_sides(
    answers: dict[Side, list[ChunkAnswer]],
    source: Source,
    chunks: list[Chunk],
    catalog: Catalog | None,
) -> dict[Side, Result]:
    """Each labeller's answers verified on their own, against one catalog."""
    catalog = catalog or default_catalog()
    return {side: _verified(answers[side], source, chunks, catalog) for side in answers}


def _distrust(
    figures: list[Figure], side: Side, share: float
) -> tuple[list[Figure], list[Rejection]]:
    """Figures only ``side`` proposed become outvoted rejections (``side`` is unreliable)."""
    kept, outvoted = [], []
    for figure in figures:
        if figure.sources != [side]:
            kept.append(figure)
            continue
        outvoted.append(
            Rejection(
                what="figure",
                code="outvoted",
                reason=f"{side} label {figure.indicator}={figure.raw} not used: {share:.0%} of "
                f"{side}'s figure proposals on this report failed verification",
                item=figure.model_dump(mode="json"),
                chunk=figure.chunk,
            )
        )
    return kept, outvoted


def _verified(
    answers: list[ChunkAnswer], source: Source, chunks: list[Chunk], catalog: Catalog
) -> Result:
    draft = merge(answers, source=source.path, chunks=len(chunks))
    return verify(draft, source, catalog, chunks=chunks)


def combine_figures(
    preferred: Result, other: Result, pref: Preference, failed: set[int]
) -> tuple[list[Figure], list[Rejection]]:
    """Per candidate (``raw_span``): agreement, disagreement or one labeller only."""
    prefer, other_side = pref.side, pref.other
    by_span: dict[object, list[Figure]] = {}
    for figure in other.figures:
        by_span.setdefault(figure.raw_span, []).append(figure)
    kept: list[Figure] = []
    outvoted: list[Rejection] = []
    for figure in preferred.figures:
        theirs = by_span.get(figure.raw_span, [])
        same = [f for f in theirs if f.indicator == figure.indicator]
        if same:
            kept.append(figure.model_copy(update={"sources": sorted([prefer, other_side])}))
            continue
        if theirs:
            said = ", ".join(f.indicator for f in theirs)
            reason = f"labellers_disagree: {other_side} labelled this number {said}"
            figure = figure.model_copy(update={"review": [*figure.review, reason]})
        kept.append(figure.model_copy(update={"sources": [prefer]}))
    labelled = {(f.raw_span, f.indicator) for f in preferred.figures}
    for figure in other.figures:
        if (figure.raw_span, figure.indicator) in labelled:
            continue
        winner = _winner_over(figure, preferred.figures, failed)
        if winner is None:
            kept.append(figure.model_copy(update={"sources": [other_side]}))
        else:
            outvoted.append(_outvoted(figure, pref, winner))
    return kept, outvoted


def _winner_over(figure: Figure, preferred: list[Figure], failed: set[int]) -> Figure | None:
    """The preferred labeller's figure that outvotes ``figure``: one on the same number, or
    one with the same indicator in an agreeing scope; none where its chunk failed."""
    if figure.chunk in failed:
        return None
    on_number = [f for f in preferred if f.raw_span == figure.raw_span]
    same_indicator = [
        f for f in preferred if f.indicator == figure.indicator and scopes_agree(f, figure)
    ]
    return next(iter(on_number + same_indicator), None)


def _outvoted(figure: Figure, pref: Preference, winner: Figure) -> Rejection:
    loser, winner_side = pref.other, pref.side
    if winner.raw_span == figure.raw_span:
        why = f"{winner_side} labelled this number {winner.indicator}"
    else:
        why = f"{winner_side} read {winner.indicator} as {winner.raw} ({winner.quote!r})"
    return Rejection(
        what="figure",
        code="outvoted",
        reason=f"{loser} label {figure.indicator}={figure.raw} not used: {why}; {pref.why}",
        item=figure.model_copy(update={"sources": [loser]}).model_dump(mode="json"),
        chunk=figure.chunk,
    )


def combine_meta(preferred: Meta, other: Meta, pref: Preference) -> tuple[Meta, list[Rejection]]:
    """Per field: the preferred labeller's value, else the other's; a differing value of the
    other is recorded as outvoted."""
    fields: dict[str, object] = {}
    outvoted = []
    for name, mine in preferred.model_dump().items():
        theirs = getattr(other, name)
        fields[name] = mine if mine is not None else theirs
        if mine is not None and theirs is not None and mine != theirs:
            outvoted.append(
                Rejection(
                    what="meta",
                    code="outvoted",
                    reason=f"{pref.other} {name}={theirs!r} not used: {pref.side} said "
                    f"{mine!r}; {pref.why}",
                    item={name: theirs},
                )
            )
    return Meta.model_validate(fields), outvoted


def combine_text_items(
    preferred: list[TextItem],
    other: list[TextItem],
    pref: Preference,
    failed: set[int],
    what: str = "shortcomings",
) -> tuple[list[TextItem], list[Rejection]]:
    """The preferred labeller's items; the other's fill where it gave none (or its chunk
    failed); the other's items it passed over are recorded as outvoted.

    Text items are passages, not labels: where the other labeller split one of the preferred
    side's passages into several items (a list inside one sentence that label mode marks as a
    whole), the finer split is kept whichever side is preferred, and the coarse item outvoted."""
    if not preferred:
        return list(other), []
    kept: list[TextItem] = []
    outvoted: list[Rejection] = []
    split_by_other: set[int] = set()
    for mine in preferred:
        finer = [i for i, o in enumerate(other) if _inside(o, mine)]
        if len(finer) < 2:
            kept.append(mine)
            continue
        kept += [other[i] for i in finer]
        split_by_other.update(finer)
        why = f"the {pref.other} labeller split this passage into {len(finer)} items, kept"
        outvoted.append(_text_outvoted(mine, what, f"{pref.side} text item not used: {why}"))
    for index, item in enumerate(other):
        if index in split_by_other:
            continue
        same = [mine for mine in preferred if _same_passage(item, mine)]
        if any(mine.quote == item.quote for mine in same):
            continue  # both marked exactly this passage: one item
        if same:
            why = f"the other labeller marked this passage as {len(same)} item(s), kept"
        elif item.chunk in failed:
            kept.append(item)
            continue
        else:
            why = "the other labeller did not mark it"
        reason = f"{pref.other} text item not used: {why}; {pref.why}"
        outvoted.append(_text_outvoted(item, what, reason))
    return kept, outvoted


def _text_outvoted(item: TextItem, what: str, reason: str) -> Rejection:
    return Rejection(
        what="plan" if what == "plans" else "shortcoming",
        code="outvoted",
        reason=reason,
        item=item.model_dump(mode="json"),
        chunk=item.chunk,
    )


def _inside(part: TextItem, whole: TextItem) -> bool:
    """``part`` is a strictly smaller piece of ``whole``'s passage."""
    if part.span is not None and whole.span is not None and part.span != whole.span:
        return whole.span[0] <= part.span[0] and part.span[1] <= whole.span[1]
    return len(part.quote) < len(whole.quote) and part.quote in whole.quote


def _same_passage(a: TextItem, b: TextItem) -> bool:
    return a.quote in b.quote or b.quote in a.quote or char_overlap(a.quote, b.quote) >= TEXT_SAME


def _per_chunk(
    chunks: list[Chunk],
    answers: dict[Side, list[ChunkAnswer]],
    figures: list[Figure],
    meta: Meta,
    texts: dict[str, list[TextItem]],
    rejected: list[Rejection],
) -> list[ChunkAnswer]:
    """Back to one answer per chunk, each chunk's usage, errors and caps from both sides."""
    first = chunks[0].index if chunks else 0
    valid = {c.index for c in chunks}

    def home(chunk: int | None) -> int:  # the chunk an item belongs to (unknown: the first)
        return chunk if chunk in valid and chunk is not None else first

    out = []
    for chunk in chunks:
        mine = [a for side in answers.values() for a in side if a.chunk == chunk.index]
        usage = sum((a.usage for a in mine[1:]), mine[0].usage) if mine else None
        here = chunk.index
        error, caps = _chunk_outcome(here, answers)
        out.append(
            ChunkAnswer(
                chunk=here,
                figures=[f.as_proposal() for f in figures if home(f.chunk) == here],
                meta=meta if here == first else None,
                shortcomings=[
                    t.as_proposal() for t in texts["shortcomings"] if home(t.chunk) == here
                ],
                plans=[t.as_proposal() for t in texts["plans"] if home(t.chunk) == here],
                rejected=[r for r in rejected if home(r.chunk) == here],
                error=error,
                caps_hit=caps,
                **({"usage": usage} if usage is not None else {}),
            )
        )
    return out


def _chunk_outcome(
    chunk: int, answers: dict[Side, list[ChunkAnswer]]
) -> tuple[str | None, list[str]]:
    """The chunk's error and caps. A chunk fails only when no labeller answered it: where one
    failed and the other answered, that answer stands and the failure is recorded as a cap hit
    (the report is then partial: it holds one labeller's reading where two were asked for)."""
    errors = {side: a.error for side, ans in answers.items() for a in ans if a.chunk == chunk}
    caps = [cap for ans in answers.values() for a in ans if a.chunk == chunk for cap in a.caps_hit]
    answered = [side for side, ans in answers.items() if any(a.chunk == chunk for a in ans)]
    failed = {side: why for side, why in errors.items() if why}
    if not failed:
        return None, caps
    if len(failed) < len(answered):
        lost = [
            f"{side} labeller failed, the other's answer stands: {why}"
            for side, why in failed.items()
        ]
        return None, [*caps, *lost]
    return "; ".join(failed.values()), caps
