"""The one data flow end to end with a stand-in backend: chunk → answer → merge → verify."""

from fazhi.chunking import chunk_source
from fazhi.ingest import read_source
from fazhi.model import ChunkAnswer, FigureProposal
from fazhi.pipeline import chunk_size_for, extract, extract_file
from tests.conftest import CORPUS, gold_json


class QuoteBackend:
    """Proposes, in whichever chunk holds its quote, each of the given figures."""

    name, model, prompt_version = "stand-in", None, "v0"

    def __init__(self, figures, preferred_chunk_size=None):
        self.figures = figures
        self.preferred_chunk_size = preferred_chunk_size
        self.chunk_sizes = []

    def answer(self, chunks, source):
        self.chunk_sizes = [len(c.text) for c in chunks]
        return [
            ChunkAnswer(
                chunk=c.index,
                figures=[
                    f.model_copy(update={"chunk": c.index})
                    for f in self.figures
                    if f.quote in c.text
                ],
            )
            for c in chunks
        ]


def test_gold_figures_flow_through_and_a_planted_one_is_rejected():
    gold = [FigureProposal(**f) for f in gold_json("kunshan-2021")["figures"]]
    backend = QuoteBackend(gold)
    source = read_source(CORPUS / "kunshan-2021.txt")
    result = extract(source, backend, chunk_size=1500)
    assert result.verified and result.backend == "stand-in" and result.prompt_version == "v0"
    assert result.source_sha256 == source.sha256
    assert {(f.indicator, f.value) for f in result.figures} == {
        (f.indicator, f.value) for f in gold
    }
    for f in result.figures:
        start, end = f.span
        assert source.text[start:end] == f.quote
    assert result.rejected == []
    assert result.chunks == len(chunk_source(source, size=1500))


def test_a_proposed_figure_that_does_not_verify_is_rejected_not_lost():
    planted = FigureProposal(
        indicator="reconsideration.received",
        value=170,
        raw="169",
        quote="市政府收到行政复议申请169件",
    )
    source, result = extract_file(CORPUS / "kunshan-2021.txt", QuoteBackend([planted]))
    assert result.figures == []
    assert [r.code for r in result.rejected] == ["value_mismatch"]


def test_chunk_size_precedence():
    backend = QuoteBackend([], preferred_chunk_size=800)
    assert chunk_size_for(backend, None) == 800
    assert chunk_size_for(backend, 1200) == 1200
    assert chunk_size_for(QuoteBackend([]), None) == 2000
    extract(read_source(CORPUS / "qingpu-2023.txt"), backend)
    assert max(backend.chunk_sizes) <= 800 * 1.5


class FailingChunks(QuoteBackend):
    """Answers like QuoteBackend but fails the chunks listed (or leaves them unanswered)."""

    def __init__(self, figures, fail=(), drop=()):
        super().__init__(figures)
        self.fail, self.drop = set(fail), set(drop)

    def answer(self, chunks, source):
        answers = super().answer(chunks, source)
        return [
            ChunkAnswer(chunk=a.chunk, error="gave up") if a.chunk in self.fail else a
            for a in answers
            if a.chunk not in self.drop
        ]


def _gold_figures():
    return [FigureProposal(**f) for f in gold_json("kunshan-2021")["figures"]]


def test_status_complete_partial_failed_follows_the_chunks():
    source = read_source(CORPUS / "kunshan-2021.txt")
    complete = extract(source, FailingChunks(_gold_figures()))
    assert (complete.status, complete.verified, complete.failed_chunks) == ("complete", True, [])
    busy = complete.figures[-1].chunk  # a chunk that gave figures
    partial = extract(source, FailingChunks(_gold_figures(), fail={busy}))
    assert (partial.status, partial.verified, partial.failed_chunks) == ("partial", True, [busy])
    assert 0 < len(partial.figures) < len(complete.figures)
    every = range(complete.chunks)
    failed = extract(source, FailingChunks(_gold_figures(), fail=every))
    assert (failed.status, failed.verified, failed.figures) == ("failed", False, [])
    assert '"verified":true' not in failed.model_dump_json()


def test_a_chunk_the_backend_left_unanswered_counts_as_failed():
    source = read_source(CORPUS / "kunshan-2021.txt")
    result = extract(source, FailingChunks(_gold_figures(), drop={0}))
    assert result.status == "partial" and result.failed_chunks == [0]
