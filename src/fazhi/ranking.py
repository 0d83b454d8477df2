"""Confidence as a ranking: how much of what is wrong the lowest-confidence fifth holds.

A researcher reads the figures with the lowest confidence first. The measure that says whether
that order helps: of the wrong figures (predictions that match no gold figure), the share that
falls in the lowest-confidence ``LOWEST_SHARE`` of all figures. Chance is about that share
itself (20 %); a ranking users can act on holds far more.

Figures with equal confidence are in no order among themselves, so where tied figures straddle
the boundary the share is a range: ``least`` (the wrong ones of the tie sorted last) and ``most``
(sorted first). Pure: rows in, numbers out (``fazhi.evaluate`` and ``bench/`` share it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pydantic import BaseModel

LOWEST_SHARE = 0.2  # the lowest-confidence fifth


class LowestShare(BaseModel):
    """Of ``figures`` predicted, ``wrong`` match no gold figure; the ``fifth`` least confident
    figures hold between ``least`` and ``most`` of the wrong ones (shares 0..1)."""

    figures: int = 0
    wrong: int = 0
    fifth: int = 0
    least: float = 0.0
    most: float = 0.0

    def describe(self) -> str:
        if not self.wrong:
            return "- (nothing wrong)"
        if round(self.least * 100) == round(self.most * 100):
            return f"{self.least:.0%} of {self.wrong}"
        return f"{self.least:.0%}-{self.most:.0%} of {self.wrong}"


def lowest_share(rows: Iterable[tuple[float, bool]], share: float = LOWEST_SHARE) -> LowestShare:
    """``rows`` are ``(confidence, wrong)`` per predicted figure."""
    rows = list(rows)
    wrong = sum(1 for _, w in rows if w)
    fifth = math.ceil(len(rows) * share)
    if not rows or not wrong:
        return LowestShare(figures=len(rows), wrong=wrong, fifth=fifth)
    cut = sorted(c for c, _ in rows)[fifth - 1]
    below = [w for c, w in rows if c < cut]
    tied = [w for c, w in rows if c == cut]
    room = fifth - len(below)  # places left in the fifth for tied figures
    tied_wrong = sum(tied)
    least = sum(below) + max(0, room - (len(tied) - tied_wrong))
    most = sum(below) + min(room, tied_wrong)
    return LowestShare(
        figures=len(rows), wrong=wrong, fifth=fifth, least=least / wrong, most=most / wrong
    )
