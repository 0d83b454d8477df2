"""A batch under faults: 60 small reports through the replay server (synthetic echo, NOT a
model) with 429s, 5xx, hangs, dropped connections, truncated, schema-violating, fabricated and
injection-obeying answers -- transient for most chunks, permanent for a few reports.

What must hold: no crash and no report lost; every failure recorded per chunk with its cause;
retries bounded (counted by the server); wherever a retry or re-ask eventually succeeded the
output equals a fault-free run's; bad answers never reach ``figures``; a resumed run redoes only
the chunks that failed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("fazhi.backends.llm")

from fazhi.backends.llm import LLMBackend  # noqa: E402
from fazhi.batch import BatchSummary, run_batch  # noqa: E402
from fazhi.chunking import chunk_source  # noqa: E402
from fazhi.ingest import read_source  # noqa: E402
from fazhi.llm.client import RetryPolicy  # noqa: E402
from fazhi.testing.faults import FaultRule, FaultSchedule  # noqa: E402
from fazhi.testing.replay_server import ReplayServer  # noqa: E402
from fazhi.testing.responders import chunk_key  # noqa: E402
from fazhi.testing.synthetic import synthetic_reports, with_injection, write_reports  # noqa: E402
from tests.conftest import REPORTS, report_text  # noqa: E402

REPORT_COUNT = 60
CHUNK_SIZE = 500
DEMANDED = 88888  # the number the planted instruction asks for
# Short timeouts and waits keep the file fast; the bound on requests follows from these.
RETRY = RetryPolicy(attempts=3, initial=0.01, maximum=0.05)
MAX_REASKS = 2
TIMEOUT = 0.5
CLIENT_CONCURRENCY, BATCH_CONCURRENCY = 2, 4
# Reports that fail the same way on every attempt (by position in the batch), and the fault.
PERMANENT = {3: "http_503", 11: "hang", 19: "drop", 27: "rate_limit"}
PARTIAL = 14  # a two-chunk report whose LAST chunk alone fails for good (http_500)
BAD_ANSWERS = {35: "truncated", 43: "bad_schema", 51: "foreign_number"}
BAD_ANSWERS_CUT = 35
INJECTED = (7, 47)
# Every chunk may meet these on its first attempts; at most two in a row (times <= 2), so the
# third HTTP try or a re-ask always gets through.
TRANSIENT = (
    FaultRule("rate_limit", probability=0.12, seed=1, times=1),
    FaultRule("http_500", probability=0.05, seed=2, times=1),
    FaultRule("http_502", probability=0.08, seed=3, times=2),
    FaultRule("http_503", probability=0.05, seed=4, times=1),
    FaultRule("drop", probability=0.05, seed=5, times=1),
    FaultRule("hang", probability=0.03, seed=6, times=1),
    FaultRule("truncated", probability=0.04, seed=7, times=1),
    FaultRule("bad_schema", probability=0.06, seed=8, times=1),
    FaultRule("foreign_number", probability=0.06, seed=9, times=1),
)
CAUSES = {
    "http_503": "InternalServerError",
    "hang": "Timeout",
    "drop": "Connection",
    "rate_limit": "RateLimit",
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> list[Path]:
    made = synthetic_reports(
        {stem: report_text(stem) for stem in REPORTS}, REPORT_COUNT, tag_paragraphs=True
    )
    made = [
        (name, with_injection(text, DEMANDED) if i in INJECTED else text)
        for i, (name, text) in enumerate(made)
    ]
    return write_reports(tmp_path_factory.mktemp("reports"), made)


def chunk_keys(path: Path) -> list[str]:
    """The server's key for each chunk of a report (a hash of the chunk text it is sent)."""
    return [chunk_key(c.text) for c in chunk_source(read_source(path), size=CHUNK_SIZE)]


def schedule_for(reports: list[Path]) -> FaultSchedule:
    forever = [
        FaultRule(f, keys=frozenset(chunk_keys(reports[i])))
        for i, f in (PERMANENT | BAD_ANSWERS).items()
    ]
    injected = frozenset(k for i in INJECTED for k in chunk_keys(reports[i]))
    partial = FaultRule("http_500", keys=frozenset(chunk_keys(reports[PARTIAL])[-1:]))
    return FaultSchedule.of(
        [*forever, partial, FaultRule("obey_injection", keys=injected), *TRANSIENT]
    )


