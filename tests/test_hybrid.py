from fazhi.backends.hybrid import HybridBackend, combine
from fazhi.model import Chunk, ChunkAnswer, Figure, Meta, Source, Usage


def fig(ind, value, raw=None, chunk=0):
    raw = raw or str(value)
    return Figure(indicator=ind, value=value, raw=raw, quote=f"x{raw}件", chunk=chunk)


def test_llm_fills_only_indicators_the_rules_missed():
    rules = [ChunkAnswer(chunk=0, figures=[fig("reconsideration.received", 169)])]
    llm = [
        ChunkAnswer(
            chunk=0,
            figures=[fig("reconsideration.received", 168), fig("reconsideration.accepted", 138)],
            usage=Usage(prompt_tokens=100, completion_tokens=20, calls=1),
        )
    ]
    out = combine(rules, llm)
    assert [(f.indicator, f.value) for f in out[0].figures] == [
        ("reconsideration.received", 169),
        ("reconsideration.accepted", 138),
    ]
    assert out[0].usage.prompt_tokens == 100


def test_coverage_is_report_wide_not_per_chunk():
    rules = [ChunkAnswer(chunk=0, figures=[fig("litigation.cases", 60)]), ChunkAnswer(chunk=1)]
    llm = [
        ChunkAnswer(chunk=0),
        ChunkAnswer(chunk=1, figures=[fig("litigation.cases", 61, chunk=1)]),
    ]
    out = combine(rules, llm)
    assert out[1].figures == []


def test_meta_and_text_items_fall_back_to_the_llm():
    rules = [ChunkAnswer(chunk=0, meta=Meta(region="昆山市", year=None))]
    llm = [ChunkAnswer(chunk=0, meta=Meta(region="别处", year=2021), error="timeout")]
    out = combine(rules, llm)
    assert out[0].meta == Meta(region="昆山市", year=2021)
    assert out[0].error == "timeout"


class _Fixed:
    def __init__(self, name, answers, model=None):
        self.name, self.model, self.prompt_version, self._answers = name, model, name, answers
        self.seen = None

    def answer(self, chunks, source):
        self.seen = list(chunks)
        return self._answers


def test_backend_runs_both_on_the_same_chunks():
    rules = _Fixed("rules", [ChunkAnswer(chunk=0)])
    llm = _Fixed("llm", [ChunkAnswer(chunk=0, figures=[fig("publicity.events", 50)])], model="m")
    hybrid = HybridBackend(rules, llm)
    chunks = [Chunk(index=0, text="开展普法50场", start=0, end=7)]
    out = hybrid.answer(chunks, Source(text="开展普法50场"))
    assert rules.seen == llm.seen == chunks
    assert hybrid.model == "m" and hybrid.prompt_version == "rules+llm"
    assert [f.value for f in out[0].figures] == [50]


def test_a_dry_run_of_hybrid_costs_what_its_llm_would():
    from fazhi.backends.hybrid import HybridBackend
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
