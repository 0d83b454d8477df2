"""A quote-style answer checked against its chunk and taken apart into proposals.

The LLM backend's validation runs ``chunk_check`` inside instructor: the verifier's own checks
(``fazhi.verify.check_figure``, ``check_meta``, ``check_items``) against the chunk, so that a
quote not in the chunk or a ``raw`` that is not a whole number inside its quote becomes a
re-ask with the verifier's reason. ``settle`` takes a final answer apart: what verifies against
the chunk becomes proposals (the whole report is verified again by the pipeline), the rest
rejections with the verifier's code. ``salvage`` does the same for an answer that never
validated, cut off or not JSON (``model_gave_up``; the chunk gets ``error`` set).
``value`` is always ``parse_raw(raw)``: the model never computes it.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import ValidationError

from fazhi.catalog import Catalog
from fazhi.llm.client import CallLog, parse_reply_json
from fazhi.model import Chunk, ChunkAnswer, FigureProposal, Meta, Rejection, TextProposal
from fazhi.numbers import parse_raw
from fazhi.verify import check_figure, check_items, check_meta


def proposed_figure(item: dict[str, Any], chunk: int) -> FigureProposal:
    """A model's figure as a proposal: ``value`` parsed from ``raw`` (0 when it is no number,
    which the verifier then rejects as ``unparseable_raw``)."""
    raw = str(item.get("raw") or "")
    number = parse_raw(raw)
    scope = item.get("scope")
    return FigureProposal(
        indicator=str(item.get("indicator") or ""),
        value=number.value if number else 0,
        raw=raw,
        quote=str(item.get("quote") or ""),
        scope=str(scope) if scope else None,
        approx=number.approx if number else False,
        chunk=chunk,
    )


def _reasons(rejections: list[Rejection]) -> str | None:
    return "; ".join(f"[{r.code}] {r.reason}" for r in rejections) or None


def chunk_check(chunk: Chunk, catalog: Catalog):
    """``check(what, item) -> problem | None`` against this chunk: the validation context."""

    def check(what: str, item: Any) -> str | None:
        if what == "figure":
            checked = check_figure(proposed_figure(item, chunk.index), chunk.text, catalog)
            return _reasons([checked]) if isinstance(checked, Rejection) else None
        if what == "meta":
            return _reasons(check_meta(Meta(**item), chunk.text)[1])
        text_kind = cast(Literal["shortcoming", "plan"], what)  # the schema's only other fields
        return _reasons(check_items([TextProposal(quote=item)], chunk.text, text_kind)[1])

    return check


def _gave_up(chunk: int, reason: str, text: str | None = None) -> Rejection:
    item = {"answer": text[:500]} if text else {}
    return Rejection(what="figure", code="model_gave_up", reason=reason, item=item, chunk=chunk)


def _settle_figures(
    items: Any, chunk: Chunk, catalog: Catalog
) -> tuple[list[FigureProposal], list[Rejection]]:
    kept: list[FigureProposal] = []
    rejected: list[Rejection] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            rejected.append(_gave_up(chunk.index, f"figure is not an object: {item!r}"[:200]))
            continue
        checked = check_figure(proposed_figure(item, chunk.index), chunk.text, catalog)
        if isinstance(checked, Rejection):
            rejected.append(checked.model_copy(update={"chunk": chunk.index}))
        else:  # as the chunk prints it; offsets into the chunk mean nothing downstream: the
            # pipeline's verify checks it again against the whole source and sets them
            kept.append(checked.as_proposal())
    return kept, rejected


def _settle_meta(item: Any, chunk: Chunk) -> tuple[Meta | None, list[Rejection]]:
    if not isinstance(item, dict) or not any(v is not None for v in item.values()):
        return None, []
    try:
        meta = Meta(**{k: v for k, v in item.items() if k in Meta.model_fields})
    except ValidationError as exc:
        reason = f"meta is malformed: {exc.errors()[0]['msg']}"
        return None, [
            Rejection(what="meta", code="bad_meta", reason=reason, item=item, chunk=chunk.index)
        ]
    kept, rejected = check_meta(meta, chunk.text)
    rejected = [r.model_copy(update={"chunk": chunk.index}) for r in rejected]
    return (kept if kept.model_dump(exclude_none=True) else None), rejected


def _settle_items(
    items: Any, chunk: Chunk, what: Literal["shortcoming", "plan"]
) -> tuple[list[TextProposal], list[Rejection]]:
    quotes = [TextProposal(quote=q, chunk=chunk.index) for q in (items or []) if isinstance(q, str)]
    kept, rejected = check_items(quotes, chunk.text, what)
    return [k.as_proposal() for k in kept], rejected


def settle(data: dict[str, Any], chunk: Chunk, catalog: Catalog) -> ChunkAnswer:
    """An answer (validated or not) taken apart: what verifies against the chunk, and the rest."""
    figures, rejected = _settle_figures(data.get("figures"), chunk, catalog)
    meta, meta_rejected = _settle_meta(data.get("meta"), chunk)
    shortcomings, sc_rejected = _settle_items(data.get("shortcomings"), chunk, "shortcoming")
    plans, plan_rejected = _settle_items(data.get("plans"), chunk, "plan")
    return ChunkAnswer(
        chunk=chunk.index,
        figures=figures,
        meta=meta,
        shortcomings=shortcomings,
        plans=plans,
        rejected=rejected + meta_rejected + sc_rejected + plan_rejected,
    )


def salvage(log: CallLog, problem: str, chunk: Chunk, catalog: Catalog) -> ChunkAnswer:
    """The last answer of a conversation that never validated, checked item by item.

    An answer that is not JSON, or was cut off at ``max_tokens``, is incomplete: the chunk gets
    ``error`` set (so it is never cached, the report is not complete, and the next run asks
    again), while whatever verifies of it is still kept. A complete JSON answer whose figures
    still fail after the re-asks is the model's final word: its failures are rejections only.
    """
    data = parse_reply_json(log.last_text)
    if data is None:
        reason = f"{problem}; the last answer is not a JSON object"
        rejection = _gave_up(chunk.index, reason, log.last_text)
        return ChunkAnswer(
            chunk=chunk.index, rejected=[rejection], error=f"model_gave_up: {reason}"
        )
    cut = log.finish_reason == "length"
    if cut:  # the figure the cut went through is incomplete: it is reported as lost, not checked
        data["figures"] = [f for f in data.get("figures") or [] if _complete(f)]
    answer = settle(data, chunk, catalog)
    if cut:
        checked = len(data["figures"])
        reason = (
            f"{problem}; {checked} complete figure(s) before the cut were checked, the rest is lost"
        )
        answer.rejected.append(_gave_up(chunk.index, reason, log.last_text))
        answer.error = f"incomplete answer: {reason}"
    return answer


def _complete(item: Any) -> bool:
    return isinstance(item, dict) and {"quote", "raw", "indicator"} <= item.keys()