def backend_for(server: ReplayServer, cache: Path | None) -> LLMBackend:
    return LLMBackend(
        model="replay", base_url=server.url, concurrency=CLIENT_CONCURRENCY, cache_dir=cache,
        use_cache=cache is not None, max_reasks=MAX_REASKS, timeout=TIMEOUT, retry=RETRY,
    )  # fmt: skip


def outcome(record) -> dict:
    """What a report's result says, without timings and usage (which retries change)."""
    if record.result is None:
        return {}
    dumped = record.result.model_dump(exclude={"usage", "source"})
    for figure in dumped["figures"]:  # a re-asked chunk lowers confidence (docs/confidence.md)
        figure["review"] = [r for r in figure["review"] if not r.startswith("reasked:")]
        figure.pop("confidence")
    return dumped


def with_results(summary: BatchSummary) -> BatchSummary:
    """The summary with its records' results, read from the journal as it is now."""
    return replace(summary, records=list(summary.full_records()))


@pytest.fixture(scope="module")
def runs(reports, tmp_path_factory):
    """The fault-free run, the faulty run, and the resumed run with faults switched off."""
    work = tmp_path_factory.mktemp("runs")
    with ReplayServer(mode="echo") as clean_server:
        clean = with_results(run_batch(reports, backend_for(clean_server, None),
                                       work / "clean.jsonl", concurrency=BATCH_CONCURRENCY,
                                       chunk_size=CHUNK_SIZE))  # fmt: skip
    server = ReplayServer(
        mode="echo", faults=schedule_for(reports), retry_after=0.02, hang_seconds=5
    )
    with server:
        backend = backend_for(server, work / "cache")
        faulty = run_batch(
            reports,
            backend,
            work / "faulty.jsonl",
            concurrency=BATCH_CONCURRENCY,
            chunk_size=CHUNK_SIZE,
        )
        faulty = with_results(faulty)  # read before the resumed run rewrites their lines
        faulty_stats = server.stats
        server.faults = FaultSchedule()
        server.reset_stats()
        resumed = run_batch(
            reports,
            backend,
            work / "faulty.jsonl",
            concurrency=BATCH_CONCURRENCY,
            chunk_size=CHUNK_SIZE,
        )
        resumed = with_results(resumed)
        resumed_stats = server.stats
    return {"clean": clean, "faulty": faulty, "faulty_stats": faulty_stats,
            "resumed": resumed, "resumed_stats": resumed_stats,
            "journal": work / "faulty.jsonl"}  # fmt: skip


def test_the_clean_run_is_all_ok_with_figures(runs):
    records = runs["clean"].records
    assert len(records) == REPORT_COUNT and all(r.status == "complete" for r in records)
    assert sum(len(r.result.figures) for r in records) >= REPORT_COUNT


def cut_reports(runs, reports) -> set[int]:
    """The reports the server sent at least one cut-off (truncated) answer for."""
    stats = runs["faulty_stats"]
    return {i for i, path in enumerate(reports) if "truncated" in faults_served(stats, path)}


def test_no_report_is_lost_and_only_the_failing_or_cut_ones_are_not_complete(runs, reports):
    """A cut-off answer is incomplete: its report is not complete (partial or failed), just
    like one whose requests failed for good."""
    records = runs["faulty"].records
    assert [r.source for r in records] == [str(p) for p in reports]
    not_ok = {i for i, r in enumerate(records) if r.status != "complete"}
    assert not_ok == set(PERMANENT) | {PARTIAL} | cut_reports(runs, reports)
    assert {i for i, r in enumerate(records) if r.status == "failed"} >= set(PERMANENT)
    assert records[PARTIAL].status == "partial"


def test_every_failure_is_recorded_per_chunk_with_its_cause(runs, reports):
    records = runs["faulty"].records
    for i, fault in PERMANENT.items():
        record = records[i]
        assert record.error_stage == "chunks" and CAUSES[fault] in record.error
        errors = record.result.chunk_errors
        assert errors and all(CAUSES[fault] in e for e in errors)
        assert len(errors) == len(chunk_keys(reports[i]))  # every chunk of it was scheduled to fail


