"""Scoring extraction Results against gold labels, and comparing two scored runs.

The rules are those of ``evals/gold/README.md``:

- **figures** -- a prediction matches a gold figure when ``indicator`` is equal and ``value``
  is equal within a relative tolerance of 1e-6 (``fazhi.numbers.values_equal``). Matching is
  one-to-one and *maximum* (augmenting paths, see ``_max_matching``), with gold figures tried
  non-optional first: the matching therefore covers as many non-optional gold figures as any
  matching can, and still has the largest possible size. A prediction matched to an optional
  gold figure is a true positive; an unmatched optional gold figure is ignored (never a miss).
- **meta** -- exact match per field; ``None == None`` is a match.
- **shortcomings / plans** -- an item matches a gold item when their character overlap
  (``fazhi.text.char_overlap``: common characters as multisets / length of the longer) is at
  least 0.5. Matching is one-to-one and maximum.

Everything here is pure: a ``GoldReport`` and a prediction (a verified ``Result``, or a ``Draft``
read from a file made elsewhere) in, scores out. Files and printing belong to ``fazhi.cli``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, Field, computed_field

from fazhi.catalog import Catalog, default_catalog
from fazhi.model import (
    Draft,
    Figure,
    FigureProposal,
    GoldFigure,
    GoldReport,
    GoldText,
    Result,
    TextItem,
    TextProposal,
    Usage,
)
from fazhi.numbers import values_equal  # the gold rule: relative 1e-6, no absolute slack
from fazhi.ranking import LowestShare, lowest_share
from fazhi.text import char_overlap

TEXT_OVERLAP = 0.5
META_FIELDS: tuple[str, ...] = ("region", "issuer", "year", "published")
UNKNOWN_GROUP = "unknown"  # predictions naming an indicator the catalog lacks


def _derived(func):
    """A read-only property that is also written out (a pydantic computed field)."""
    return computed_field(property(func))


class Counts(BaseModel):
    """True/false positives and misses, with precision, recall and F1 derived from them.

    A ratio with an empty denominator is 1.0 when there is nothing wrong at all (no prediction
    and nothing to find) and 0.0 otherwise, so "predicted nothing, missed something" scores 0.
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @_derived
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp, nothing_wrong=self.fn == 0)

    @_derived
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn, nothing_wrong=self.fp == 0)

    @_derived
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(tp=self.tp + other.tp, fp=self.fp + other.fp, fn=self.fn + other.fn)


def _ratio(part: int, whole: int, *, nothing_wrong: bool) -> float:
    if whole:
        return part / whole
    return 1.0 if nothing_wrong else 0.0


def sum_counts(counts: Iterable[Counts]) -> Counts:
    return sum(counts, Counts())


def merge_count_maps(maps: Iterable[Mapping[str, Counts]]) -> dict[str, Counts]:
    total: dict[str, Counts] = {}
    for counts_by_key in maps:
        for key, counts in counts_by_key.items():
            total[key] = total.get(key, Counts()) + counts
    return dict(sorted(total.items()))


class FigureError(BaseModel):
    """A missed gold figure or a false-positive prediction, with where to look."""

    report: str
    indicator: str
    value: int | float
    raw: str
    quote: str
    scope: str | None = None


class Verification(BaseModel):
    """What the verifier did with a prediction: figures kept, and rejections by code."""

    accepted: int = 0
    rejected_figures: int = 0
    rejected_by_code: dict[str, int] = Field(default_factory=dict)  # all rejections, any kind

    @_derived
    def proposed(self) -> int:
        return self.accepted + self.rejected_figures

    def __add__(self, other: Verification) -> Verification:
        codes = Counter(self.rejected_by_code) + Counter(other.rejected_by_code)
        return Verification(
            accepted=self.accepted + other.accepted,
            rejected_figures=self.rejected_figures + other.rejected_figures,
            rejected_by_code=dict(sorted(codes.items())),
        )


