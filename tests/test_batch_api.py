"""Batch API mode end to end against the replay server's /v1/files and /v1/batches, offline:
submit → poll → collect, a crash between submit and collect, failed lines re-submitted, expiry,
cancellation, re-asks as a second round, the shared cache, and the file format vLLM reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fazhi.backends.llm import LLMBackend
from fazhi.backends.llm_label import LabelBackend
from fazhi.batch import run_batch
from fazhi.batch_files import JobFolder
from fazhi.batch_jobs import BatchJob, JobOptions
from fazhi.export import jsonl
from fazhi.llm.batch_api import ProviderBatches
from fazhi.testing.batch_api import BatchBehaviour
from fazhi.testing.replay_server import ReplayServer
from tests.llm_faults_support import small_reports

STYLES = {"label": LabelBackend, "quote": LLMBackend}


def backend(server: ReplayServer, cache: Path, style: str = "label"):
    return STYLES[style]("replay", base_url=server.url, cache_dir=cache)


def job(tmp_path: Path, server: ReplayServer, reports, style="label", **options) -> BatchJob:
    engine = backend(server, tmp_path / "cache", style)
    provider = ProviderBatches(engine.endpoint)
    return BatchJob(reports, engine, tmp_path / "out.jsonl", provider, JobOptions(**options))


def results(journal: Path) -> dict[str, str]:
    """Each report's result without timing and usage: what must not depend on the transport."""
    found = {}
    for record in jsonl.latest_records(jsonl.read_records(journal)):
        assert record.result is not None
        found[Path(record.source).name] = record.result.model_dump_json(exclude={"usage"})
    return found


def statuses(journal: Path) -> dict[str, str]:
    return {
        Path(r.source).name: r.status for r in jsonl.latest_records(jsonl.read_records(journal))
    }


def no_sleep(_seconds: float) -> None:
    pass


@pytest.fixture
def reports(tmp_path):
    return small_reports(tmp_path / "reports", 4)


@pytest.mark.parametrize("style", ["label", "quote"])
def test_submit_poll_collect_gives_the_synchronous_results(tmp_path, reports, style):
    behaviour = BatchBehaviour(validating=0.05, running=0.05)
    with ReplayServer(mode="echo", batch=behaviour) as server:
        sync_journal = tmp_path / "sync.jsonl"
        run_batch(reports, backend(server, tmp_path / "sync-cache", style), sync_journal)
        server.reset_stats()
        seen: list[str] = []
        done = job(tmp_path, server, reports, style).run(
            poll=0.02, on_step=lambda step: seen.append(step.round.status if step.round else "")
        )
    assert done.outcome == "done"
    assert server.stats.requests == 0  # no synchronous chat call: every answer came by batch
    assert {"validating", "in_progress", "finalizing"} & set(seen)
    assert results(tmp_path / "out.jsonl") == results(sync_journal)
    assert set(statuses(tmp_path / "out.jsonl").values()) == {"complete"}


def test_a_process_killed_after_submit_is_picked_up_by_the_batch_id(tmp_path, reports):
    with ReplayServer(mode="echo", batch=BatchBehaviour(running=0.05)) as server:
        first = job(tmp_path, server, reports).advance(fresh=True)
        assert first.outcome == "submitted" and first.round is not None
        state = JobFolder(tmp_path / "out.jsonl").load_state()
        assert state.rounds[0].batch_id == first.round.batch_id  # written before returning
        # a new process: nothing in memory but the folder beside the journal
        done = job(tmp_path, server, reports).run(poll=0.02)
        batches = len(server.batches.batches)
    state = JobFolder(tmp_path / "out.jsonl").load_state()
    assert state.rounds[0].batch_id == first.round.batch_id and state.rounds[0].collected
    assert batches == len(state.rounds)  # the submitted batch was collected, not sent again
    assert done.outcome == "done"
    assert set(statuses(tmp_path / "out.jsonl").values()) == {"complete"}


