"""verify: the trust boundary. Gold passes untouched; each planted error is caught by its code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fazhi.model import Chunk, Conflict, Draft, FigureProposal, Meta, Result, Source, TextProposal
from fazhi.numbers import parse_raw
from fazhi.verify import cuts_number, date_in_source, locate, verify, year_in_source
from tests.conftest import REPORTS, gold_json, report_text

KUNSHAN = Source(text=report_text("kunshan-2021"), path="kunshan-2021.txt")


def _figure(stem: str, raw: str, quote_part: str = "") -> FigureProposal:
    """A gold figure of ``stem`` by its raw (and a piece of its quote when raw repeats)."""
    for f in gold_json(stem)["figures"]:
        if f["raw"] == raw and quote_part in f["quote"]:
            return FigureProposal.model_validate(f)
    raise LookupError(raw)


RECEIVED = _figure("kunshan-2021", "169")  # 市政府收到行政复议申请169件
AMOUNT = _figure("kunshan-2021", "2193万")  # 涉案金额2193万元
RATE = _figure("kunshan-2021", "40.8%")  # 占比40.8%


def _verify_one(figure: FigureProposal, source: Source = KUNSHAN) -> Result:
    return verify(Draft(figures=[figure]), source)


def _code(figure: FigureProposal, source: Source = KUNSHAN) -> str | None:
    result = _verify_one(figure, source)
    assert len(result.figures) + len(result.rejected) == 1
    return result.rejected[0].code if result.rejected else None


@pytest.mark.parametrize("stem", REPORTS)
def test_every_gold_item_verifies_with_exact_spans(stem):
    gold = Draft.model_validate(gold_json(stem))
    source = Source(text=report_text(stem))
    result = verify(gold, source)
    assert result.verified and result.rejected == []
    assert result.meta == gold.meta
    assert [(f.indicator, f.value, f.raw, f.quote, f.approx) for f in result.figures] == [
        (f.indicator, f.value, f.raw, f.quote, f.approx) for f in gold.figures
    ]
    for figure in result.figures:
        (start, end), (raw_start, raw_end) = figure.span, figure.raw_span
        assert source.text[start:end] == figure.quote
        assert source.text[raw_start:raw_end] == figure.raw
        assert start <= raw_start < raw_end <= end
    for item in result.shortcomings + result.plans:
        assert source.text[item.span[0] : item.span[1]] == item.quote
    assert len(result.shortcomings) == len(gold.shortcomings)
    assert len(result.plans) == len(gold.plans)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"value": 168}, "value_mismatch"),  # one digit off in value only
        ({"value": 168, "raw": "168"}, "raw_not_in_quote"),  # raw and value, quote untouched
        ({"quote": "市政府共收到行政复议申请169件"}, "quote_not_in_source"),  # paraphrased
        ({"indicator": "reconsideration.recieved"}, "unknown_indicator"),
        ({"raw": "16", "value": 16}, "raw_not_in_quote"),  # a piece of the longer 169
        ({"raw": "169件"}, "unparseable_raw"),
        ({"raw": "169、138"}, "unparseable_raw"),
        ({"scope": "2019年市政府"}, "number_not_in_source"),
    ],
)
def test_planted_error_in_a_count_is_rejected_with_its_code(changes, code):
    assert _code(RECEIVED.model_copy(update=changes)) == code


def test_dropping_wan_from_raw_is_caught_either_way():
    assert _code(AMOUNT.model_copy(update={"raw": "2193"})) == "raw_not_in_quote"
    assert _code(AMOUNT.model_copy(update={"value": 2193})) == "value_mismatch"
    cut_quote = AMOUNT.model_copy(update={"raw": "2193", "value": 2193, "quote": "涉案金额2193"})
    assert _code(cut_quote) == "raw_not_in_quote"  # the quote cuts the number 2193万 in half


def test_a_quote_starting_inside_a_number_holds_no_whole_number():
    cut = RECEIVED.model_copy(update={"raw": "69", "value": 69, "quote": "69件"})
    assert _code(cut) == "raw_not_in_quote"


def test_a_short_quote_is_located_where_it_holds_raw_as_a_whole_number():
    # taiyuan prints "审计单位477个" before "进派出所77个": "77个" first occurs cut out of 477.
    source = Source(text=report_text("taiyuan-2021"))
    short = FigureProposal(indicator="disputes.mediation_cases", value=77, raw="77", quote="77个")
    result = _verify_one(short, source)
    start, end = result.figures[0].raw_span
    assert source.text[start - 4 : end + 1] == "进派出所77个"


def test_a_figure_from_another_report_is_rejected():
    foreign = _figure("taiyuan-2021", "103")  # 以市政府为被告的行政应诉案件103件
    assert _code(foreign) == "quote_not_in_source"


def test_kind_must_match_the_catalog():
    percent_on_count = RATE.model_copy(update={"indicator": "reconsideration.mediated"})
    count_on_percent = RECEIVED.model_copy(update={"indicator": "reconsideration.correction_rate"})
    assert _code(percent_on_count) == "kind_mismatch"
    assert _code(count_on_percent) == "kind_mismatch"


def test_rejection_carries_the_item_chunk_and_a_one_line_reason():
    wrong = RECEIVED.model_copy(update={"value": 168, "chunk": 4})
    rejection = _verify_one(wrong).rejected[0]
    assert rejection.what == "figure" and rejection.chunk == 4
    assert rejection.item["value"] == 168 and rejection.item["quote"] == RECEIVED.quote
    assert "\n" not in rejection.reason and "169" in rejection.reason


def test_a_scope_label_not_in_the_source_is_allowed_when_it_has_no_foreign_number():
    labelled = RECEIVED.model_copy(update={"scope": "昆山市政府本级(标注)"})
    assert _code(labelled) is None


def test_approx_is_read_off_the_source_not_trusted():
    approx = _figure("qingpu-2023", "50余")  # 累计开展各类普法宣传活动50余场
    source = Source(text=report_text("qingpu-2023"))
    for claimed in (True, False):
        result = _verify_one(approx.model_copy(update={"approx": claimed}), source)
        assert [f.approx for f in result.figures] == [True]
    assert _verify_one(RECEIVED.model_copy(update={"approx": True})).figures[0].approx is False


def test_whitespace_variant_quote_is_accepted_and_rewritten_to_the_source():
    source = Source(text=report_text("taiyuan-2021"))
    gold = _figure("taiyuan-2021", "22081")  # "调解成功 22081件" with a space in the source
    result = _verify_one(gold.model_copy(update={"quote": "调解成功22081件"}), source)
    assert [f.quote for f in result.figures] == ["调解成功 22081件"]
    start, end = result.figures[0].span
    assert source.text[start:end] == "调解成功 22081件"


def test_locate_ignores_newlines_and_full_width_spaces_on_both_sides():
    sentence = "市政府收到行政复议申请169件,受理138件"
    text = "前文。" + sentence[:6] + "\n\u3000" + sentence[6:] + "。"
    span = locate("市政府收到 行政复议申请169件,受理138件", text)
    assert span is not None
    assert text[span[0] : span[1]] == sentence[:6] + "\n\u3000" + sentence[6:]
    assert locate("", text) is None and locate(" \n", text) is None


def test_a_repeated_quote_is_located_in_the_chunk_that_proposed_it():
    # "率达到100%" occurs twice in kunshan: 网上运行率达到100% first, 出庭应诉率达到100% later.
    text = KUNSHAN.text
    later = text.index("出庭应诉率达到100%") + len("出庭应诉")
    first = text.index("率达到100%")
    assert first < later
    cut = (first + later) // 2
    chunks = [
        Chunk(index=0, text=text[:cut], start=0, end=cut),
        Chunk(index=1, text=text[cut:], start=cut, end=len(text)),
    ]
    figure = FigureProposal(
        indicator="litigation.head_appearance_rate", value=100, raw="100%", quote="率达到100%"
    )
    hinted = figure.model_copy(update={"chunk": 1})
    in_chunk = verify(Draft(figures=[hinted]), KUNSHAN, chunks=chunks)
    assert in_chunk.figures[0].span == (later, later + len("率达到100%"))
    no_hint = verify(Draft(figures=[figure]), KUNSHAN, chunks=chunks)
    assert no_hint.figures[0].span[0] == first


def test_meta_fields_the_source_does_not_bear_out_become_none_with_a_reason():
    draft = Draft(
        meta=Meta(region="无锡市", issuer="昆山市人民政府", year=2019, published="2022-03-16")
    )
    result = verify(draft, KUNSHAN)
    assert result.meta == Meta(issuer="昆山市人民政府")
    assert [(r.what, r.code, *r.item) for r in result.rejected] == [
        ("meta", "bad_meta", field) for field in ("region", "year", "published")
    ]
    not_iso = verify(Draft(meta=Meta(published="15/03/2022")), KUNSHAN)
    assert not_iso.meta.published is None
    assert "ISO" in not_iso.rejected[0].reason


@pytest.mark.parametrize(
    "printed",
    [
        "2022-03-15",
        "2022/3/15",
        "2022.03.15",
        "2022年3月15日",
        "2022年03月\n15日",
        "二〇二二年三月十五日",
    ],
)
def test_published_date_forms(printed):
    from datetime import date

    assert date_in_source(date(2022, 3, 15), f"签发:{printed}。")
    assert not date_in_source(date(2022, 3, 1), f"签发:{printed}。")


def test_year_must_be_a_whole_number_in_the_source():
    assert year_in_source(2021, "2021年昆山市") and year_in_source(2021, "二〇二一年")
    assert not year_in_source(2021, "编号20215") and not year_in_source(2021, "2022年")


def test_text_items_not_in_the_source_are_rejected_and_real_ones_get_spans():
    gold = gold_json("kunshan-2021")
    real, invented = gold["shortcomings"][0], "法治政府建设与群众期待仍有较大差距"
    result = verify(Draft(shortcomings=[real, invented], plans=[gold["plans"][0]]), KUNSHAN)
    assert [t.quote for t in result.shortcomings] == [real]
    assert result.shortcomings[0].span is not None and result.plans[0].span is not None
    assert [(r.what, r.code) for r in result.rejected] == [("shortcoming", "quote_not_in_source")]


def test_earlier_rejections_are_kept_and_conflicts_follow_the_surviving_figures():
    other = RECEIVED.model_copy(
        update={"value": 196, "raw": "196", "quote": "收到行政复议申请196件"}
    )
    draft = Draft(
        figures=[RECEIVED, other],
        conflicts=[Conflict(indicator=RECEIVED.indicator, scope="市政府", values=[169, 196])],
        rejected=_verify_one(RATE.model_copy(update={"value": 4.08})).rejected,
    )
    result = verify(draft, KUNSHAN)
    assert [f.value for f in result.figures] == [169]
    assert result.conflicts == []
    assert [r.code for r in result.rejected] == ["value_mismatch", "quote_not_in_source"]


def test_verify_does_not_mutate_the_draft():
    draft = Draft(
        figures=[RECEIVED],
        shortcomings=[TextProposal(quote="基层治理体系和治理能力法治化水平有待提高")],
    )
    before = draft.model_dump_json()
    verify(draft, KUNSHAN)
    assert draft.model_dump_json() == before


# --- numbers cut by a line break, values off by any relative change ----------------------------

WRAPPED = Source(
    text="全年办理人大代表议案建议4\n02件、政协委员提案156件，纠错率40.\n8%，"
    "涉及金额1,\n234万元，分别为5，3件。出庭应诉率99.98%。办理案件三十\n三件。"
)


def _wrapped(raw: str, quote: str, indicator: str = "litigation.cases") -> FigureProposal:
    number = parse_raw(raw)
    assert number is not None
    return FigureProposal(indicator=indicator, value=number.value, raw=raw, quote=quote)


@pytest.mark.parametrize(
    ("raw", "quote", "indicator", "code"),
    [
        ("02", "02件、政协委员提案", "litigation.cases", "raw_not_in_quote"),  # issue 16 case
        ("4", "人大代表议案建议4", "litigation.cases", "raw_not_in_quote"),  # the other half
        ("8%", "8%", "reconsideration.correction_rate", "raw_not_in_quote"),  # 40.\n8%
        ("234万", "234万元", "litigation.cases", "raw_not_in_quote"),  # 1,\n234万
        ("156", "2件、政协委员提案156件", "litigation.cases", "quote_cuts_number"),
        ("156", "政协委员提案156件，纠错率40", "litigation.cases", "quote_cuts_number"),
        ("3", "3件", "litigation.cases", None),  # 5，3: a comma before one digit separates
        ("156", "政协委员提案156件", "litigation.cases", None),
        ("三", "三件", "litigation.cases", "raw_not_in_quote"),  # 三十\n三件 is 33
    ],
)
def test_no_quote_or_raw_starts_or_ends_inside_a_number_across_a_line_break(
    raw, quote, indicator, code
):
    assert _code(_wrapped(raw, quote, indicator), WRAPPED) == code


def test_cuts_number_sees_through_whitespace_and_separators():
    text = "共4\n02件，40. 8%，1,\n234人，5，3件，2021年 3月"
    whole = ("4\n02", "40. 8%", "1,\n234", "2021")  # each one number, whatever splits it
    inside = {p for w in whole for p in range(text.index(w) + 1, text.index(w) + len(w))}
    for pos in range(len(text) + 1):
        assert cuts_number(text, pos) == (pos in inside), (pos, text[max(0, pos - 2) : pos + 2])


RATES = Source(text="行政复议纠错率为40.8%，行政机关负责人出庭应诉率为99.98%，胜诉率100%。")


@pytest.mark.parametrize(
    ("indicator", "raw", "wrong"),
    [
        ("reconsideration.correction_rate", "40.8%", 40.9),  # rounded the other way
        ("reconsideration.correction_rate", "40.8%", 41),  # rounded to an integer
        ("reconsideration.correction_rate", "40.8%", 0.408),  # as a fraction, not a percentage
        ("litigation.head_appearance_rate", "99.98%", 99.5),
        ("litigation.head_appearance_rate", "99.98%", 100),
        ("litigation.head_appearance_rate", "99.98%", 0.9998),
        ("litigation.win_rate", "100%", 1),
    ],
)
def test_a_percentage_value_is_compared_exactly_not_after_rounding_or_scaling(
    indicator, raw, wrong
):
    quote = {"40.8%": "纠错率为40.8%", "99.98%": "出庭应诉率为99.98%", "100%": "胜诉率100%"}[raw]
    right = FigureProposal(indicator=indicator, value=float(raw.rstrip("%")), raw=raw, quote=quote)
    assert _code(right, RATES) is None
    assert _code(right.model_copy(update={"value": wrong}), RATES) == "value_mismatch"


@given(
    figure=st.sampled_from([RECEIVED, AMOUNT, RATE]),
    change=st.floats(min_value=2e-6, max_value=1e3) | st.floats(min_value=-0.999, max_value=-2e-6),
)
@settings(max_examples=200, deadline=None)
def test_any_relative_change_of_a_value_beyond_the_tolerance_is_rejected(figure, change):
    changed = figure.model_copy(update={"value": figure.value * (1 + change)})
    assert _code(changed) == "value_mismatch"
