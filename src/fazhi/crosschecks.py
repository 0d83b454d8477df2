"""Arithmetic cross-checks within one verified report: doubts, never corrections.

Every figure of a verified result is literally in the source, but a literal number can still
be the wrong one for its indicator (a 不予受理 count read as the accepted count, a rate from
another sentence). Counts a report prints together obey simple arithmetic; where they do not,
each figure involved gets a review reason ``"<check>: <why>"`` and nothing else changes.

Checks (figures compared only where their scopes agree -- equal, or one of them not given, as
one sentence often scopes only its first count; ids from ``schemas/indicators.yaml``):

- ``accepted_exceeds_received``: reconsideration.accepted > reconsideration.received.
- ``concluded_exceeds_accepted``: reconsideration.concluded > accepted + carried over. A carry
  over (结转, 旧存 ...) printed with a number in the concluded figure's sentence is added; one
  printed without a number makes the check unknowable, so it is skipped.
- ``won_lost_exceed_concluded``: litigation.won + litigation.lost > litigation.concluded (or
  litigation.cases when no concluded count is printed).
- ``rate_disagrees_with_counts``: a printed rate that no printed numerator / denominator pair
  of its scope gives within one unit of the last printed digit (rates marked approximate are not
  checked; a rate whose counts are not printed is not checked).
- ``conflicting_values``: the same indicator and scope with two values (``Result.conflicts``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from fazhi.index import index_of
from fazhi.model import Figure, Result, Source
from fazhi.numbers import find_numbers

# rate -> (numerator, denominators in order of preference)
RATE_PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reconsideration.correction_rate": (
        "reconsideration.corrected",
        ("reconsideration.concluded",),
    ),
    "reconsideration.mediation_rate": ("reconsideration.mediated", ("reconsideration.concluded",)),
    "litigation.win_rate": ("litigation.won", ("litigation.concluded", "litigation.cases")),
    "litigation.loss_rate": ("litigation.lost", ("litigation.concluded", "litigation.cases")),
    "disputes.mediation_success_rate": (
        "disputes.mediation_success",
        ("disputes.mediation_cases",),
    ),
}
CARRY_OVER = re.compile(r"结转|結轉|旧存|舊存|上年未(?:审|審|办|辦)?结|上年未(?:审|審|办|辦)?結")
CARRY_OVER_REACH = 12  # characters after the marker in which its number must start

ByIndicator = dict[str, list[Figure]]
Doubt = Callable[[Iterable[Figure], str], None]


def scopes_agree(a: Figure, b: Figure) -> bool:
    """Equal scopes, or one not given (one sentence often scopes only its first count)."""
    return a.scope is None or b.scope is None or a.scope == b.scope


def cross_check(result: Result, source: Source) -> Result:
    """``result`` with review reasons added to the figures the checks doubt."""
    figures = result.figures
    by_indicator: ByIndicator = {}
    for figure in figures:
        by_indicator.setdefault(figure.indicator, []).append(figure)
    reasons: dict[int, list[str]] = {}

    def doubt(involved: Iterable[Figure], reason: str) -> None:
        for figure in involved:
            found = reasons.setdefault(id(figure), [])
            if reason not in found:
                found.append(reason)

    _check_reconsideration(by_indicator, source, doubt)
    _check_litigation(by_indicator, doubt)
    for rate in figures:
        if rate.indicator in RATE_PARTS and not rate.approx:
            _check_rate(rate, by_indicator, doubt)
    for conflict in result.conflicts:
        values = ", ".join(_shown(v) for v in conflict.values)
        doubt(
            [f for f in by_indicator.get(conflict.indicator, []) if f.scope == conflict.scope],
            f"conflicting_values: {conflict.indicator} has {values} in one scope",
        )
    checked = [
        f.model_copy(update={"review": _added(f.review, reasons[id(f)])}) if id(f) in reasons else f
        for f in figures
    ]
    return result.model_copy(update={"figures": checked})


def _shown(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _added(review: list[str], reasons: list[str]) -> list[str]:
    # checking a result twice (fazhi verify of our own output) adds nothing twice
    return [*review, *(r for r in reasons if r not in review)]


def _check_reconsideration(by_indicator: ByIndicator, source: Source, doubt: Doubt) -> None:
    received = by_indicator.get("reconsideration.received", [])
    accepted = by_indicator.get("reconsideration.accepted", [])
    for a in accepted:
        for r in received:
            if scopes_agree(a, r) and a.value > r.value:
                doubt([a, r], f"accepted_exceeds_received: 受理 {a.raw} > 收到 {r.raw}")
    for c in by_indicator.get("reconsideration.concluded", []):
        carried = carried_over(c, source)
        if carried is None:
            continue
        for a in accepted:
            if scopes_agree(a, c) and c.value > a.value + carried:
                extra = f" + 结转 {_shown(carried)}" if carried else ""
                doubt([c, a], f"concluded_exceeds_accepted: 审结 {c.raw} > 受理 {a.raw}{extra}")


def carried_over(concluded: Figure, source: Source) -> float | None:
    """The carry-over printed in the concluded figure's sentence: 0 when none is mentioned,
    ``None`` when one is mentioned without a number (the check cannot be made)."""
    if concluded.raw_span is None:
        return 0
    index = index_of(source)
    start, end = index.sentence_span(index.sentence_at(concluded.raw_span[0]))
    sentence = source.text[start:end]
    total: float = 0
    mentioned = False
    for marker in CARRY_OVER.finditer(sentence):
        mentioned = True
        after = sentence[marker.end() : marker.end() + CARRY_OVER_REACH + 8]
        numbers = [n for n in find_numbers(after) if n.start <= CARRY_OVER_REACH]
        if numbers:
            total += numbers[0].value
    if mentioned and not total:
        return None
    return total


def _check_litigation(by_indicator: ByIndicator, doubt: Doubt) -> None:
    base = by_indicator.get("litigation.concluded") or by_indicator.get("litigation.cases", [])
    absent: list[Figure | None] = [None]
    for b in base:
        for w in [
            f for f in by_indicator.get("litigation.won", []) if scopes_agree(f, b)
        ] or absent:
            lost = [f for f in by_indicator.get("litigation.lost", []) if scopes_agree(f, b)]
            for lo in lost or absent:
                parts = [f for f in (w, lo) if f is not None]
                if (w is None or lo is None or scopes_agree(w, lo)) and sum(
                    f.value for f in parts
                ) > b.value:
                    said = " + ".join(f.raw for f in parts)
                    doubt([*parts, b], f"won_lost_exceed_concluded: {said} > {b.raw}")


def _check_rate(rate: Figure, by_indicator: ByIndicator, doubt: Doubt) -> None:
    numerator_id, denominator_ids = RATE_PARTS[rate.indicator]
    pairs = [
        (n, d)
        for denominator_id in denominator_ids
        for d in by_indicator.get(denominator_id, [])
        for n in by_indicator.get(numerator_id, [])
        if d.value > 0 and scopes_agree(n, d) and scopes_agree(n, rate) and scopes_agree(d, rate)
    ]
    if not pairs or any(rate_matches(rate.value, rate.raw, n.value, d.value) for n, d in pairs):
        return
    n, d = pairs[0]
    doubt(
        [rate],
        f"rate_disagrees_with_counts: {rate.raw} is not {n.raw} / {d.raw}"
        f" = {100 * n.value / d.value:.2f}%",
    )


def rate_matches(rate: float, raw: str, numerator: float, denominator: float) -> bool:
    """Whether ``numerator / denominator`` is the printed rate within one unit of its last
    printed digit (reports round, truncate and round half up alike: 98.82 -> 98.8, 99.89 ->
    99.9, 1.632 -> 1.63 all pass; 84 / 103 = 81.6 % printed as 98.8 % does not)."""
    digits = raw.split(".")[1] if "." in raw else ""
    decimals = sum(1 for c in digits if c.isdigit())
    tolerance = 10**-decimals + 1e-9  # truncation and rounding both fit within one unit
    return abs(100 * numerator / denominator - rate) <= tolerance