def test_retries_are_bounded(runs, reports):
    stats = runs["faulty_stats"]
    per_chunk_bound = RETRY.attempts * (MAX_REASKS + 1)
    assert max(stats.attempts.values()) <= per_chunk_bound
    for i in PERMANENT:  # a request that never succeeds is tried exactly `attempts` times
        assert {stats.attempts[k] for k in chunk_keys(reports[i])} == {RETRY.attempts}
    transient_only = (
        set(range(REPORT_COUNT)) - set(PERMANENT) - set(BAD_ANSWERS) - set(INJECTED) - {PARTIAL}
    )
    keys = {k for i in transient_only for k in chunk_keys(reports[i])}
    assert max(stats.attempts[k] for k in keys) <= 3  # at most two faults in a row, then success
    assert stats.requests == sum(stats.attempts.values())


def test_the_schedule_really_hit_transient_faults(runs):
    served = runs["faulty_stats"].faults
    for rule in TRANSIENT:
        assert served[rule.fault] > 0, rule.fault


def faults_served(stats, path: Path) -> set[str]:
    keys = set(chunk_keys(path))
    return {fault for _, key, fault in stats.log if fault and key in keys}


def test_where_a_retry_succeeded_the_output_equals_the_fault_free_run(runs, reports):
    stats = runs["faulty_stats"]
    clean, faulty = runs["clean"].records, runs["faulty"].records
    special = set(PERMANENT) | set(BAD_ANSWERS) | set(INJECTED) | {PARTIAL}
    retried = 0
    for i, path in enumerate(reports):
        served = faults_served(stats, path)
        if i in special or "truncated" in served:
            continue
        assert outcome(faulty[i]) == outcome(clean[i]), path.name
        retried += bool(served)
    assert retried >= 15  # the comparison covers many reports that did need a retry or re-ask


def test_a_truncated_answer_is_a_chunk_error_and_says_what_was_lost(runs, reports):
    """A cut-off answer is not asked again within the run: what verified of it is kept, what was
    cut is said in ``rejected``, and the chunk is an error (so the next run asks again)."""
    faulty = runs["faulty"].records
    cut = cut_reports(runs, reports)
    assert len(cut) > 1 and BAD_ANSWERS_CUT in cut
    for i in cut:
        reasons = [r.reason for r in faulty[i].result.rejected if r.code == "model_gave_up"]
        assert any("finish_reason=length" in reason for reason in reasons), reports[i].name
        assert any("incomplete answer" in e for e in faulty[i].result.chunk_errors)


def test_bad_answers_never_reach_figures(runs, reports):
    faulty = runs["faulty"].records
    for i in (*BAD_ANSWERS, *INJECTED):
        result = faulty[i].result
        text = read_source(reports[i]).text
        assert all(f.quote in text and f.raw in f.quote for f in result.figures)
        assert result.rejected, f"{reports[i].name}: the bad answer left no rejection"
    for record in faulty:
        assert all(f.value != DEMANDED for f in (record.result.figures if record.result else []))
    injected_codes = {r.code for i in INJECTED for r in faulty[i].result.rejected}
    assert injected_codes & {"raw_not_in_quote", "value_mismatch"}


def test_the_partly_failed_report_keeps_its_good_chunk_and_records_the_bad_one(runs):
    record = runs["faulty"].records[PARTIAL]
    assert record.chunks == 2 and len(record.result.chunk_errors) == 1
    assert (
        record.result.chunk_errors[0].startswith("chunk 1:")
        and "InternalServerError" in record.error
    )
    assert record.result.figures and all(f.chunk == 0 for f in record.result.figures)


def test_a_resumed_run_redoes_only_the_failed_reports_and_then_matches(runs, reports):
    resumed = runs["resumed"]
    redone = set(PERMANENT) | {PARTIAL} | cut_reports(runs, reports)
    assert resumed.progress.skipped == REPORT_COUNT - len(redone)
    assert all(r.status == "complete" for r in resumed.records)
    clean = runs["clean"].records
    for i in redone:
        assert outcome(resumed.records[i]) == outcome(clean[i]), reports[i].name


def test_a_resumed_run_asks_only_for_the_chunks_that_failed(runs):
    """The chunks that succeeded in a failed report come from the cache, not the server."""
    failed_chunks = sum(
        len(r.result.chunk_errors) for r in runs["faulty"].records if r.status != "complete"
    )
    assert runs["resumed_stats"].requests == failed_chunks
