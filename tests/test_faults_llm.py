"""Faults around LLM calls that must not lose data or hang: cut-off and given-up answers, dead
endpoints and the circuit breaker. Every scenario runs against a loopback replay server or stub
(hand-scripted or synthetic echo answers, NOT a model). Corrupt caches: test_llm_cache_corrupt;
secrets in URLs: test_llm_secrets."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest

from fazhi.backends.llm import LLMBackend
from fazhi.batch import BatchSummary, run_batch
from fazhi.chunking import chunk_source
from fazhi.ingest import read_source
from fazhi.llm.client import RetryPolicy
from fazhi.llm.reachability import CircuitBreaker, EndpointUnreachable, connection_failure
from fazhi.llm.retries import with_retries
from fazhi.testing.faults import FaultRule, FaultSchedule
from fazhi.testing.replay_server import ReplayServer
from fazhi.testing.responders import chunk_key
from tests import llm_synthetic as synthetic
from tests.llm_faults_support import closed_url, in_process, small_reports
from tests.llm_stub import answer, completion, reply, running_stub

CHUNK_SIZE = 500
FAST_RETRY = RetryPolicy(attempts=3, initial=0.01, maximum=0.05)


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


def with_results(summary: BatchSummary) -> BatchSummary:
    """The summary with its records' results, read from the journal as it is now."""
    return replace(summary, records=list(summary.full_records()))


def test_truncation_then_rerun_recovers_the_figures(tmp_path):
    """Fault-suite scenario "truncation-then-rerun": the replay server cuts every chunk of two
    reports once; those reports are not complete, and a rerun against the healthy server
    re-asks just those chunks and ends equal to a fault-free run."""
    reports = small_reports(tmp_path / "reports", 6)
    cut_reports = (1, 4)
    keys = {chunk_key(c.text) for i in cut_reports for c in _chunks(reports[i])}
    with ReplayServer(mode="echo") as clean_server:
        clean_backend = replay_backend(clean_server.url, None)
        clean = with_results(
            run_batch(reports, clean_backend, tmp_path / "clean.jsonl", chunk_size=CHUNK_SIZE)
        )
    faults = FaultSchedule.of([FaultRule("truncated", keys=frozenset(keys))])
    with ReplayServer(mode="echo", faults=faults) as server:
        backend = replay_backend(server.url, tmp_path / "cache")
        journal = tmp_path / "run.jsonl"
        first = with_results(run_batch(reports, backend, journal, chunk_size=CHUNK_SIZE))
        server.faults = FaultSchedule()
        server.reset_stats()
        rerun = with_results(run_batch(reports, backend, journal, chunk_size=CHUNK_SIZE))
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


# --- 2. a dead endpoint fails fast, and a circuit breaker stops asking it ----------------------


class Sleeps(list):
    async def __call__(self, seconds):
        self.append(seconds)


def dead_backend(url: str, sleeps: Sleeps, **options) -> LLMBackend:
    retry = RetryPolicy(attempts=5, sleep=sleeps)
    options = {"use_cache": False, "concurrency": 1, **options}
    return LLMBackend(model="m", base_url=url, retry=retry, **options)


def test_a_refused_connection_is_not_retried_and_the_error_names_the_url():
    sleeps, url = Sleeps(), closed_url()
    started = time.perf_counter()
    [failed] = dead_backend(url, sleeps).answer(synthetic.chunks((0,)), synthetic.source())
    assert sleeps == []  # no backoff: not a single retry
    assert failed.error == f"EndpointUnreachable: endpoint {url} unreachable: connection refused"
    assert time.perf_counter() - started < 10  # a sanity bound: the sleeps above are the proof


