"""Reading scored runs: the errors per indicator, and one run against another.

Pure, like ``fazhi.evaluate`` whose ``EvalResult`` it reads; printing belongs to ``fazhi.cli``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field

from fazhi.evaluate import Counts, EvalResult, FigureError


class IndicatorErrors(BaseModel):
    missed: list[FigureError] = Field(default_factory=list)
    false_positives: list[FigureError] = Field(default_factory=list)


def error_listing(result: EvalResult) -> dict[str, IndicatorErrors]:
    """Per indicator, the gold figures missed and the predictions that matched nothing."""
    out: dict[str, IndicatorErrors] = {}
    for rep in result.reports:
        for err in rep.missed:
            out.setdefault(err.indicator, IndicatorErrors()).missed.append(err)
        for err in rep.false_positives:
            out.setdefault(err.indicator, IndicatorErrors()).false_positives.append(err)
    return dict(sorted(out.items()))


def _change(name: str) -> property:
    """``b``'s value of a ``Counts`` field minus ``a``'s."""
    return property(lambda self: getattr(self.b, name) - getattr(self.a, name))


class Delta(BaseModel):
    key: str
    a: Counts
    b: Counts

    f1 = _change("f1")
    tp = _change("tp")
    fp = _change("fp")
    fn = _change("fn")


class Comparison(BaseModel):
    """B against A: deltas are ``b - a``; "better" means F1 went up."""

    overall: Delta
    by_group: list[Delta]
    by_indicator: list[Delta]

    @property
    def better(self) -> list[str]:
        return [d.key for d in self.by_group + self.by_indicator if d.f1 > 0]

    @property
    def worse(self) -> list[str]:
        return [d.key for d in self.by_group + self.by_indicator if d.f1 < 0]


def _deltas(a: Mapping[str, Counts], b: Mapping[str, Counts]) -> list[Delta]:
    return [Delta(key=k, a=a.get(k, Counts()), b=b.get(k, Counts())) for k in sorted({*a, *b})]


def compare(a: EvalResult, b: EvalResult) -> Comparison:
    return Comparison(
        overall=Delta(key="all", a=a.figures, b=b.figures),
        by_group=_deltas(a.by_group, b.by_group),
        by_indicator=_deltas(a.by_indicator, b.by_indicator),
    )
