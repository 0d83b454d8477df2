"""``fazhi extract --backend llm --workers N``: a model batch split across worker processes.

Against the loopback echo server (not a model): the same journal records as one process, the
disk cache shared, a worker killed from outside costs only the reports it was running (recorded
failed, run again on resume), the deadline and Ctrl-C still stop it, and bad combinations are
one line and exit 2.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fazhi.backends.llm import LLMBackend
from fazhi.batch import check_workers, run_batch, split_concurrency
from fazhi.errors import FazhiError
from fazhi.export import read_records
from fazhi.llm.client import RetryPolicy
from fazhi.testing.faults import parse_schedule
from fazhi.testing.replay_server import ReplayServer
from fazhi.workers import ProcessPool
from tests.test_faults_batch import _distinct_reports

FAZHI = [str(Path(sys.executable).parent / "fazhi")]
CHUNK_SIZE = 4000  # two or three chunks a corpus report: few calls, still several per report
MARK = "副本5）"  # the last line of report 5 of _distinct_reports(..., "r")


def _backend(url: str, cache: Path | None = None, **kwargs) -> LLMBackend:
    return LLMBackend(
        model="replay", base_url=url, cache_dir=cache, use_cache=cache is not None, timeout=60,
        retry=RetryPolicy(attempts=1), **kwargs,
    )  # fmt: skip


def _comparable(records) -> list[tuple]:
    """Records less what differs between two runs of the same work (times), by report."""
    return sorted(
        (Path(r.source).name, r.status, r.error, r.chunks, r.usage,
         r.result.model_dump_json() if r.result else None)
        for r in records
    )  # fmt: skip


def test_the_concurrency_is_split_across_the_workers():
    assert split_concurrency(64, 2) == [32, 32]
    assert split_concurrency(5, 2) == [3, 2]
    assert split_concurrency(1, 2) == [1, 1]  # run_batch's floor; the CLI refuses it
    with pytest.raises(FazhiError, match="--concurrency 4 or more"):
        check_workers(4, 2, _backend("http://127.0.0.1:9/v1"))


def test_two_workers_give_the_journal_one_process_gives(tmp_path):
    paths = _distinct_reports(tmp_path / "reports", 12, "r")
    with ReplayServer(mode="echo") as server:
        one = run_batch(paths, _backend(server.url), tmp_path / "one.jsonl", concurrency=4,
                        chunk_size=CHUNK_SIZE)  # fmt: skip
        calls_one = server.stats.requests
        two = run_batch(paths, _backend(server.url), tmp_path / "two.jsonl", concurrency=4,
                        chunk_size=CHUNK_SIZE, workers=2)  # fmt: skip
        calls_two = server.stats.requests - calls_one
    assert all(r.status == "complete" for r in one.records)
    assert _comparable(two.full_records()) == _comparable(one.full_records())
    assert _comparable(read_records(tmp_path / "two.jsonl")) == _comparable(
        read_records(tmp_path / "one.jsonl")
    )
    assert calls_two == calls_one > len(paths)
    assert sorted(Path(tmp_path / "two.sources").iterdir()) != []  # written by this process


def test_the_workers_share_one_disk_cache(tmp_path):
    paths = _distinct_reports(tmp_path / "reports", 6, "r")
    cache = tmp_path / "cache"
    with ReplayServer(mode="echo") as server:
        first = run_batch(paths, _backend(server.url, cache), tmp_path / "a.jsonl",
                          concurrency=4, chunk_size=CHUNK_SIZE, workers=2)  # fmt: skip
        asked = server.stats.requests
        again = run_batch(paths, _backend(server.url, cache), tmp_path / "b.jsonl",
                          concurrency=4, chunk_size=CHUNK_SIZE, workers=2)  # fmt: skip
        assert server.stats.requests == asked > 0  # every answer came from the other run's cache
    assert [r.usage.cached for r in again.records] == [r.chunks for r in first.records]

    def results(summary):  # the same answers; only the usage says where they came from
        return [r.model_dump(exclude={"usage"}) for r in summary.results()]

    assert results(again) == results(first) and len(results(first)) == len(paths)


class _WaitsOnOne(LLMBackend):
    """Says which worker process runs the marked report, then waits there to be killed."""

    def __init__(self, *args, pid_file: Path, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pid_file = pid_file

    def answer(self, chunks, source):
        if MARK in source.text:
            self.pid_file.write_text(str(os.getpid()))
            time.sleep(120)
        return super().answer(chunks, source)


def _kill_when_written(pid_file: Path) -> threading.Thread:
    def kill() -> None:
        end = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < end:
            time.sleep(0.05)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_killed_worker_fails_the_reports_it_ran_and_resume_redoes_them(tmp_path):
    paths = _distinct_reports(tmp_path / "reports", 12, "r")
    journal, pid_file = tmp_path / "out.jsonl", tmp_path / "pid"
    with ReplayServer(mode="echo", latency=0.05) as server:
        backend = _WaitsOnOne(model="replay", base_url=server.url, use_cache=False,
                              pid_file=pid_file, retry=RetryPolicy(attempts=1))  # fmt: skip
        killer = _kill_when_written(pid_file)
        started = time.monotonic()
        summary = run_batch(paths, backend, journal, concurrency=4, chunk_size=CHUNK_SIZE,
                            workers=2)  # fmt: skip
        killer.join(5)
        assert time.monotonic() - started < 60  # not the 120 s the killed report would wait
        by_name = {Path(r.source).name: r for r in summary.records}
        lost = by_name["r-005.txt"]
        assert lost.status == "failed" and "killed by SIGKILL" in (lost.error or "")
        failed = [r for r in summary.records if r.status == "failed"]
        assert all("WorkerDied" in (r.error or "") for r in failed)
        assert len(failed) <= 2  # only what that worker had in flight (2 of the 4)
        assert summary.progress.complete == len(paths) - len(failed)
        assert sorted(r.source for r in read_records(journal)) == sorted(map(str, paths))
        resumed = run_batch(paths, _backend(server.url), journal, concurrency=4,
                            chunk_size=CHUNK_SIZE, workers=2)  # fmt: skip
    assert resumed.progress.skipped == len(paths) - len(failed)
    assert all(r.status == "complete" for r in read_records(journal))


def test_the_deadline_cuts_off_a_worker_hung_in_a_model_call(tmp_path):
    paths = _distinct_reports(tmp_path / "reports", 8, "r")
    hang = parse_schedule(f"hang:contains={MARK}")
    with ReplayServer(mode="echo", faults=hang, hang_seconds=120) as server:
        started = time.monotonic()
        summary = run_batch(paths, _backend(server.url), tmp_path / "out.jsonl", concurrency=4,
                            chunk_size=CHUNK_SIZE, workers=2, deadline=6)  # fmt: skip
        took = time.monotonic() - started
    by_name = {Path(r.source).name: r for r in summary.records}
    assert took < 25
    assert by_name["r-005.txt"].error_stage == "deadline"
    assert sum(r.status == "complete" for r in summary.records) == len(paths) - 1
    assert summary.abandoned == 1


def test_pool_threads_run_a_workers_jobs_at_once():
    pool = ProcessPool(2, threads=2)
    futures = [pool.submit(_sleep_and_say_when, 1.0) for _ in range(4)]
    runs = [f.result(timeout=60) for f in futures]
    pool.shutdown()
    by_pid: dict[int, list[tuple[float, float]]] = {}
    for pid, start, end in runs:
        by_pid.setdefault(pid, []).append((start, end))
    assert set(by_pid) == set(pool.pids()) and len(by_pid) == 2
    for (first_start, first_end), (second_start, second_end) in by_pid.values():
        assert first_start < second_end and second_start < first_end  # they overlapped


def _sleep_and_say_when(seconds: float) -> tuple[int, float, float]:
    start = time.time()
    time.sleep(seconds)
    return os.getpid(), start, time.time()


def test_a_job_that_raises_or_returns_what_cannot_pickle_fails_only_itself():
    pool = ProcessPool(2)
    raises = pool.submit(int, "not a number")
    unpicklable = pool.submit(threading.Lock)
    fine = pool.submit(abs, -3)
    assert isinstance(raises.exception(timeout=60), ValueError)
    assert "could not be sent back" in str(unpicklable.exception(timeout=60))
    assert fine.result(timeout=60) == 3
    pool.shutdown()


def _llm_extract(folder: Path, journal: Path, url: str, tmp: Path, *extra: str):
    env = {**os.environ, "OPENAI_API_KEY": "sk-loopback", "FAZHI_CACHE_DIR": str(tmp / "cache")}
    return subprocess.Popen(
        [*FAZHI, "extract", str(folder), "-o", str(journal), "--backend", "llm", "--model",
         "replay", "--llm-style", "quote", "--base-url", url, "--chunk-size", str(CHUNK_SIZE),
         *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with open(task / "children") as listing:
            found |= {int(child) for child in listing.read().split()}
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # ended, not yet reaped by whoever adopted it


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_ctrl_c_stops_the_workers_too(tmp_path):
    folder = tmp_path / "reports"
    _distinct_reports(folder, 8, "r")
    journal = tmp_path / "out.jsonl"
    hang = parse_schedule(f"hang:contains={MARK}")
    with ReplayServer(mode="echo", faults=hang, hang_seconds=300) as server:
        run = _llm_extract(folder, journal, server.url, tmp_path, "--workers", "2",
                           "--concurrency", "4", "--timeout", "600")  # fmt: skip
        end = time.monotonic() + 60
        while not server.stats.faults.get("hang") and run.poll() is None:
            assert time.monotonic() < end, "the hang never came"
            time.sleep(0.05)
        workers = _children(run.pid)
        assert len(workers) == 2, workers
        sent = time.monotonic()
        run.send_signal(signal.SIGINT)
        code = run.wait(30)
        stopped_after = time.monotonic() - sent
    stderr = run.stderr.read() if run.stderr else ""
    assert code == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert stopped_after < 10
    end = time.monotonic() + 10
    while not all(map(_gone, workers)):
        assert time.monotonic() < end, "a worker process outlived the batch"
        time.sleep(0.1)
    assert "r-005.txt" not in {Path(r.source).name for r in read_records(journal)}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_workers_end_when_the_batch_process_is_killed(tmp_path):
    """SIGKILL leaves the parent no chance to stop them: the end of their job pipe does."""
    folder = tmp_path / "reports"
    _distinct_reports(folder, 8, "r")
    hang = parse_schedule(f"hang:contains={MARK}")
    with ReplayServer(mode="echo", faults=hang, hang_seconds=300) as server:
        run = _llm_extract(folder, tmp_path / "out.jsonl", server.url, tmp_path, "--workers",
                           "2", "--concurrency", "4", "--timeout", "600")  # fmt: skip
        end = time.monotonic() + 60
        while not server.stats.faults.get("hang") and run.poll() is None:
            assert time.monotonic() < end, "the hang never came"
            time.sleep(0.05)
        workers = _children(run.pid)
        assert len(workers) == 2, workers
        run.kill()
        run.wait(30)
        end = time.monotonic() + 10
        while not all(map(_gone, workers)):
            assert time.monotonic() < end, "a worker process outlived its killed parent"
            time.sleep(0.1)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--workers", "4", "--concurrency", "2"], "--workers 4 with --concurrency 2"),
        (["--workers", "2", "ONE"], "--workers 2: one report runs in one process"),
    ],
)
def test_bad_worker_combinations_are_one_line_and_exit_2(tmp_path, args, says):
    folder = tmp_path / "reports"
    paths = _distinct_reports(folder, 3, "r")
    target = [str(paths[0]), "-o", str(tmp_path / "one.json")] if "ONE" in args else [
        str(folder), "-o", str(tmp_path / "out.jsonl")]  # fmt: skip
    run = subprocess.run(
        [*FAZHI, "extract", *target, "--backend", "llm", "--model", "m", "--base-url",
         "http://127.0.0.1:9/v1", *[a for a in args if a != "ONE"]],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert says in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert not any(tmp_path.glob("out.jsonl*")) and not (tmp_path / "one.json").exists()