def test_a_failed_dns_lookup_is_not_retried_and_names_the_url(monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    sleeps, url = Sleeps(), "https://llm.example.invalid/v1"
    [failed] = dead_backend(url, sleeps).answer(synthetic.chunks((0,)), synthetic.source())
    assert sleeps == [] and failed.error.endswith(f"{url} unreachable: DNS lookup failed")


def test_transient_failures_are_still_retried_and_the_retry_line_names_the_url(caplog):
    sleeps = Sleeps()
    script = [reply(503, {"error": {"message": "busy"}}), answer([synthetic.MEDIATION])]
    with running_stub(script) as stub:
        [ok] = dead_backend(stub.url, sleeps).answer(synthetic.chunks((1,)), synthetic.source())
    assert ok.error is None and len(sleeps) == 1
    assert any(stub.url in r.getMessage() for r in caplog.records if "retry" in r.getMessage())


def test_connection_failures_are_told_apart_from_other_transport_errors():
    class ConnectTimeout(Exception):  # the HTTP layer's class is recognised by its name
        pass

    def chained(outer: Exception, cause: BaseException) -> Exception:
        outer.__cause__ = cause
        return outer

    refused = chained(RuntimeError("Connection error."), ConnectionRefusedError(111, "refused"))
    assert connection_failure(refused) == ("connection refused", False)
    assert connection_failure(chained(RuntimeError(), ConnectTimeout())) == (
        "connect timeout",
        True,
    )
    assert connection_failure(chained(RuntimeError(), ConnectionResetError())) is None
    assert connection_failure(ValueError("a 4xx of our own")) is None


def test_the_circuit_breaker_opens_after_n_consecutive_failures_and_a_success_resets_it():
    breaker = CircuitBreaker("http://127.0.0.1:1/v1", threshold=3)
    breaker.failed("connection refused")
    breaker.failed("connection refused")
    breaker.connected()
    breaker.failed("connection refused")
    breaker.failed("connection refused")
    breaker.check()  # two in a row since the success: still closed
    breaker.failed("connection refused")
    with pytest.raises(EndpointUnreachable, match="circuit open after 3 failures"):
        breaker.check()
    with pytest.raises(ValueError):
        CircuitBreaker("http://127.0.0.1:1/v1", threshold=0)


def test_after_n_refusals_the_remaining_chunks_fail_at_once_with_the_reason():
    url, chunks = closed_url(), synthetic.chunks() * 4  # eight chunks
    chunks = [c.model_copy(update={"index": i}) for i, c in enumerate(chunks)]
    backend = dead_backend(url, Sleeps(), breaker_after=3)
    answers = backend.answer(chunks, synthetic.source())
    errors = [a.error for a in answers]
    assert all(e.endswith("unreachable: connection refused") for e in errors[:3])
    open_reason = f"endpoint {url} unreachable: circuit open after 3 failures (connection refused)"
    assert all(e.endswith(open_reason) for e in errors[3:])


def test_a_batch_against_a_dead_endpoint_fails_every_report_fast_with_the_reason(tmp_path):
    """Eight reports against a closed port (the red-team pass measured 177 s to fail)."""
    reports, url = small_reports(tmp_path / "reports", 8), closed_url()
    backend = dead_backend(url, Sleeps(), concurrency=2)
    started = time.perf_counter()
    summary = run_batch(reports, backend, tmp_path / "out.jsonl", concurrency=2)
    seconds = time.perf_counter() - started
    assert [r.status for r in summary.records] == ["failed"] * 8
    assert all(f"endpoint {url} unreachable" in r.error for r in summary.records)
    refused = sum(r.error.endswith("connection refused") for r in summary.records)
    assert 5 <= refused <= 5 + 3  # the default threshold, plus requests already in flight
    assert all(
        r.error.endswith(("connection refused", "(connection refused)")) for r in summary.records
    )
    assert any("circuit open after 5 failures" in r.error for r in summary.records)
    assert seconds < 10, f"{seconds:.1f} s to fail against a closed port"


@pytest.mark.parametrize("style", ["label", "quote"])
def test_the_breaker_threshold_is_a_flag_of_fazhi_extract(tmp_path, monkeypatch, style):
    """Both LLM styles share the breaker: with --breaker-after 1 the first report meets the
    refusal, the others fail at once without a request."""
    monkeypatch.chdir(tmp_path)  # no fazhi.toml of the caller's
    small_reports(tmp_path / "reports", 3)
    url, journal = closed_url(), tmp_path / "out.jsonl"
    done = in_process("extract", str(tmp_path / "reports"), "--backend", "llm", "--model", "m",
                      "--llm-style", style, "--base-url", url, "--breaker-after", "1",
                      "--concurrency", "1", "--no-cache", "-o", str(journal))  # fmt: skip
    assert done.exit_code == 1, done.output
    records = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    errors = sorted(e for r in records for e in r["result"]["chunk_errors"])
    assert len(errors) == 3
    assert sum(e.endswith(f"{url} unreachable: connection refused") for e in errors) == 1
    assert sum("circuit open after 1 failures (connection refused)" in e for e in errors) == 2


def test_any_http_answer_resets_the_breaker_and_refusals_in_a_row_open_it():
    """The wiring: a refusal counts, a 503 (the server answered) resets the count."""
    import asyncio

    import openai

    def refused() -> Exception:
        error = openai.APIConnectionError(request=None)  # type: ignore[arg-type]
        error.__cause__ = ConnectionRefusedError(111, "Connect call failed")
        return error

    class Busy(openai.APIStatusError):
        def __init__(self):
            Exception.__init__(self, "busy")
            self.status_code = 503

    outcomes = [refused(), Busy(), refused(), refused(), "ok"]

    async def create(**_):
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    breaker = CircuitBreaker("http://127.0.0.1:1/v1", threshold=2)
    ask = with_retries(create, RetryPolicy(attempts=1), url=breaker.url, breaker=breaker)

    async def five_requests() -> list[str]:
        seen = []
        for _ in range(5):
            try:
                seen.append(await ask())
            except Exception as exc:
                seen.append(type(exc).__name__)
        return seen

    seen = asyncio.run(five_requests())
    assert seen == ["EndpointUnreachable", "Busy", "EndpointUnreachable", "EndpointUnreachable",
                    "EndpointUnreachable"]  # fmt: skip
    assert breaker.opened and outcomes == ["ok"]  # the fifth request was never sent


def test_a_wrong_url_or_key_opens_the_breaker_too_and_every_error_names_the_url():
    """401/403/404 would be the answer to every later request as well: they count like a
    refusal, and each chunk's error line names the endpoint."""
    chunks = [c.model_copy(update={"index": i}) for i, c in enumerate(synthetic.chunks() * 2)]
    not_found = reply(404, {"error": {"message": "no such route"}})
    with running_stub([not_found] * 10) as stub:
        backend = dead_backend(stub.url, Sleeps(), breaker_after=2)
        errors = [a.error for a in backend.answer(chunks, synthetic.source())]
        asked = len(stub.requests)
    assert asked == 2  # then the breaker opened
    assert errors[0].startswith(f"NotFoundError from {stub.url}: Error code: 404")
    assert all("circuit open after 2 failures (HTTP 404)" in e for e in errors[2:])


def test_in_label_style_an_answer_that_is_never_json_is_a_chunk_error_and_asked_again(tmp_path):
    """The CLI's default style: a non-JSON answer after the re-asks makes the chunk incomplete
    (not a silent empty answer that a rerun would skip), and is not cached."""
    from fazhi.backends.llm_label import LabelBackend

    source, prose = synthetic.source(), reply(200, completion(synthetic.PROSE))
    with running_stub([]) as stub:
        stub.responder = lambda body: prose  # every request, first runs and reruns alike
        backend = LabelBackend(model="m", base_url=stub.url, cache_dir=tmp_path, max_reasks=1)
        chunks = chunk_source(source, size=backend.preferred_chunk_size)
        answers = backend.answer(chunks, source)
        assert [a.error for a in answers] == [
            "model_gave_up: an answer was not JSON after the re-asks"
        ]
        backend.answer(chunks, source)
    assert len(stub.requests) == 2 + 2  # asked again: nothing was cached
