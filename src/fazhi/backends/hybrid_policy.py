"""Which of hybrid's two labellers wins a disagreement on one report (docs/confidence.md).

``llm`` and ``rules`` fix the answer; ``auto`` decides per report from the signals the tool
has: how many of the model's figure proposals failed verification, and how often the model gave
the rules' label to the numbers both labelled (``choose``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from fazhi.model import Result

Side = Literal["rules", "llm"]
Policy = Literal["auto", "rules", "llm"]
POLICIES: tuple[Policy, ...] = get_args(Policy)
# auto decides per report which labeller wins a disagreement (``choose``, docs/confidence.md).
# The model wins when it reads THIS report well: on the numbers both labellers labelled, it gives
# the rules' label to at least TRUST_AGREEMENT of them. Why that share: if the two labels on a
# shared number are right independently with chances p_rules and p_model, they agree on about
# p_rules * p_model of them, so the model is the more precise one exactly when the agreement
# exceeds p_rules ** 2. On real reports the rules had not seen their figures F1 was 0.70-0.79
# (before issue 15); 0.8, the top of that range rounded up, errs towards the rules: 0.8 ** 2.
# On the project's own labelled sets the rules were fitted (F1 0.98-1.00), so there a model
# preferred by this test can lose to them: those sets cannot show the model's advantage.
TRUST_AGREEMENT = 0.64  # 0.8 ** 2, written out: 16 of 25 must pass, which 0.8**2 (0.64000…01) fails
# Below this many shared numbers one disagreement moves the share by 20 points or more: too few
# to judge the model by, and the rules (deterministic) are preferred.
MIN_SHARED = 5
# Where most of the model's figure proposals on a report failed verification, the rules are
# preferred and the model's figures no other labeller shares are not used either: a labeller
# that cannot point at the source is not trusted alone (outvoted, recorded).
UNRELIABLE_SHARE = 0.5


@dataclass(frozen=True)
class Preference:
    """Which labeller wins a disagreement on one report, and why (in every outvoted reason)."""

    side: Side
    why: str

    @property
    def other(self) -> Side:
        return "rules" if self.side == "llm" else "llm"


def choose(policy: Policy, rules: Result, llm: Result) -> Preference:
    """The labeller preferred on this report: fixed by ``policy``, or decided by ``auto`` from
    the model's failed verifications and its agreement with the rules (see TRUST_AGREEMENT)."""
    if policy != "auto":
        return Preference(policy, f"{policy} preferred (hybrid policy {policy})")
    share = failed_share(llm)
    agreed, shared = agreement(rules, llm)
    on = f"{agreed} of {shared} numbers both labelled"
    if share > UNRELIABLE_SHARE:
        why = f"{share:.0%} of llm's figure proposals failed; it agrees with the rules on {on}"
        return Preference("rules", f"rules preferred: {why}")
    if shared < MIN_SHARED:
        return Preference("rules", f"rules preferred: too few numbers to judge llm by ({on})")
    if agreed >= TRUST_AGREEMENT * shared:
        return Preference("llm", f"llm preferred: agrees with the rules on {on}")
    return Preference("rules", f"rules preferred: llm agrees with the rules on only {on}")


def agreement(rules: Result, llm: Result) -> tuple[int, int]:
    """Of the numbers (``raw_span``) both labellers labelled: on how many they gave one same
    indicator, and how many there are."""
    by_rules: dict[object, set[str]] = {}
    for figure in rules.figures:
        by_rules.setdefault(figure.raw_span, set()).add(figure.indicator)
    by_llm: dict[object, set[str]] = {}
    for figure in llm.figures:
        by_llm.setdefault(figure.raw_span, set()).add(figure.indicator)
    shared = [span for span in by_llm if span in by_rules]
    agreed = sum(1 for span in shared if by_rules[span] & by_llm[span])
    return agreed, len(shared)


def failed_share(verified: Result) -> float:
    """The share of a labeller's figure proposals on this report that failed verification."""
    failed = sum(1 for r in verified.rejected if r.what == "figure")
    proposed = failed + len(verified.figures)
    return failed / proposed if proposed else 0.0
