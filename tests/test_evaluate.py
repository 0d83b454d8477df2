"""Scoring rules of evals/gold/README.md on hand-made cases whose numbers are worked out by hand
(the calculation sits next to each assertion), plus the real gold files scored against
themselves and against nothing."""

from __future__ import annotations

import pytest

from fazhi.evaluate import (
    Counts,
    EvalResult,
    compare,
    error_listing,
    evaluate,
    match_figures,
    score_report,
    score_text_items,
)
from fazhi.model import (
    Draft,
    FigureProposal,
    GoldFigure,
    GoldReport,
    GoldText,
    Meta,
    Rejection,
    TextProposal,
    Usage,
)
from fazhi.text import char_overlap
from tests.conftest import REPORTS, gold_json

# Quotes are real sentences from evals/corpus (kunshan-2021, qidong-2024).
QUOTES = {
    ("reconsideration.received", 169): "市政府收到行政复议申请169件",
    ("reconsideration.accepted", 138): "受理138件",
    ("litigation.cases", 60): "市政府参加一审行政应诉案件60件",
    ("litigation.cases", 113): "部门和区镇街道参加诉讼113件",
    ("enforcement.lenient_amount", 81222100): "涉及金额8122.21万元",
}


def fig(indicator: str, value: float, optional: bool = False) -> GoldFigure:
    quote = QUOTES.get((indicator, value), f"{indicator} {value}")
    return GoldFigure(
        indicator=indicator, value=value, raw=str(value), quote=quote, optional=optional
    )


def gold_of(*figures: GoldFigure, **kw) -> GoldReport:
    return GoldReport(figures=list(figures), **kw)


def res(*figures: GoldFigure, **kw) -> Draft:
    """A prediction proposing these figures."""
    return Draft(figures=[FigureProposal.model_validate(f.model_dump()) for f in figures], **kw)


def as_prediction(gold: GoldReport) -> Draft:
    """The gold labels themselves as a prediction."""
    return Draft.model_validate(gold.model_dump())


def score(gold: GoldReport, pred: Draft):
    return score_report("r", gold, pred)


def approx(x: float) -> object:
    return pytest.approx(x, abs=1e-9)


# --- figures ---------------------------------------------------------------------------------


def test_empty_prediction_scores_zero_and_optional_gold_is_no_miss():
    gold = gold_of(
        fig("reconsideration.received", 169),
        fig("reconsideration.accepted", 138),
        fig("litigation.cases", 60, optional=True),
    )
    s = score(gold, Draft()).figures
    # 2 non-optional gold, nothing predicted: tp 0, fp 0, fn 2 -> P 0 (nothing right), R 0/2, F1 0
    assert (s.tp, s.fp, s.fn) == (0, 0, 2)
    assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)


def test_nothing_to_find_and_nothing_predicted_is_perfect():
    assert (Counts().precision, Counts().recall, Counts().f1) == (1.0, 1.0, 1.0)
    # predictions where gold has none: tp 0, fp 1 -> P 0/1 = 0; R has no denominator but
    # something is wrong, so 0; F1 0
    assert (Counts(fp=1).precision, Counts(fp=1).recall, Counts(fp=1).f1) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("stem", REPORTS)
def test_gold_against_itself_is_perfect_and_optional_figures_are_true_positives(stem):
    gold = GoldReport.model_validate(gold_json(stem))
    s = score_report(stem, gold, as_prediction(gold))
    assert (s.figures.tp, s.figures.fp, s.figures.fn) == (len(gold.figures), 0, 0)
    assert (s.figures.precision, s.figures.recall, s.figures.f1) == (1.0, 1.0, 1.0)
    assert all(s.meta.values())
    assert s.shortcomings.f1 == s.plans.f1 == 1.0


def test_all_gold_totals_match_the_gold_readme():
    gold = {stem: GoldReport.model_validate(gold_json(stem)) for stem in REPORTS}
    # README: 113 figures, 14 of them optional -> 113 TP against itself, 113 - 14 = 99 misses
    assert evaluate(gold, {k: as_prediction(g) for k, g in gold.items()}).figures.tp == 113
    empty = evaluate(gold, {})
    assert (empty.figures.tp, empty.figures.fn) == (0, 99)
    assert empty.missing_predictions == REPORTS


