"""The rules backend on wordings the bundled reports do not show (issue 15): one named rule per
labelling convention of ``evals/gold/README.md``, each on a sentence written for this test,
and the measured floors on the seeds, the dev set and the held-out reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from fazhi.backends.rules import RulesBackend
from fazhi.evaluate import evaluate
from fazhi.ingest import read_source
from fazhi.model import Chunk, Figure, GoldReport, Source
from fazhi.numbers import parse_raw, values_equal
from fazhi.pipeline import extract
from tests.conftest import CORPUS, GOLD, ROOT

DEV = ROOT / "evals" / "dev"
HELDOUT = ROOT / "evals" / "heldout"
HELDOUT_AFTER = ROOT / "evals" / "heldout-after"
HELDOUT_FINAL = ROOT / "evals" / "heldout-final"


@pytest.fixture(scope="module")
def backend() -> RulesBackend:
    return RulesBackend()


def figures_of(text: str, backend: RulesBackend) -> list[Figure]:
    chunk = Chunk(index=0, text=text, start=0, end=len(text))
    return backend.answer([chunk], Source(text=text))[0].figures


def pairs(text: str, backend: RulesBackend) -> set[tuple[str, float]]:
    return {(f.indicator, float(f.value)) for f in figures_of(text, backend)}


# --- units and word order -------------------------------------------------------------------


def test_zong_is_a_case_unit(backend):
    text = "本年度行政复议机构收到复议申请64宗，受理57宗，办结52宗。"
    assert pairs(text, backend) == {
        ("reconsideration.received", 64),
        ("reconsideration.accepted", 57),
        ("reconsideration.concluded", 52),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("县政府坚持会前学法，全年组织7次常务会议集体学法。", ("study.exec_meeting_sessions", 7)),
        ("实现区级行政机关负责人100%出庭应诉。", ("litigation.head_appearance_rate", 100)),
    ],
)
def test_a_count_before_its_noun(backend, text, expected):
    assert pairs(text, backend) == {expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("区政府常务会议学法：全年共9次。", ("study.exec_meeting_sessions", 9)),
        ("组织执法人员参加岗位法律培训，参训人数：438人。", ("enforcement.officers_trained", 438)),
        ("组织新提任干部参加任前法律知识考试，参考人数73人。", ("study.leader_law_exams", 73)),
    ],
)
def test_a_figure_after_a_colon_or_a_bare_label(backend, text, expected):
    assert pairs(text, backend) == {expected}


def test_a_bare_label_reaches_back_over_a_rate_to_the_last_figure(backend):
    text = "组织新提任干部参加任前法律知识考试，参考率100%，参考人数73人。"
    assert pairs(text, backend) == {("study.leader_law_exams", 73)}


def test_a_verb_is_no_bare_label(backend):
    assert pairs("对乡镇报送的规范性文件进行备案审查，纠正2件。", backend) == set()


def test_an_item_of_a_list_does_not_take_the_next_items_words(backend):
    text = "全年审结行政复议案件80件，其中维持51件、撤销或确认违法11件。"
    assert pairs(text, backend) == {
        ("reconsideration.concluded", 80),
        ("reconsideration.corrected", 11),
    }


def test_legality_review_by_its_reviewer_and_the_things_reviewed(backend):
    text = "全年区司法局审核区政府各类文件、合同共计156件。"
    assert pairs(text, backend) == {("normative_docs.legality_reviews", 156)}
    # the same verb of the legal counsel is its matter, not a legality review
    text = "法律顾问参与区政府专题会议30余次，审核各类文件45份。"
    assert ("normative_docs.legality_reviews", 45.0) not in pairs(text, backend)


def test_a_specific_noun_beats_a_topic_carried_from_the_sentence_before(backend):
    text = "全区人民调解组织调处纠纷1,200件。区法律援助中心全年受理法律援助申请310件。"
    assert pairs(text, backend) == {
        ("disputes.mediation_cases", 1200),
        ("disputes.legal_aid_cases", 310),
    }


def test_a_figure_after_a_parenthesis(backend):
    text = "市法律援助中心办理法律援助案件（含民事、刑事）581件。"
    assert pairs(text, backend) == {("disputes.legal_aid_cases", 581)}


def test_a_verb_separated_from_its_number_by_a_list_of_names(backend):
    text = "全年共备案审查《某县河道采砂管理制度》《某县殡葬管理办法》等乡镇规范性文件17件。"
    assert pairs(text, backend) == {("normative_docs.filing_reviews", 17)}
    text = (
        "坚持合法性审核全覆盖，共审查《某区物业管理实施细则》《某区停车收费办法》"
        "等区规范性文件8件。"
    )
    assert pairs(text, backend) == {("normative_docs.legality_reviews", 8)}


def test_a_topic_carries_over_the_sentences_of_a_paragraph(backend):
    text = "（三）12345政务热线。全年受理群众诉求约21.4万件，办结率98.9%。"
    [figure] = figures_of(text, backend)
    assert (figure.indicator, figure.value, figure.approx) == (
        "transparency.hotline_cases",
        214000,
        True,
    )


def test_a_topic_carries_from_a_heading_line_but_not_two_sentences_on(backend):
    text = "（三）行政复议\n全年共收到申请63件，受理58件，审结50件。\n"
    assert pairs(text, backend) == {
        ("reconsideration.received", 63),
        ("reconsideration.accepted", 58),
        ("reconsideration.concluded", 50),
    }
    text = "全年行政复议工作平稳。群众满意度提升。全年受理政务服务事项1,200件。"
    assert pairs(text, backend) == set()


def test_a_part_with_a_scope_of_its_own_is_a_figure(backend):
    text = "全市新收行政诉讼案件206件，其中以市政府为被告的31件。"
    figures = figures_of(text, backend)
    assert {(f.indicator, f.value, f.scope) for f in figures} == {
        ("litigation.cases", 206, "全市"),
        ("litigation.cases", 31, "以市政府为被告"),
    }


# --- numbers in words and approximation -----------------------------------------------------


def test_numbers_in_words(backend):
    text = "市政府常务会议全年开展会前学法十四次，组织旁听庭审两场，开展普法活动一百二十余场。"
    assert pairs(text, backend) == {
        ("study.exec_meeting_sessions", 14),
        ("study.trial_observations", 2),
        ("publicity.events", 120),
    }


def test_zero_in_words_inside_quotation_marks(backend):
    text = "全年新收行政诉讼案件12件，连续三年保持“零败诉”。"
    figures = figures_of(text, backend)
    assert ("litigation.lost", 0.0) in {(f.indicator, float(f.value)) for f in figures}
    assert [f.raw for f in figures if f.indicator == "litigation.lost"] == ["零"]


def test_a_quoted_zero_of_something_else_is_no_figure(backend):
    assert pairs("行政诉讼案件实现败诉案件“零增长”。", backend) == set()


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("全年区政府收到行政复议申请超过150件。", "150"),
        ("全年区政府收到行政复议申请不少于150件。", "150"),
        ("全年区政府收到行政复议申请约150件。", "150"),
        ("全年区政府收到行政复议申请近150件。", "150"),
        ("全年区政府收到行政复议申请逾150件。", "150"),
        ("全年区政府收到行政复议申请150余件。", "150余"),
        ("全年区政府收到行政复议申请150多件。", "150多"),
    ],
)
def test_qualifiers_before_and_after_the_number_are_approximate(backend, text, raw):
    """A qualifier before the number (超过, 不少于, 约, 近, 逾) stays out of raw, a marker after it
    (余, 多) stays in (evals/gold/README.md); the source decides approx either way."""
    result = extract(Source(text=text), backend)
    [figure] = result.figures
    assert (figure.indicator, figure.value, figure.raw, figure.approx) == (
        "reconsideration.received",
        150,
        raw,
        True,
    )


# --- things that look like counts and are not -----------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "其中不予受理9件。",  # negation
        "对复议申请作出不予受理决定6件。",
        "上年同期受理复议申请85件。",  # last year's figure
        "近三年累计办理行政复议案件512件。",  # several years
        "近五年来，区政府累计审结行政复议案件733宗。",
        "区政府第9次常务会议专题学法。",  # ordinal
        "印发区政办〔2022〕7号文件。",  # document number
        "自20256月起推行行政复议案件繁简分流。",  # a date with a dropped character
    ],
)
def test_non_counts_are_never_figures(backend, text):
    assert figures_of(text, backend) == []


def test_this_years_figure_beside_last_years_is_kept(backend):
    text = "全年区政府收到行政复议申请120件，受理112件，上年同期受理98件。"
    assert pairs(text, backend) == {
        ("reconsideration.received", 120),
        ("reconsideration.accepted", 112),
    }


def test_a_modifier_loses_to_the_verb(backend):
    text = "对各镇街和区级部门报送备案的规范性文件审查27件。"
    assert pairs(text, backend) == {("normative_docs.filing_reviews", 27)}
    text = "对拟制发的规范性文件开展合法性审核36件。"
    assert pairs(text, backend) == {("normative_docs.legality_reviews", 36)}


# --- measured floors ------------------------------------------------------------------------


def _scored(gold_dir: Path, corpus_dir: Path, backend: RulesBackend):
    gold = {
        p.stem: GoldReport.model_validate_json(p.read_text(encoding="utf-8"))
        for p in sorted(gold_dir.glob("*.json"))
    }
    predicted = {stem: extract(read_source(corpus_dir / f"{stem}.txt"), backend) for stem in gold}
    return evaluate(gold, predicted, backend="rules")


# Measured with `fazhi eval --backend rules` (seeds; --gold/--corpus for dev and heldout) on
# 2026-12-01; a floor is the measured value less at most one figure's worth, so deleting the
# rules of any one group (the five enforcement.* rules: 1.000 -> 0.000 there) fails.
SEED_GROUP_FLOORS = {
    "disputes": 1.0,
    "enforcement": 1.0,
    "legal_counsel": 1.0,
    "litigation": 1.0,
    "major_decisions": 1.0,
    "normative_documents": 0.96,
    "oversight": 1.0,
    "publicity": 1.0,
    "reconsideration": 1.0,
    "study": 1.0,
    "transparency": 1.0,
}


def test_seed_floors_per_group(backend):
    scored = _scored(GOLD, CORPUS, backend)
    assert scored.figures.precision == 1.0 and scored.figures.f1 >= 0.99, scored.figures
    low = {
        group: round(scored.by_group[group].f1, 3)
        for group, floor in SEED_GROUP_FLOORS.items()
        if scored.by_group[group].f1 < floor
    }
    assert not low, low
    assert all(value == 1.0 for value in scored.meta_accuracy.values()), scored.meta_accuracy


def test_dev_floors(backend):
    scored = _scored(DEV / "gold", DEV / "corpus", backend)
    assert scored.figures.precision >= 0.98 and scored.figures.f1 >= 0.98, scored.figures
    assert all(scored.by_group[g].f1 >= 0.9 for g in scored.by_group), scored.by_group
    assert all(value == 1.0 for value in scored.meta_accuracy.values()), scored.meta_accuracy


def test_heldout_floors(backend):
    """The held-out reports were written before the rules changed; the rules were then
    changed knowing them, so this pins the fit, not generalisation (evals/heldout/README.md)."""
    scored = _scored(HELDOUT / "gold", HELDOUT / "corpus", backend)
    assert scored.figures.precision == 1.0 and scored.figures.recall == 1.0, scored.figures
    assert all(value == 1.0 for value in scored.meta_accuracy.values()), scored.meta_accuracy


def test_heldout_after_floors(backend):
    """Scored once at F1 0.909 before its misses were fixed; now fit (its README)."""
    scored = _scored(HELDOUT_AFTER / "gold", HELDOUT_AFTER / "corpus", backend)
    assert scored.figures.precision == 1.0 and scored.figures.recall == 1.0, scored.figures
    assert all(value == 1.0 for value in scored.meta_accuracy.values()), scored.meta_accuracy


def test_heldout_final_floors(backend):
    """Never tuned on: the floor is the one score it had (F1 0.982, P 0.982, meta 12/12)."""
    scored = _scored(HELDOUT_FINAL / "gold", HELDOUT_FINAL / "corpus", backend)
    assert scored.figures.precision >= 0.98 and scored.figures.f1 >= 0.98, scored.figures
    assert all(value == 1.0 for value in scored.meta_accuracy.values()), scored.meta_accuracy


@pytest.mark.parametrize("folder", [HELDOUT, HELDOUT_AFTER, HELDOUT_FINAL])
def test_heldout_gold_is_literal(folder):
    """Every gold quote is in its report, every raw in its quote and read as the value."""
    for path in sorted((folder / "gold").glob("*.json")):
        gold = GoldReport.model_validate_json(path.read_text(encoding="utf-8"))
        text = (folder / "corpus" / f"{path.stem}.txt").read_text(encoding="utf-8")
        for figure in gold.figures:
            assert figure.quote in text and figure.raw in figure.quote, figure
            parsed = parse_raw(figure.raw)
            assert parsed is not None and values_equal(parsed.value, figure.value), figure
        for item in gold.shortcomings + gold.plans:
            assert item.quote in text, item
