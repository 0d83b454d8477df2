"""Cross-checks on real corpus sentences (no doubt) and made-up counter-examples (a doubt)."""

from pathlib import Path

import pytest

from fazhi.crosschecks import carried_over, cross_check, rate_matches
from fazhi.merge import merge
from fazhi.model import ChunkAnswer, FigureProposal, Result, Source
from fazhi.verify import verify

CORPUS = Path(__file__).parent.parent / "evals" / "corpus"


def corpus_sentence(report: str, start_marker: str) -> str:
    """The sentence of a real corpus report that starts with ``start_marker``."""
    text = (CORPUS / report).read_text(encoding="utf-8")
    start = text.index(start_marker)
    return text[start : text.index("。", start) + 1]


def checked(text: str, *figures: tuple[str, str, str]) -> Result:
    """Verify (indicator, raw, quote) figures against ``text`` and cross-check them."""
    source = Source(text=text)
    proposed = [
        FigureProposal(indicator=i, value=_value(raw), raw=raw, quote=quote)
        for i, raw, quote in figures
    ]
    draft = merge([ChunkAnswer(chunk=0, figures=proposed)])
    result = verify(draft, source)
    assert len(result.figures) == len(figures), result.rejected
    return cross_check(result, source)


def _value(raw: str) -> float:
    from fazhi.numbers import parse_raw

    parsed = parse_raw(raw)
    assert parsed is not None
    return parsed.value


def reviews(result: Result) -> dict[str, list[str]]:
    return {f.indicator: f.review for f in result.figures if f.review}


KUNSHAN = "依法审理行政复议案件"
KUNSHAN_FIGURES = (
    ("reconsideration.received", "169", "收到行政复议申请169件"),
    ("reconsideration.accepted", "138", "受理138件"),
    ("reconsideration.concluded", "103", "审结103件"),
)


def test_real_reconsideration_counts_raise_no_doubt():
    text = corpus_sentence("kunshan-2021.txt", KUNSHAN) + corpus_sentence(
        "kunshan-2021.txt", "发挥行政复议化解"
    )
    result = checked(
        text,
        *KUNSHAN_FIGURES,
        ("reconsideration.mediated", "42", "调解和解结案42件"),
        ("reconsideration.mediation_rate", "40.8%", "占比40.8%"),
        ("reconsideration.corrected", "7", "确认违法等案件7件"),
        ("reconsideration.correction_rate", "6.8%", "直接纠错率6.8%"),
    )
    assert reviews(result) == {}


def test_accepted_above_received_is_doubted_on_both():
    result = checked(
        "市政府收到行政复议申请169件，受理180件，审结103件。",
        ("reconsideration.received", "169", "收到行政复议申请169件"),
        ("reconsideration.accepted", "180", "受理180件"),
    )
    found = reviews(result)
    assert set(found) == {"reconsideration.received", "reconsideration.accepted"}
    assert found["reconsideration.accepted"] == ["accepted_exceeds_received: 受理 180 > 收到 169"]


def test_different_scopes_are_not_compared_but_a_missing_scope_is():
    source = Source(text="全市收到申请169件，市政府本级受理180件。")
    figures = [
        FigureProposal(
            indicator="reconsideration.received",
            value=169,
            raw="169",
            quote="收到申请169件",
            scope="全市",
        ),
        FigureProposal(
            indicator="reconsideration.accepted",
            value=180,
            raw="180",
            quote="受理180件",
            scope="市政府本级",
        ),
    ]
    result = verify(merge([ChunkAnswer(chunk=0, figures=figures)]), source)
    assert reviews(cross_check(result, source)) == {}
    unscoped = [figures[0].model_copy(update={"scope": None}), figures[1]]
    result = verify(merge([ChunkAnswer(chunk=0, figures=unscoped)]), source)
    assert len(reviews(cross_check(result, source))) == 2


def test_concluded_above_accepted_is_doubted():
    result = checked(
        "全年受理行政复议案件90件，审结120件。",
        ("reconsideration.accepted", "90", "受理行政复议案件90件"),
        ("reconsideration.concluded", "120", "审结120件"),
    )
    assert reviews(result)["reconsideration.concluded"] == [
        "concluded_exceeds_accepted: 审结 120 > 受理 90"
    ]


def test_a_printed_carry_over_is_added_and_an_unnumbered_one_skips_the_check():
    with_number = checked(
        "全年受理行政复议案件17件，审结19件（含上年结转3件）。",
        ("reconsideration.accepted", "17", "受理行政复议案件17件"),
        ("reconsideration.concluded", "19", "审结19件"),
    )
    assert reviews(with_number) == {}
    too_many = checked(
        "全年受理行政复议案件17件，审结25件（含上年结转3件）。",
        ("reconsideration.accepted", "17", "受理行政复议案件17件"),
        ("reconsideration.concluded", "25", "审结25件"),
    )
    assert reviews(too_many)["reconsideration.concluded"] == [
        "concluded_exceeds_accepted: 审结 25 > 受理 17 + 结转 3"
    ]
    # the real sentence: 审结103件(含去年结转案件) -- a carry-over without its number
    real = checked(corpus_sentence("kunshan-2021.txt", KUNSHAN), *KUNSHAN_FIGURES)
    concluded = next(f for f in real.figures if f.indicator == "reconsideration.concluded")
    assert (
        carried_over(concluded, Source(text=corpus_sentence("kunshan-2021.txt", KUNSHAN))) is None
    )