def test_an_exception_between_upload_and_create_resumes_with_the_uploaded_file(
    tmp_path, reports, monkeypatch
):
    with ReplayServer(mode="echo") as server:
        crashing = job(tmp_path, server, reports)

        def refuse(*_args, **_kwargs):
            raise RuntimeError("killed here")

        monkeypatch.setattr(crashing.provider, "create", refuse)
        with pytest.raises(RuntimeError):
            crashing.advance(fresh=True)
        state = JobFolder(tmp_path / "out.jsonl").load_state()
        assert state.rounds[0].input_file_id and state.rounds[0].batch_id is None
        done = job(tmp_path, server, reports).run(poll=0.01)
        uploads = [i for i, _ in server.batches.files.values() if i["purpose"] == "batch"]
    rounds = JobFolder(tmp_path / "out.jsonl").load_state().rounds
    assert done.outcome == "done"
    assert len(uploads) == len(rounds)  # the file uploaded before the crash was used, once
    assert set(statuses(tmp_path / "out.jsonl").values()) == {"complete"}


def test_failed_lines_are_submitted_again_in_the_next_round(tmp_path, reports):
    with ReplayServer(mode="echo", batch=BatchBehaviour(fail_every=2, fail_times=1)) as server:
        done = job(tmp_path, server, reports, style="quote").run(poll=0.01)
        retried = [cid for cid, n in server.batches.seen.items() if n == 2]
    state = JobFolder(tmp_path / "out.jsonl").load_state()
    assert done.outcome == "done"
    assert len(state.rounds) == 2 and retried
    assert set(state.rounds[1].requests) == set(retried)
    assert set(statuses(tmp_path / "out.jsonl").values()) == {"complete"}


def test_lines_that_keep_failing_become_chunk_errors_and_partial_reports(tmp_path, reports):
    behaviour = BatchBehaviour(fail_every=3, fail_times=100)
    with ReplayServer(mode="echo", batch=behaviour) as server:
        done = job(tmp_path, server, reports, style="quote", max_attempts=2).run(poll=0.01)
    assert done.outcome == "done"
    records = jsonl.latest_records(jsonl.read_records(tmp_path / "out.jsonl"))
    assert len(records) == len(reports)  # every report has its line: nothing lost
    broken = [r for r in records if r.status != "complete"]
    assert broken and all(r.status in ("partial", "failed") for r in broken)
    errors = [e for r in broken for e in (r.result.chunk_errors if r.result else [])]
    assert any("injected line failure" in e and "failed 2x" in e for e in errors)


def test_an_expired_batch_keeps_its_answers_and_asks_for_the_rest(tmp_path, reports):
    behaviour = BatchBehaviour(expire_batches=1, expire_keep=2)
    with ReplayServer(mode="echo", batch=behaviour) as server:
        done = job(tmp_path, server, reports, style="quote").run(poll=0.01)
    state = JobFolder(tmp_path / "out.jsonl").load_state()
    assert done.outcome == "done"
    assert state.rounds[0].status == "expired" and state.rounds[1].status == "completed"
    assert len(state.rounds[1].requests) == len(state.rounds[0].requests) - 2
    assert set(statuses(tmp_path / "out.jsonl").values()) == {"complete"}


def test_a_cancelled_batch_is_asked_again_in_a_new_round(tmp_path, reports):
    with ReplayServer(mode="echo", batch=BatchBehaviour(running=30)) as server:
        first = job(tmp_path, server, reports)
        first.advance(fresh=True)
        assert first.cancel() is not None
        server.batches.behaviour.running = 0
        done = job(tmp_path, server, reports).run(poll=0.01)
    state = JobFolder(tmp_path / "out.jsonl").load_state()
    assert done.outcome == "done"
    assert state.rounds[0].status == "cancelled"
    assert set(state.rounds[1].requests) == set(state.rounds[0].requests)  # all asked again
    assert set(statuses(tmp_path / "out.jsonl").values()) == {"complete"}