def test_one_wrong_value():
    gold = gold_of(fig("reconsideration.received", 169), fig("reconsideration.accepted", 138))
    pred = res(fig("reconsideration.received", 169), fig("reconsideration.accepted", 139))
    s = score(gold, pred).figures
    # 169 matches; 139 matches nothing (fp) and 138 is missed (fn): P 1/2, R 1/2, F1 1/2
    assert (s.tp, s.fp, s.fn) == (1, 1, 1)
    assert (s.precision, s.recall, s.f1) == (0.5, 0.5, 0.5)


def test_duplicate_prediction_is_a_false_positive():
    gold = gold_of(fig("reconsideration.received", 169))
    pred = res(fig("reconsideration.received", 169), fig("reconsideration.received", 169))
    s = score(gold, pred).figures
    # one gold matches one prediction: tp 1, fp 1, fn 0 -> P 1/2, R 1, F1 2*.5*1/1.5 = 2/3
    assert (s.tp, s.fp, s.fn) == (1, 1, 0)
    assert s.f1 == approx(2 / 3)


def test_same_value_for_another_indicator_does_not_match():
    gold = gold_of(fig("reconsideration.received", 169))
    s = score(gold, res(fig("reconsideration.accepted", 169))).figures
    assert (s.tp, s.fp, s.fn) == (0, 1, 1)


@pytest.mark.parametrize(
    ("predicted", "expected"),
    [
        # optional gold not predicted: ignored -> tp 1, fp 0, fn 0
        ([("reconsideration.received", 169)], (1, 0, 0)),
        # optional gold predicted: a true positive -> tp 2
        ([("reconsideration.received", 169), ("litigation.cases", 60)], (2, 0, 0)),
        # a wrong value for the optional one is still a false positive -> tp 1, fp 1, fn 0
        ([("reconsideration.received", 169), ("litigation.cases", 61)], (1, 1, 0)),
    ],
)
def test_optional_figure_present_or_absent(predicted, expected):
    gold = gold_of(fig("reconsideration.received", 169), fig("litigation.cases", 60, optional=True))
    s = score(gold, res(*(fig(i, v) for i, v in predicted))).figures
    assert (s.tp, s.fp, s.fn) == expected


def test_prediction_prefers_the_non_optional_gold_figure():
    # sucheng-2020: supervision_inspections = 2 twice, one of them optional; the optional one
    # listed first must not take the only prediction and leave the other as a miss.
    gold = gold_of(
        fig("enforcement.supervision_inspections", 2, optional=True),
        fig("enforcement.supervision_inspections", 2),
    )
    s = score(gold, res(fig("enforcement.supervision_inspections", 2)))
    assert (s.figures.tp, s.figures.fp, s.figures.fn) == (1, 0, 0)
    assert match_figures(
        gold.figures, res(fig("enforcement.supervision_inspections", 2)).figures
    ) == {1: 0}


def test_matching_is_maximum_where_tolerance_is_not_transitive():
    # p0 = 1.0000008 is within 1e-6 of both g0 = 1 and g1 = 1.0000015; p1 = 1 only of g0.
    # Greedy (g0 takes p0 first) would leave g1 unmatched; the maximum matching is g0-p1, g1-p0.
    gold = [fig("litigation.win_rate", 1.0), fig("litigation.win_rate", 1.0000015)]
    pred = [fig("litigation.win_rate", 1.0000008), fig("litigation.win_rate", 1.0)]
    assert match_figures(gold, pred) == {0: 1, 1: 0}


@pytest.mark.parametrize(
    ("factor", "matches"), [(1 + 1e-7, True), (1 - 1e-7, True), (1 + 1e-5, False), (1.0, True)]
)
def test_value_tolerance_is_relative_one_in_a_million(factor, matches):
    gold = gold_of(fig("enforcement.lenient_amount", 81222100))
    pred = res(fig("enforcement.lenient_amount", 81222100 * factor))
    assert score(gold, pred).figures.tp == int(matches)


def test_zero_matches_only_zero():
    # relative tolerance with no absolute slack: 0 == 0, but 1e-9 is not 0
    gold = gold_of(fig("litigation.lost", 0))
    assert score(gold, res(fig("litigation.lost", 0))).figures.tp == 1
    assert score(gold, res(fig("litigation.lost", 1e-9))).figures.tp == 0