def test_real_carry_over_with_a_number_in_traditional_script():
    text = corpus_sentence("sucheng-2020.txt", "截至目前,我區共收到")
    result = checked(
        text,
        ("reconsideration.received", "22", "收到行政復議申請22件"),
        ("reconsideration.accepted", "17", "受理17件"),
        ("reconsideration.concluded", "14", "審結14件"),
    )
    assert reviews(result) == {}


TAIYUAN = "2021年共办理以市政府为被告"


def test_real_litigation_counts_and_win_rate_raise_no_doubt():
    result = checked(
        corpus_sentence("taiyuan-2021.txt", TAIYUAN),
        ("litigation.cases", "103", "行政应诉案件103件"),
        ("litigation.concluded", "85", "判决、裁定85件"),
        ("litigation.won", "84", "胜诉84件"),
        ("litigation.win_rate", "98.8%", "胜诉率98.8%"),
    )
    assert reviews(result) == {}


def test_won_and_lost_above_concluded_are_doubted():
    result = checked(
        "审结行政诉讼案件85件，胜诉80件，败诉9件。",
        ("litigation.concluded", "85", "审结行政诉讼案件85件"),
        ("litigation.won", "80", "胜诉80件"),
        ("litigation.lost", "9", "败诉9件"),
    )
    assert reviews(result)["litigation.lost"] == ["won_lost_exceed_concluded: 80 + 9 > 85"]
    assert set(reviews(result)) == {"litigation.concluded", "litigation.won", "litigation.lost"}


def test_a_rate_the_counts_do_not_give_is_doubted():
    result = checked(
        "办理行政应诉案件103件，胜诉84件，胜诉率98.8%。",
        ("litigation.cases", "103", "办理行政应诉案件103件"),
        ("litigation.won", "84", "胜诉84件"),
        ("litigation.win_rate", "98.8%", "胜诉率98.8%"),
    )
    assert reviews(result) == {
        "litigation.win_rate": ["rate_disagrees_with_counts: 98.8% is not 84 / 103 = 81.55%"]
    }


@pytest.mark.parametrize(
    ("report", "marker", "figures"),
    [
        (
            "qingpu-2023.txt",
            "4.提升复议应诉水平",
            (
                ("reconsideration.concluded", "858", "审结858件"),
                ("reconsideration.corrected", "14", "纠错14件"),
                ("reconsideration.correction_rate", "1.63%", "纠错率1.63%"),
            ),
        ),
        (
            "qingpu-2023.txt",
            "全区人民调解组织",
            (
                ("disputes.mediation_cases", "9339", "受理各类矛盾纠纷9339件"),
                ("disputes.mediation_success", "9337", "调解成功9337件"),
                ("disputes.mediation_success_rate", "99.98%", "调解成功率为99.98%"),
            ),
        ),
    ],
)
def test_real_rates_agree_with_their_counts(report, marker, figures):
    text = (CORPUS / report).read_text(encoding="utf-8")
    start = text.index(marker)
    assert reviews(checked(text[start : text.index("\n", start)], *figures)) == {}


def test_rate_rounding_and_truncation_pass_but_a_wrong_digit_does_not():
    assert rate_matches(99.9, "99.9%", 48495, 48547)  # 99.893 rounds up
    assert rate_matches(99.1, "99.1%", 22081, 22282)  # 99.098
    assert rate_matches(1.63, "1.63%", 14, 858)
    assert not rate_matches(1.73, "1.73%", 14, 858)
    assert rate_matches(40, "40%", 42, 103)  # 40.78 truncated
    assert not rate_matches(42, "42%", 42, 103)


def test_conflicting_values_are_review_reasons():
    result = checked(
        "全年受理行政复议案件90件。另据统计，受理行政复议案件95件。",
        ("reconsideration.accepted", "90", "受理行政复议案件90件"),
        ("reconsideration.accepted", "95", "受理行政复议案件95件"),
    )
    assert [f.review for f in result.figures] == [
        ["conflicting_values: reconsideration.accepted has 90, 95 in one scope"]
    ] * 2


def test_checking_twice_adds_no_reason_twice():
    once = checked(
        "全年受理行政复议案件90件，审结120件。",
        ("reconsideration.accepted", "90", "受理行政复议案件90件"),
        ("reconsideration.concluded", "120", "审结120件"),
    )
    twice = cross_check(once, Source(text="全年受理行政复议案件90件，审结120件。"))
    assert [f.review for f in twice.figures] == [f.review for f in once.figures]


def test_large_conflicting_values_read_as_printed_numbers():
    result = checked(
        "12345热线共受理市民来电170.3万件。受理市长信箱留言1.7万件。",
        ("transparency.hotline_cases", "170.3万", "受理市民来电170.3万件"),
        ("transparency.hotline_cases", "1.7万", "受理市长信箱留言1.7万件"),
    )
    assert result.figures[0].review == [
        "conflicting_values: transparency.hotline_cases has 1703000, 17000 in one scope"
    ]
