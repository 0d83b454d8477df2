"""A label-mode answer checked against its request, and turned into proposals.

``problems(data, view, catalog, text)`` lists what is wrong with an answer, one short Chinese
line per problem naming the item and the fix (``候选 n17 不在本段``, ``指标 id “x” 不在指标表中``):
the re-ask a model can act on. ``proposals(data, view, chunk, text)`` builds what the answer
says from the source index -- quote (the candidate's clause), raw, value, approx from the number
as printed, text items from the sentences named -- and records as rejections only the items that
name nothing the request showed. Everything else goes to the pipeline's ``verify``, the one trust
boundary: an unknown indicator or a percent labelled as a count is rejected there, with its code.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from fazhi.backends.label_view import View
from fazhi.catalog import Catalog
from fazhi.model import ChunkAnswer, FigureProposal, Meta, Rejection, TextProposal
from fazhi.verify import check_meta, foreign_numbers

_RANGE = re.compile(r"\s*(s\d{1,7})\s*(?:[-–~～至]\s*(s\d{1,7})\s*)?")
_META_NAMES = {"region": "地区", "issuer": "发布机关", "year": "年度", "published": "发布日期"}


def _short(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def figure_labels(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """``(candidate id, label)`` pairs of an answer's ``figures`` (a list of
    ``{"id", "indicator", "scope"}`` objects is read too: models sometimes answer so)."""
    figures = data.get("figures")
    if isinstance(figures, dict):
        return [(str(cid).strip(), label) for cid, label in figures.items()]
    if isinstance(figures, list):
        return [
            (str(f.get("id") or "").strip(), [f.get("indicator"), f.get("scope")])
            if isinstance(f, dict)
            else ("", f)
            for f in figures
        ]
    return []


def parse_label(label: Any) -> tuple[str, str | None] | None:
    """``["indicator", "scope" | null]`` (or a bare indicator id) as a pair; None if malformed."""
    if isinstance(label, str):
        return label.strip(), None
    if not isinstance(label, list) or not 1 <= len(label) <= 2 or not isinstance(label[0], str):
        return None
    scope = label[1] if len(label) == 2 else None
    scope = str(scope).strip() if scope is not None else None
    return label[0].strip(), scope or None


def problems(data: dict[str, Any] | None, view: View, catalog: Catalog, text: str) -> list[str]:
    """Everything a re-ask should tell the model, in the prompt's language (empty: all good)."""
    if data is None:
        return ["答案不是一个 JSON 对象：只输出符合格式的 JSON"]
    found: list[str] = []
    for cid, label in figure_labels(data):
        found += _figure_problems(cid, label, view, catalog, text)
    for what in ("shortcomings", "plans"):
        for entry in data.get(what) or []:
            found += _sentence_problems(what, entry, view)
    found += _meta_problems(data.get("meta"), text)
    return found


def _figure_problems(cid: str, label: Any, view: View, catalog: Catalog, text: str) -> list[str]:
    candidate = view.candidates.get(cid)
    if candidate is None:
        return [f"候选 {cid or '（空）'} 不在本段：只用本段原文里标出的 [n…] 编号"]
    parsed = parse_label(label)
    if parsed is None:
        return [f'候选 {cid} 的值要写成 ["指标id", "范围"] 或 ["指标id", null]']
    indicator, scope = parsed
    if indicator not in catalog:
        return [f"指标 id “{_short(indicator, 40)}” 不在指标表中（候选 {cid}）：从指标表选一个 id"]
    found = []
    is_percent = catalog[indicator].kind == "percent"
    if is_percent != candidate.number.percent:
        wanted = "百分数" if is_percent else "件数或金额，不是百分数"
        found.append(
            f"候选 {cid}（“{candidate.number.raw}”）不能标为 {indicator}：该指标要{wanted}"
        )
    if scope and foreign_numbers(scope, text):
        found.append(f"候选 {cid} 的 scope “{_short(scope)}” 有原文没有的数字：照抄原文或写 null")
    elif scope and "".join(scope.split()) not in "".join(text.split()):
        found.append(f"候选 {cid} 的 scope “{_short(scope)}” 不在原文中：照抄原文的词或写 null")
    return found


