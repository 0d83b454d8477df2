"""A confidence on every verified figure, from signals the tool already has.

The score is a product of documented factors (``FACTORS``), 1.0 when nothing speaks against a
figure. It ranks figures for review -- which ones a researcher should read first -- and is not a
calibrated probability. Every factor but the labellers' agreement and ``approx`` also leaves a
review reason on the figure, so the number can always be explained. docs/confidence.md says
how it is made and what it measured.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from fazhi.index import index_of
from fazhi.model import Figure, Result, Source

FACTORS: dict[str, float] = {
    "single_labeller": 0.7,  # two labellers ran, only one proposed it
    "labellers_disagree": 0.6,  # two labellers ran and labelled its number differently
    "approx": 0.9,  # 50余, 近120: the printed number is itself approximate
    "sub_unit_scope": 0.9,  # 市政府本级, 以市政府为被告: easy to confuse with the whole area
    "cross_check": 0.5,  # an arithmetic cross-check doubts it (fazhi.crosschecks)
    "reasked": 0.8,  # its chunk needed re-asks before the model's answer verified
    "instruction_like": 0.2,  # its sentence reads like an instruction to a model
}
CROSS_CHECKS = (
    "accepted_exceeds_received",
    "concluded_exceeds_accepted",
    "won_lost_exceed_concluded",
    "rate_disagrees_with_counts",
    "conflicting_values",
)
WHOLE_AREA = re.compile(r"^(全|本[市区县省州旗盟镇])")  # 全市, 全区, 本市 ...: the whole area
# A report states what was done; a page that talks to a model has been tampered with (a prompt
# injection). Its numbers are literal, so only review can catch them.
INSTRUCTION = re.compile(
    r"忽略.{0,6}(指令|指示|提示|要求|规则)|无视.{0,6}(指令|指示|提示)|"
    r"(请|直接|只|仅)输出|输出(以下|如下|下列|结果|JSON|json)|你(是|现在是|作为).{0,8}(助手|模型|AI|人工智能)|"
    r"系统提示|提示词|"
    r"\b(ignore|disregard|forget)\b.{0,30}\b(instruction|prompt|rule)s?\b|"
    r"\byou are (an? )?(ai|assistant|language model)\b|"
    r"\b(output|respond with|return) (only|the following)\b",
    re.IGNORECASE,
)


def score_figures(
    result: Result,
    source: Source,
    *,
    labellers: int = 1,
    reasked_chunks: Collection[int] = (),
) -> Result:
    """``result`` with ``confidence`` on every figure and the review reasons its sentence
    earns (an instruction-like sentence)."""
    region = result.meta.region
    scored = [_scored(f, source, labellers, reasked_chunks, region) for f in result.figures]
    return result.model_copy(update={"figures": scored})


def _scored(
    figure: Figure,
    source: Source,
    labellers: int,
    reasked_chunks: Collection[int],
    region: str | None,
) -> Figure:
    review = list(figure.review)
    sentence = _sentence(figure, source)
    if sentence is not None and (match := INSTRUCTION.search(sentence)):
        reason = f"instruction_like: the sentence says {match.group(0)!r}"
        if reason not in review:
            review.append(reason)
    if figure.chunk is not None and figure.chunk in reasked_chunks:
        reason = f"reasked: the model's answer for chunk {figure.chunk} needed re-asks"
        if reason not in review:
            review.append(reason)
    signals = signals_of(figure.model_copy(update={"review": review}), labellers, region)
    confidence = 1.0
    for signal in signals:
        confidence *= FACTORS[signal]
    return figure.model_copy(update={"review": review, "confidence": round(confidence, 4)})


def signals_of(figure: Figure, labellers: int = 1, region: str | None = None) -> list[str]:
    """The names of the ``FACTORS`` that apply to ``figure``, each at most once."""
    kinds = {reason.split(":", 1)[0] for reason in figure.review}
    signals = []
    if labellers > 1 and "labellers_disagree" in kinds:
        signals.append("labellers_disagree")
    elif labellers > 1 and len(figure.sources) < labellers:
        signals.append("single_labeller")
    if figure.approx:
        signals.append("approx")
    if figure.scope and not is_whole_area(figure.scope, region):
        signals.append("sub_unit_scope")
    if kinds & set(CROSS_CHECKS):
        signals.append("cross_check")
    if "reasked" in kinds:
        signals.append("reasked")
    if "instruction_like" in kinds:
        signals.append("instruction_like")
    return signals


def is_whole_area(scope: str, region: str | None = None) -> bool:
    """全市, 本区, or the report's own region (昆山市): not a sub-unit of it."""
    scope = scope.strip()
    return bool(WHOLE_AREA.search(scope)) or (bool(region) and scope in (region or ""))


def _sentence(figure: Figure, source: Source) -> str | None:
    if figure.raw_span is None:
        return None
    index = index_of(source)
    start, end = index.sentence_span(index.sentence_at(figure.raw_span[0]))
    return source.text[start:end]
