"""Faults around LLM calls that must not lose data or hang: cut-off and given-up answers, dead
endpoints, corrupt caches, secrets in URLs. Every scenario runs against a loopback replay server
or stub (hand-scripted or synthetic echo answers, NOT a model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fazhi.backends.llm import LLMBackend
from fazhi.batch import run_batch
from fazhi.chunking import chunk_source
from fazhi.ingest import read_source
from fazhi.llm.client import RetryPolicy
from fazhi.testing.faults import FaultRule, FaultSchedule
from fazhi.testing.replay_server import ReplayServer
from fazhi.testing.responders import chunk_key
from fazhi.testing.synthetic import synthetic_reports, write_reports
from tests import llm_synthetic as synthetic
from tests.conftest import REPORTS, report_text
from tests.llm_stub import answer, completion, reply, running_stub

CHUNK_SIZE = 500
FAST_RETRY = RetryPolicy(attempts=3, initial=0.01, maximum=0.05)


def small_reports(folder: Path, count: int) -> list[Path]:
    made = synthetic_reports(
        {stem: report_text(stem) for stem in REPORTS}, count, tag_paragraphs=True
    )
    return write_reports(folder, made)


def replay_backend(url: str, cache: Path | None, **options) -> LLMBackend:
    options = {"concurrency": 2, "max_reasks": 1, "timeout": 2.0, "retry": FAST_RETRY, **options}
    return LLMBackend(
        model="replay", base_url=url, cache_dir=cache, use_cache=cache is not None, **options
    )


def outcome(record) -> dict:
    return record.result.model_dump(exclude={"usage", "source"}) if record.result else {}


# --- 1. partial answers are never final ---------------------------------------------------------

CUT = reply(200, completion(synthetic.CUT_OFF, finish_reason="length", completion_tokens=1024))
PROSE = reply(200, completion(synthetic.PROSE))


@pytest.mark.parametrize(
    ("first", "max_reasks"), [(CUT, 0), (PROSE, 0)], ids=["cut-off", "not-json"]
)
def test_an_incomplete_answer_is_a_chunk_error_not_cached_and_asked_again(
    tmp_path, first, max_reasks
):
    [chunk] = synthetic.chunks((1,))
    source = synthetic.source()
    script = [first, answer([synthetic.MEDIATION])]
    with running_stub(script) as stub:
        backend = LLMBackend(
            model="stub", base_url=stub.url, cache_dir=tmp_path, max_reasks=max_reasks
        )
        [bad] = backend.answer([chunk], source)
        assert bad.error and len(stub.requests) == 1
        [again] = backend.answer([chunk], source)
    assert len(stub.requests) == 2, "the incomplete answer was served from the cache"
    assert again.error is None and [f.raw for f in again.figures] == ["48547"]
    assert again.usage.calls == 1 and again.usage.cached == 0


def test_a_cut_off_answer_keeps_what_verified_as_proposals():
    [chunk] = synthetic.chunks((1,))
    with running_stub([CUT]) as stub:
        backend = LLMBackend(model="stub", base_url=stub.url, use_cache=False, max_reasks=0)
        [cut] = backend.answer([chunk], synthetic.source())
    assert cut.error.startswith("incomplete answer:") and "max_tokens" in cut.error
    assert [f.raw for f in cut.figures] == ["48547"]  # the complete figure before the cut


def test_truncation_then_rerun_recovers_the_figures(tmp_path):
    """Fault-suite scenario "truncation-then-rerun": the replay server cuts every chunk of two
    reports once; those reports are not ok, and a rerun against the healthy server re-asks just
    those chunks and ends equal to a fault-free run."""
    reports = small_reports(tmp_path / "reports", 6)
    cut_reports = (1, 4)
    keys = {chunk_key(c.text) for i in cut_reports for c in _chunks(reports[i])}
    with ReplayServer(mode="echo") as clean_server:
        clean = run_batch(reports, replay_backend(clean_server.url, None), tmp_path / "clean.jsonl",
                          chunk_size=CHUNK_SIZE)  # fmt: skip
    faults = FaultSchedule.of([FaultRule("truncated", keys=frozenset(keys))])
    with ReplayServer(mode="echo", faults=faults) as server:
        backend = replay_backend(server.url, tmp_path / "cache")
        journal = tmp_path / "run.jsonl"
        first = run_batch(reports, backend, journal, chunk_size=CHUNK_SIZE)
        server.faults = FaultSchedule()
        server.reset_stats()
        rerun = run_batch(reports, backend, journal, chunk_size=CHUNK_SIZE)
        asked = server.stats.requests
    not_ok = {i for i, r in enumerate(first.records) if r.status != "complete"}
    assert not_ok == set(cut_reports)
    for i in cut_reports:
        assert first.records[i].result.chunk_errors
        assert "incomplete answer" in first.records[i].error
    assert asked == len(keys)  # only the cut chunks were asked again
    assert all(r.status == "complete" for r in rerun.records)
    for i in cut_reports:
        assert outcome(rerun.records[i]) == outcome(clean.records[i]), reports[i].name
        assert rerun.records[i].result.figures


def _chunks(path: Path):
    return chunk_source(read_source(path), size=CHUNK_SIZE)
