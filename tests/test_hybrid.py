"""Hybrid = two labellers over one candidate set: agreement, disagreement, one labeller only."""

from fazhi.backends.hybrid import HybridBackend, Policy, combine
from fazhi.model import Chunk, ChunkAnswer, FigureProposal, Meta, Source, TextProposal, Usage
from fazhi.pipeline import extract

TEXT = "市政府收到行政复议申请169件，受理138件，不予受理12件。全年开展普法活动50场。"
SOURCE = Source(text=TEXT)
CHUNKS = [Chunk(index=0, text=TEXT, start=0, end=len(TEXT))]


def fig(indicator: str, raw: str, quote: str, scope: str | None = None) -> FigureProposal:
    return FigureProposal(indicator=indicator, value=int(raw), raw=raw, quote=quote, scope=scope)


RECEIVED = fig("reconsideration.received", "169", "收到行政复议申请169件")
ACCEPTED = fig("reconsideration.accepted", "138", "受理138件")
NOT_ACCEPTED_AS_ACCEPTED = fig("reconsideration.accepted", "12", "不予受理12件")
EVENTS = fig("publicity.events", "50", "开展普法活动50场")


def combined(
    rules: list[FigureProposal], llm: list[FigureProposal], policy: Policy = "auto", **answer
) -> ChunkAnswer:
    by_rules = [ChunkAnswer(chunk=0, figures=rules)]
    by_llm = [ChunkAnswer(chunk=0, figures=llm, **answer)]
    (out,) = combine(by_rules, by_llm, SOURCE, CHUNKS, policy=policy)
    return out


def test_agreement_gives_one_figure_from_both_labellers():
    out = combined([RECEIVED], [RECEIVED.model_copy(update={"quote": "申请169件"})])
    assert [(f.indicator, f.sources) for f in out.figures] == [
        ("reconsideration.received", ["llm", "rules"])
    ]
    assert out.rejected == []


def test_a_different_label_on_one_number_is_outvoted_and_recorded():
    as_accepted = fig("reconsideration.accepted", "169", "收到行政复议申请169件")
    out = combined([as_accepted], [RECEIVED], policy="llm")
    assert [(f.indicator, f.sources) for f in out.figures] == [
        ("reconsideration.received", ["llm"])
    ]
    assert out.figures[0].review == [
        "labellers_disagree: rules labelled this number reconsideration.accepted"
    ]
    (rejection,) = out.rejected
    assert (
        rejection.code == "outvoted" and rejection.item["indicator"] == "reconsideration.accepted"
    )
    assert rejection.reason.startswith("rules label reconsideration.accepted=169 not used")


def test_a_rules_reading_of_another_number_for_the_models_indicator_is_outvoted():
    # the failure issue 14 measured: 不予受理…件 read as the accepted count
    out = combined([NOT_ACCEPTED_AS_ACCEPTED, EVENTS], [ACCEPTED], policy="llm")
    assert [(f.raw, f.sources) for f in out.figures] == [("138", ["llm"]), ("50", ["rules"])]
    (rejection,) = out.rejected
    assert rejection.code == "outvoted" and rejection.item["raw"] == "12"
    assert "llm read reconsideration.accepted as 138" in rejection.reason


def test_by_default_the_rules_win_a_disagreement_and_the_model_fills_their_silence():
    as_accepted = fig("reconsideration.accepted", "169", "收到行政复议申请169件")
    out = combined([as_accepted], [RECEIVED, EVENTS])
    assert [(f.raw, f.indicator, f.sources) for f in out.figures] == [
        ("169", "reconsideration.accepted", ["rules"]),
        ("50", "publicity.events", ["llm"]),
    ]
    assert out.figures[0].review[0].startswith("labellers_disagree: llm labelled this number")
    (rejection,) = out.rejected
    assert rejection.code == "outvoted" and rejection.item["indicator"] == RECEIVED.indicator


def test_where_the_model_is_silent_the_rules_fill_and_a_failed_chunk_outvotes_nothing():
    out = combined([EVENTS], [], policy="llm")
    assert [(f.raw, f.sources) for f in out.figures] == [("50", ["rules"])]
    failed = combined([NOT_ACCEPTED_AS_ACCEPTED], [ACCEPTED], policy="llm", error="timeout")
    assert {f.raw for f in failed.figures} == {"138", "12"}


def test_a_failed_model_chunk_where_the_rules_answered_is_partial_not_failed():
    out = combined([EVENTS], [], error="timeout after 120 s")
    assert out.error is None and [f.raw for f in out.figures] == ["50"]
    assert out.caps_hit == ["llm labeller failed, the other's answer stands: timeout after 120 s"]
    rules = _Fixed("rules", [ChunkAnswer(chunk=0, figures=[EVENTS])])
    llm = _Fixed("llm", [ChunkAnswer(chunk=0, error="timeout after 120 s")], model="m")
    result = extract(SOURCE, HybridBackend(rules, llm), chunk_size=4000)
    assert result.status == "partial" and result.failed_chunks == []
    assert result.caps_hit == [f"chunk 0: {out.caps_hit[0]}"]
    both = _Fixed("rules", [ChunkAnswer(chunk=0, error="rules crashed")])
    result = extract(SOURCE, HybridBackend(both, llm), chunk_size=4000)
    assert result.status == "failed" and result.failed_chunks == [0]