@pytest.mark.parametrize("style", ["label", "quote"])
def test_an_answer_the_verifier_rejects_is_re_asked_in_a_second_round(tmp_path, reports, style):
    behaviour = BatchBehaviour(fault="foreign_number" if style == "quote" else "bad_schema")
    with ReplayServer(mode="echo", batch=behaviour) as server:
        done = job(tmp_path, server, reports, style).run(poll=0.01)
    state = JobFolder(tmp_path / "out.jsonl").load_state()
    assert done.outcome == "done" and len(state.rounds) >= 2
    second = JobFolder(tmp_path / "out.jsonl").round_file(2, "input").read_text(encoding="utf-8")
    roles = [[m["role"] for m in json.loads(x)["body"]["messages"]] for x in second.splitlines()]
    assert all("assistant" in r for r in roles)  # the re-ask: the answer and what was wrong
    assert set(statuses(tmp_path / "out.jsonl").values()) == {"complete"}


def test_batch_answers_fill_the_synchronous_cache(tmp_path, reports):
    with ReplayServer(mode="echo") as server:
        job(tmp_path, server, reports).run(poll=0.01)
        server.reset_stats()
        run_batch(reports, backend(server, tmp_path / "cache"), tmp_path / "again.jsonl")
    assert server.stats.requests == 0  # every answer came from the cache the batch filled
    assert results(tmp_path / "again.jsonl") == results(tmp_path / "out.jsonl")


def test_a_second_submit_of_a_done_job_sends_nothing(tmp_path, reports):
    with ReplayServer(mode="echo") as server:
        job(tmp_path, server, reports).run(poll=0.01)
        before = len(server.batches.batches)
        again = job(tmp_path, server, reports).advance(fresh=True)
        after = len(server.batches.batches)
    assert again.outcome == "done" and after == before


def test_more_requests_than_one_batch_takes_go_in_the_next_batch(tmp_path, reports):
    with ReplayServer(mode="echo") as server:
        done = job(tmp_path, server, reports, style="quote", max_batch_requests=3).run(poll=0.01)
    rounds = JobFolder(tmp_path / "out.jsonl").load_state().rounds
    assert done.outcome == "done"
    assert all(len(r.requests) <= 3 for r in rounds) and rounds[0].overflow
    assert sum(not r.overflow for r in rounds) <= JobOptions().max_rounds
    assert set(statuses(tmp_path / "out.jsonl").values()) == {"complete"}


def test_a_batch_that_failed_as_a_whole_is_submitted_again(tmp_path, reports):
    with ReplayServer(mode="echo", batch=BatchBehaviour(fail_batches=1)) as server:
        done = job(tmp_path, server, reports).run(poll=0.01)
    state = JobFolder(tmp_path / "out.jsonl").load_state()
    assert done.outcome == "done"
    assert state.rounds[0].status == "failed"
    assert set(state.rounds[1].requests) == set(state.rounds[0].requests)
    assert set(statuses(tmp_path / "out.jsonl").values()) == {"complete"}


def test_hybrid_through_the_batch_gives_the_synchronous_hybrid_results(tmp_path, reports):
    from fazhi.backends.hybrid import HybridBackend
    from fazhi.backends.rules import RulesBackend

    with ReplayServer(mode="echo") as server:
        sync = HybridBackend(RulesBackend(), backend(server, tmp_path / "sync-cache"))
        run_batch(reports, sync, tmp_path / "sync.jsonl")
        hybrid = HybridBackend(RulesBackend(), backend(server, tmp_path / "cache"))
        provider = ProviderBatches(hybrid.llm.endpoint)
        done = BatchJob(reports, hybrid, tmp_path / "out.jsonl", provider).run(poll=0.01)
    assert done.outcome == "done"
    assert results(tmp_path / "out.jsonl") == results(tmp_path / "sync.jsonl")