class ReportScore(BaseModel):
    report: str
    figures: Counts = Field(default_factory=Counts)
    by_indicator: dict[str, Counts] = Field(default_factory=dict)
    by_group: dict[str, Counts] = Field(default_factory=dict)
    meta: dict[str, bool] = Field(default_factory=dict)  # field -> exact match
    shortcomings: Counts = Field(default_factory=Counts)
    plans: Counts = Field(default_factory=Counts)
    missed: list[FigureError] = Field(default_factory=list)
    false_positives: list[FigureError] = Field(default_factory=list)
    verification: Verification = Field(default_factory=Verification)
    usage: Usage = Field(default_factory=Usage)
    # (confidence, wrong) per predicted figure in output order: wrong = matched no gold figure
    ranking: list[tuple[float, bool]] = Field(default_factory=list)


def _total(name: str, combine, kind):
    """``combine`` over one field of every report: a derived total, never stored apart."""
    total = property(lambda self: combine(getattr(r, name) for r in self.reports))
    return computed_field(return_type=kind)(total)


class EvalResult(BaseModel):
    """A scored run over many reports. Totals are derived from ``reports`` (never stored apart),
    so a file read back with ``from_json`` cannot disagree with itself."""

    backend: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    reports: list[ReportScore] = Field(default_factory=list)
    missing_predictions: list[str] = Field(default_factory=list)  # reports scored as empty

    figures = _total("figures", sum_counts, Counts)
    by_group = _total("by_group", merge_count_maps, dict[str, Counts])
    by_indicator = _total("by_indicator", merge_count_maps, dict[str, Counts])

    @_derived
    def meta_accuracy(self) -> dict[str, float]:
        n = len(self.reports)
        return {
            f: sum(r.meta.get(f, False) for r in self.reports) / n if n else 0.0
            for f in META_FIELDS
        }

    shortcomings = _total("shortcomings", sum_counts, Counts)
    plans = _total("plans", sum_counts, Counts)

    @_derived
    def text_items(self) -> Counts:
        return self.shortcomings + self.plans

    verification = _total("verification", lambda v: sum(v, Verification()), Verification)
    usage = _total("usage", lambda u: sum(u, Usage()), Usage)

    @_derived
    def calls_per_report(self) -> float:
        return self.usage.calls / len(self.reports) if self.reports else 0.0

    @_derived
    def lowest_fifth(self) -> LowestShare:
        """The share of wrong figures in the lowest-confidence fifth (``fazhi.ranking``)."""
        return lowest_share(row for r in self.reports for row in r.ranking)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> EvalResult:
        # The derived totals in the file are ignored on input and recomputed from `reports`.
        return cls.model_validate_json(text)


# --- matching -------------------------------------------------------------------------------


def _max_matching(n_left: int, n_right: int, edges: Mapping[int, list[int]]) -> dict[int, int]:
    """Maximum bipartite matching by augmenting paths (Kuhn), left vertices tried in index order.

    Returns ``{left: right}``. A left vertex, once matched, stays matched while later ones
    augment; so the left vertices matched after the first k have been tried are as many as
    the first k alone allow. Graphs here have tens of vertices: O(V*E) is nothing.
    """
    right_to_left: dict[int, int] = {}

    def augment(left: int, seen: set[int]) -> bool:
        for right in edges.get(left, ()):
            if right in seen:
                continue
            seen.add(right)
            if right not in right_to_left or augment(right_to_left[right], seen):
                right_to_left[right] = left
                return True
        return False

    for left in range(n_left):
        augment(left, set())
    return {left: right for right, left in right_to_left.items() if right < n_right}


Prediction = Result | Draft  # what is scored: our verified output, or a file made elsewhere
PredictedFigure = Figure | FigureProposal


def match_figures(gold: list[GoldFigure], predicted: Sequence[PredictedFigure]) -> dict[int, int]:
    """``{gold index: predicted index}``, one-to-one, maximum, non-optional gold first."""
    order = sorted(range(len(gold)), key=lambda i: (gold[i].optional, i))
    edges = {
        rank: [
            j
            for j, p in enumerate(predicted)
            if p.indicator == gold[i].indicator and values_equal(p.value, gold[i].value)
        ]
        for rank, i in enumerate(order)
    }
    matched = _max_matching(len(order), len(predicted), edges)
    return {order[rank]: j for rank, j in matched.items()}