def test_the_configured_catalog_verifies_both_sides():
    from fazhi.catalog import Catalog, default_catalog

    full = default_catalog()
    small = Catalog(indicators={"publicity.events": full.indicators["publicity.events"]})
    llm = _Fixed("llm", [ChunkAnswer(chunk=0, figures=[RECEIVED, EVENTS])], model="m")
    llm.catalog = small  # what the LLM backend labels against
    hybrid = HybridBackend(_Fixed("rules", [ChunkAnswer(chunk=0, figures=[RECEIVED])]), llm)
    assert hybrid.catalog is small
    (out,) = hybrid.answer(CHUNKS, SOURCE)
    assert [f.indicator for f in out.figures] == ["publicity.events"]
    assert {r.item.get("indicator") for r in out.rejected} == {"reconsideration.received"}


def test_the_rules_can_be_preferred():
    by_rules = [ChunkAnswer(chunk=0, figures=[NOT_ACCEPTED_AS_ACCEPTED])]
    by_llm = [ChunkAnswer(chunk=0, figures=[ACCEPTED])]
    (out,) = combine(by_rules, by_llm, SOURCE, CHUNKS, policy="rules")
    assert [(f.raw, f.sources) for f in out.figures] == [("12", ["rules"])]
    assert [r.item["raw"] for r in out.rejected] == ["138"]


def test_each_sides_unverified_proposals_stay_rejections():
    bogus = fig("publicity.events", "77", "开展普法活动77场")
    out = combined([bogus], [EVENTS])
    assert [r.code for r in out.rejected] == ["quote_not_in_source"]


def test_meta_disagreement_and_text_items_leave_records():
    text = (
        "昆山市、苏州市2021年报告。"
        + TEXT
        + "存在问题：基层执法力量不足。下一步：加强执法队伍建设。"
    )
    source = Source(text=text)
    chunks = [Chunk(index=0, text=text, start=0, end=len(text))]
    by_rules = [
        ChunkAnswer(
            chunk=0,
            meta=Meta(region="苏州市", year=2021),
            shortcomings=[TextProposal(quote="基层执法力量不足")],
            plans=[TextProposal(quote="加强执法队伍建设")],
        )
    ]
    by_llm = [
        ChunkAnswer(
            chunk=0, meta=Meta(region=None), plans=[TextProposal(quote="下一步：加强执法队伍建设")]
        )
    ]
    (out,) = combine(by_rules, by_llm, source, chunks, policy="llm")
    assert out.meta == Meta(region="苏州市", year=2021)  # the model said nothing: rules fill
    assert [t.quote for t in out.shortcomings] == ["基层执法力量不足"]
    assert [t.quote for t in out.plans] == ["下一步：加强执法队伍建设"]  # one passage, both
    by_llm[0] = by_llm[0].model_copy(update={"meta": Meta(region="昆山市")})
    (out,) = combine(by_rules, by_llm, source, chunks, policy="llm")
    assert out.meta is not None and out.meta.region == "昆山市"
    assert [(r.what, r.code) for r in out.rejected] == [("meta", "outvoted"), ("plan", "outvoted")]
    # the rules' wording of the same plan is not used either, and says so
    assert out.rejected[1].item["quote"] == "加强执法队伍建设"
    assert "marked this passage as 1 item(s), kept" in out.rejected[1].reason


class _Fixed:
    def __init__(self, name, answers, model=None):
        self.name, self.model, self.prompt_version, self._answers = name, model, name, answers
        self.seen = None

    def answer(self, chunks, source):
        self.seen = list(chunks)
        return self._answers


def test_backend_runs_both_on_the_same_chunks_and_the_pipeline_scores_agreement():
    rules = _Fixed("rules", [ChunkAnswer(chunk=0, figures=[RECEIVED, EVENTS])])
    llm_answer = ChunkAnswer(chunk=0, figures=[RECEIVED], usage=Usage(calls=1, prompt_tokens=9))
    llm = _Fixed("llm", [llm_answer], model="m")
    hybrid = HybridBackend(rules, llm)
    result = extract(SOURCE, hybrid, chunk_size=4000)
    assert rules.seen == llm.seen
    assert hybrid.model == "m" and hybrid.prompt_version == "rules+llm"
    by_raw = {f.raw: f for f in result.figures}
    assert by_raw["169"].sources == ["llm", "rules"] and by_raw["169"].confidence == 1.0
    assert by_raw["50"].sources == ["rules"] and by_raw["50"].confidence == 0.7
    assert result.usage.calls == 1 and result.backend == "hybrid"


def test_a_dry_run_of_hybrid_costs_what_its_llm_would():
    from fazhi.backends.llm import LLMBackend
    from fazhi.backends.rules import RulesBackend
    from fazhi.chunking import chunk_source
    from fazhi.ingest import read_source
    from tests.conftest import CORPUS

    llm = LLMBackend(model="m", base_url="http://127.0.0.1:9/v1", use_cache=False)
    hybrid = HybridBackend(RulesBackend(), llm)
    chunks = chunk_source(read_source(CORPUS / "kunshan-2021.txt"), size=1000)
    assert hybrid.estimate_tokens(chunks) == llm.estimate_tokens(chunks)
    assert hybrid.estimate_tokens(chunks)[0] > 0 and hybrid.estimate_basis == llm.estimate_basis


def test_auto_distrusts_a_model_whose_proposals_mostly_fail_verification():
    typed_wrong = [
        fig("publicity.events", str(n), f"开展普法活动{n}场") for n in (51, 52, 53)
    ]  # quotes not in the source: 3 of 4 proposals fail
    llm = [NOT_ACCEPTED_AS_ACCEPTED.model_copy(update={"indicator": "disputes.petitions"})]
    out = combined([ACCEPTED], llm + typed_wrong)
    assert [(f.raw, f.sources) for f in out.figures] == [("138", ["rules"])]
    outvoted = [r for r in out.rejected if r.code == "outvoted"]
    assert [r.item["raw"] for r in outvoted] == ["12"]
    assert "75% of llm's figure proposals on this report failed verification" in outvoted[0].reason