def test_two_reports_are_micro_averaged():
    gold_a = gold_of(fig("reconsideration.received", 169), fig("reconsideration.accepted", 138))
    gold_b = gold_of(fig("litigation.cases", 60), fig("litigation.cases", 113))
    pred_b = res(fig("litigation.cases", 61))
    r = evaluate({"a": gold_a, "b": gold_b}, {"a": as_prediction(gold_a), "b": pred_b})
    # a: tp 2; b: fp 1, fn 2 -> micro tp 2, fp 1, fn 2: P 2/3, R 2/4, F1 2*(2/3)(1/2)/(7/6) = 4/7
    # (the macro mean of the two reports' F1 would be (1 + 0)/2 = 0.5)
    assert (r.figures.tp, r.figures.fp, r.figures.fn) == (2, 1, 2)
    assert r.figures.precision == approx(2 / 3)
    assert r.figures.recall == approx(0.5)
    assert r.figures.f1 == approx(4 / 7)


def test_counts_split_per_group_and_indicator():
    gold = gold_of(fig("reconsideration.received", 169), fig("litigation.cases", 60))
    pred = res(
        fig("reconsideration.received", 169),
        fig("litigation.cases", 61),
        fig("no.such_indicator", 1),
    )
    s = score(gold, pred)
    assert s.by_group["reconsideration"] == Counts(tp=1)
    assert s.by_group["litigation"] == Counts(fp=1, fn=1)
    assert s.by_group["unknown"] == Counts(fp=1)  # not in the catalog: still counted, not lost
    assert s.by_indicator["litigation.cases"] == Counts(fp=1, fn=1)
    # the groups add up to the report's total: tp 1, fp 2, fn 1
    assert s.figures == Counts(tp=1, fp=2, fn=1)


# --- meta ------------------------------------------------------------------------------------


def test_meta_exact_match_per_field_with_none():
    # qingpu-2023 states no issuer: None == None is a match
    gold = GoldReport(meta=Meta(region="青浦区", issuer=None, year=2023, published="2024-02-19"))
    pred = Draft(meta=Meta(region="青浦区", issuer=None, year=2022, published=None))
    s = score(gold, pred)
    assert s.meta == {"region": True, "issuer": True, "year": False, "published": False}
    r = evaluate({"a": gold, "b": gold}, {"a": pred, "b": as_prediction(gold)})
    # a gets region+issuer right, b everything: year 1/2, published 1/2
    assert r.meta_accuracy == {"region": 1.0, "issuer": 1.0, "year": 0.5, "published": 0.5}


def test_meta_region_in_other_script_is_a_mismatch():
    gold = GoldReport(meta=Meta(region="宿城區"))
    assert score(gold, Draft(meta=Meta(region="宿城区"))).meta["region"] is False


# --- shortcomings and plans --------------------------------------------------------------------

TEN = "法治政府建设年度报告"  # ten distinct characters


@pytest.mark.parametrize(
    ("predicted", "overlap", "matches"),
    [
        (TEN, 1.0, True),
        (TEN[::-1], 1.0, True),  # multiset of characters: order does not count
        (TEN[:6], 0.6, True),  # 6 common / longer 10
        (TEN[:5], 0.5, True),  # exactly 0.5 is enough ("at least")
        (TEN[:5] + "问题", 5 / 10, True),  # 5 common / 10
        (TEN[:4], 0.4, False),  # 4 / 10
        (TEN[:5] + "存在的问题和不足", 5 / 13, False),  # 5 common / longer 13
    ],
)
def test_text_overlap_threshold(predicted, overlap, matches):
    assert char_overlap(TEN, predicted) == approx(overlap)
    assert char_overlap(predicted, TEN) == approx(overlap)  # symmetric
    counts = score_text_items([GoldText(quote=TEN)], [TextProposal(quote=predicted)])
    assert counts.tp == int(matches)


def test_text_overlap_counts_repeated_characters_once_per_occurrence():
    # "进一步进一步" vs "进一步": common = 进,一,步 once each = 3, longer 6 -> 0.5
    assert char_overlap("进一步进一步", "进一步") == 0.5
    assert char_overlap("", "") == 0.0


def test_text_items_match_one_to_one_and_combine():
    gold = GoldReport(
        shortcomings=["法治政府建设基础还需进一步夯实", "特色亮点工作还需进一步强化"],
        plans=["特色亮点工作还需进一步强化"],
    )
    pred = Draft(shortcomings=["法治政府建设基础还需进一步夯实", "法治政府建设基础还需进一步夯实"])
    s = score(gold, pred)
    # the duplicate cannot take the second gold item: common 还需进一步 = 5 of 15 < 0.5
    assert char_overlap("法治政府建设基础还需进一步夯实", "特色亮点工作还需进一步强化") < 0.5
    assert s.shortcomings == Counts(tp=1, fp=1, fn=1)
    assert s.plans == Counts(fn=1)
    r = evaluate({"r": gold}, {"r": pred})
    assert r.text_items == Counts(tp=1, fp=1, fn=2)