def sentence_range(entry: Any, view: View) -> tuple[int, int] | None:
    """The source span an entry ``"s4"`` or ``"s4-s6"`` names, if the view marked those ids."""
    match = _RANGE.fullmatch(str(entry)) if isinstance(entry, str) else None
    if match is None:
        return None
    first, last = view.sentences.get(match[1]), view.sentences.get(match[2] or match[1])
    if first is None or last is None or last[1] < first[0]:
        return None
    return first[0], last[1]


def _sentence_problems(what: str, entry: Any, view: View) -> list[str]:
    if sentence_range(entry, view) is not None:
        return []
    label = "问题不足" if what == "shortcomings" else "工作打算"
    return [f"{what}（{label}）的 “{_short(str(entry))}” 不是本段标出的句子编号：写 s12 或 s12-s14"]


def _meta_problems(meta: Any, text: str) -> list[str]:
    if meta is None:
        return []
    if not isinstance(meta, dict):
        return ["meta 要是一个对象或 null"]
    try:
        proposed = Meta(**{k: v for k, v in meta.items() if k in Meta.model_fields})
    except ValidationError:
        return ["meta 的 year 要是整数，其余字段是原文的文字或 null"]
    _, rejections = check_meta(proposed, text)
    found = []
    for rejection in rejections:
        [(name, value)] = rejection.item.items()
        found.append(f"meta.{name}（{_META_NAMES[name]}）“{value}” 原文中没有：照原文写或写 null")
    return found


def proposals(data: dict[str, Any] | None, view: View, chunk: int, text: str) -> ChunkAnswer:
    """What the answer proposes, built from the index; names of nothing shown are rejections."""
    answer = ChunkAnswer(chunk=chunk)
    if data is None:
        return answer
    for cid, label in figure_labels(data):
        candidate = view.candidates.get(cid)
        parsed = parse_label(label)
        if candidate is None or parsed is None:
            why = (
                "is not among the numbers this request marked"
                if candidate is None
                else ("has no indicator")
            )
            answer.rejected.append(
                Rejection(
                    what="figure",
                    code="number_not_in_source" if candidate is None else "unknown_indicator",
                    reason=f"candidate {cid!r} {why}",
                    item={"id": cid, "label": label},
                    chunk=chunk,
                )  # fmt: skip
            )
            continue
        n, (start, end) = candidate.number, candidate.clause
        indicator, scope = parsed
        answer.figures.append(
            FigureProposal(
                indicator=indicator,
                value=n.value,
                raw=n.raw,
                quote=text[start:end],
                scope=scope,
                approx=n.approx,
                chunk=chunk,
                candidate=cid,
            )  # fmt: skip
        )
    for what in ("shortcomings", "plans"):
        items, rejected = _text_items(data.get(what), view, chunk, text, what[:-1])
        getattr(answer, what).extend(items)
        answer.rejected.extend(rejected)
    answer.meta = _meta(data.get("meta"))
    return answer


def _text_items(
    entries: Any, view: View, chunk: int, text: str, what: str
) -> tuple[list[TextProposal], list[Rejection]]:
    items: list[TextProposal] = []
    rejected: list[Rejection] = []
    for entry in entries if isinstance(entries, list) else []:
        span = sentence_range(entry, view)
        if span is None:
            reason = f"{entry!r} is not a sentence id this request marked"
            rejected.append(
                Rejection(
                    what=what,  # type: ignore[arg-type]
                    code="quote_not_in_source",
                    reason=reason,
                    item={"id": str(entry)},
                    chunk=chunk,
                )
            )
            continue
        quote = text[span[0] : span[1]].strip()
        if quote and all(quote != item.quote for item in items):
            items.append(TextProposal(quote=quote, chunk=chunk))
    return items, rejected


def _meta(meta: Any) -> Meta | None:
    if not isinstance(meta, dict):
        return None
    try:
        proposed = Meta(**{k: v for k, v in meta.items() if k in Meta.model_fields})
    except ValidationError:
        return None
    return proposed if proposed.model_dump(exclude_none=True) else None