def score_text_items(gold: list[GoldText], predicted: Sequence[TextItem | TextProposal]) -> Counts:
    edges = {
        i: [j for j, p in enumerate(predicted) if char_overlap(g.quote, p.quote) >= TEXT_OVERLAP]
        for i, g in enumerate(gold)
    }
    tp = len(_max_matching(len(gold), len(predicted), edges))
    return Counts(tp=tp, fp=len(predicted) - tp, fn=len(gold) - tp)


# --- one report -----------------------------------------------------------------------------


def _figure_error(report: str, fig: GoldFigure | PredictedFigure) -> FigureError:
    return FigureError(
        report=report,
        indicator=fig.indicator,
        value=fig.value,
        raw=fig.raw,
        quote=fig.quote,
        scope=fig.scope,
    )


def _count_by_key(tps: list[str], fps: list[str], fns: list[str]) -> dict[str, Counts]:
    tp, fp, fn = Counter(tps), Counter(fps), Counter(fns)
    return {k: Counts(tp=tp[k], fp=fp[k], fn=fn[k]) for k in sorted({*tp, *fp, *fn})}


def _group(catalog: Catalog, indicator: str) -> str:
    return catalog.group_of(indicator) if indicator in catalog else UNKNOWN_GROUP


def verification_of(predicted: Prediction) -> Verification:
    codes = Counter(r.code for r in predicted.rejected)
    return Verification(
        accepted=len(predicted.figures),
        rejected_figures=sum(r.what == "figure" for r in predicted.rejected),
        rejected_by_code=dict(sorted(codes.items())),
    )


def score_report(
    report: str, gold: GoldReport, predicted: Prediction, catalog: Catalog | None = None
) -> ReportScore:
    """Score one report's prediction against its gold labels."""
    catalog = catalog or default_catalog()
    figures: Sequence[PredictedFigure] = predicted.figures
    matches = match_figures(gold.figures, figures)
    matched_preds = set(matches.values())
    tp = [figures[j].indicator for j in sorted(matched_preds)]
    false_pos = [p for j, p in enumerate(figures) if j not in matched_preds]
    missed = [g for i, g in enumerate(gold.figures) if i not in matches and not g.optional]
    by_indicator = _count_by_key(
        tp, [p.indicator for p in false_pos], [g.indicator for g in missed]
    )
    by_group = merge_count_maps({_group(catalog, k): v} for k, v in by_indicator.items())
    return ReportScore(
        report=report,
        figures=sum_counts(by_indicator.values()),
        by_indicator=by_indicator,
        by_group=by_group,
        meta={f: getattr(gold.meta, f) == getattr(predicted.meta, f) for f in META_FIELDS},
        shortcomings=score_text_items(gold.shortcomings, predicted.shortcomings),
        plans=score_text_items(gold.plans, predicted.plans),
        missed=[_figure_error(report, g) for g in missed],
        false_positives=[_figure_error(report, p) for p in false_pos],
        verification=verification_of(predicted),
        usage=predicted.usage,
        ranking=[(_confidence(p), j not in matched_preds) for j, p in enumerate(figures)],
    )


def _confidence(figure: PredictedFigure) -> float:
    confidence = figure.confidence if isinstance(figure, Figure) else None  # proposals have none
    return confidence if confidence is not None else 1.0


def evaluate(
    gold: Mapping[str, GoldReport],
    predicted: Mapping[str, Prediction],
    catalog: Catalog | None = None,
    *,
    backend: str | None = None,
    model: str | None = None,
    prompt_version: str | None = None,
) -> EvalResult:
    """Score every gold report; a report without a prediction is scored as an empty one."""
    reports = [
        score_report(stem, gold[stem], predicted.get(stem, Draft()), catalog)
        for stem in sorted(gold)
    ]
    return EvalResult(
        backend=backend,
        model=model,
        prompt_version=prompt_version,
        reports=reports,
        missing_predictions=sorted(set(gold) - set(predicted)),
    )


# --- reading a result -----------------------------------------------------------------------


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