# --- verification, usage, errors ---------------------------------------------------------------


def test_verification_figures_from_the_prediction():
    pred = res(
        fig("reconsideration.received", 169),
        fig("reconsideration.accepted", 138),
        rejected=[
            Rejection(what="figure", code="quote_not_in_source", reason="x"),
            Rejection(what="figure", code="value_mismatch", reason="x"),
            Rejection(what="meta", code="bad_meta", reason="x"),
        ],
    )
    v = score(GoldReport(), pred).verification
    # accepted 2, rejected figures 2 -> proposed 4; the meta rejection counts by code only
    assert (v.accepted, v.rejected_figures, v.proposed) == (2, 2, 4)
    assert v.rejected_by_code == {"bad_meta": 1, "quote_not_in_source": 1, "value_mismatch": 1}


def test_usage_sums_over_reports():
    a = Draft(usage=Usage(prompt_tokens=1000, completion_tokens=100, calls=4))
    b = Draft(usage=Usage(prompt_tokens=500, completion_tokens=50, calls=2, reasks=1))
    r = evaluate({"a": GoldReport(), "b": GoldReport()}, {"a": a, "b": b})
    # 1500 prompt, 150 completion, 6 calls over 2 reports = 3 per report
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.reasks) == (1500, 150, 1)
    assert r.calls_per_report == 3.0


def test_error_listing_names_misses_and_false_positives_with_quotes():
    gold = gold_of(fig("litigation.cases", 60), fig("litigation.cases", 113))
    pred = res(fig("litigation.cases", 60), fig("reconsideration.received", 169))
    listing = error_listing(evaluate({"kunshan-2021": gold}, {"kunshan-2021": pred}))
    assert list(listing) == ["litigation.cases", "reconsideration.received"]
    [missed] = listing["litigation.cases"].missed
    assert (missed.report, missed.value, missed.quote) == (
        "kunshan-2021",
        113,
        "部门和区镇街道参加诉讼113件",
    )
    [fp] = listing["reconsideration.received"].false_positives
    assert fp.quote == "市政府收到行政复议申请169件"
    assert listing["litigation.cases"].false_positives == []


# --- results as files, comparison ------------------------------------------------------------


def test_eval_result_round_trips_through_json():
    gold = {stem: GoldReport.model_validate(gold_json(stem)) for stem in REPORTS[:2]}
    pred = {REPORTS[0]: as_prediction(gold[REPORTS[0]])}
    r = evaluate(gold, pred, backend="rules", prompt_version="v1")
    text = r.to_json()
    assert '"f1"' in text and '"by_group"' in text  # totals are written for readers
    back = EvalResult.from_json(text)
    assert back == r
    assert back.figures == r.figures and back.by_indicator == r.by_indicator


def test_compare_deltas_better_and_worse():
    gold = gold_of(
        fig("reconsideration.received", 169),
        fig("reconsideration.accepted", 138),
        fig("litigation.cases", 60),
    )
    a = evaluate(
        {"r": gold}, {"r": res(fig("reconsideration.received", 169), fig("litigation.cases", 60))}
    )
    b = evaluate(
        {"r": gold},
        {
            "r": res(
                fig("reconsideration.received", 169),
                fig("reconsideration.accepted", 138),
                fig("litigation.cases", 61),
            )
        },
    )
    cmp = compare(a, b)
    # overall A: tp 2, fn 1 -> F1 2*1*(2/3)/(5/3) = 0.8; B: tp 2, fp 1, fn 1 -> P 2/3, R 2/3, F1 2/3
    assert cmp.overall.f1 == approx(2 / 3 - 0.8)
    assert (cmp.overall.tp, cmp.overall.fp, cmp.overall.fn) == (0, 1, 0)
    by_ind = {d.key: d for d in cmp.by_indicator}
    # accepted: A missed it (F1 0), B found it (F1 1) -> +1
    assert by_ind["reconsideration.accepted"].f1 == 1.0
    assert (by_ind["reconsideration.accepted"].tp, by_ind["reconsideration.accepted"].fn) == (1, -1)
    # litigation.cases: A tp 1 (F1 1), B fp 1 fn 1 (F1 0) -> -1
    assert by_ind["litigation.cases"].f1 == -1.0
    assert by_ind["reconsideration.received"].f1 == 0.0
    assert cmp.better == ["reconsideration", "reconsideration.accepted"]
    assert cmp.worse == ["litigation", "litigation.cases"]
