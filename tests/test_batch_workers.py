"""``run_batch(workers=N)`` / ``fazhi extract --workers N``: reports in forked processes.

Same records as one process, the journal correct with several writing processes, a worker
that hangs or dies costs only its report (model backends: tests/test_batch_workers_llm.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fazhi.backends.rules import RulesBackend
from fazhi.batch import find_inputs, run_batch
from fazhi.export import read_records
from tests.batch_fakes import EchoBackend, make_report_folder
from tests.test_faults_batch import _distinct_reports

FAZHI = [str(Path(sys.executable).parent / "fazhi")]
WAITS_ON = "启东"  # only qidong-2024 says it


def _comparable(records):
    return [(Path(r.source).name, r.status, r.error, r.result) for r in records]


def test_worker_processes_give_the_records_one_process_gives(tmp_path):
    inputs = find_inputs([str(make_report_folder(tmp_path / "reports"))])
    one = run_batch(inputs, RulesBackend(), tmp_path / "one.jsonl")
    two = run_batch(inputs, RulesBackend(), tmp_path / "two.jsonl", workers=2)
    assert _comparable(two.full_records()) == _comparable(one.full_records())
    assert len(read_records(tmp_path / "two.jsonl")) == len(two.records)
    again = run_batch(inputs, RulesBackend(), tmp_path / "two.jsonl", workers=2)
    complete = sum(r.status == "complete" for r in two.records)
    assert complete >= 1 and again.progress.skipped == complete  # resume reads what they did


def _children() -> int:
    """Processes whose parent is this one (Linux /proc)."""
    count = 0
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        count += fields[1] == str(os.getpid())  # the field after the state: the parent's pid
    return count


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_workers_are_forked_before_the_first_progress_update(tmp_path):
    # a progress display starts its thread on the first update; forking after it is unsafe
    inputs = find_inputs([str(make_report_folder(tmp_path / "reports"))])
    at_first_update: list[int] = []

    def on_progress(_progress):
        if not at_first_update:
            at_first_update.append(_children())

    run_batch(inputs, RulesBackend(), tmp_path / "out.jsonl", workers=2, on_progress=on_progress)
    assert at_first_update and at_first_update[0] >= 2


def test_the_backend_is_the_workers_own_copy(tmp_path):
    """Workers inherit the backend at the fork: its counters move in them, not here, and what
    comes back is the records."""
    inputs = find_inputs([str(make_report_folder(tmp_path / "reports"))])
    backend = EchoBackend()
    summary = run_batch(inputs, backend, tmp_path / "out.jsonl", workers=2)
    assert backend.report_calls == 0
    assert summary.progress.complete >= 1


class _Stuck(EchoBackend):
    """Waits far past the deadline on one report, or kills its worker process there."""

    def __init__(self, *, die: bool = False) -> None:
        super().__init__()
        self.die = die

    def answer(self, chunks, source):
        if WAITS_ON in source.text:
            if self.die:
                os._exit(3)  # a worker killed (out of memory, a signal)
            time.sleep(120)
        return super().answer(chunks, source)


def test_a_stuck_worker_is_cut_off_at_the_deadline(tmp_path):
    inputs = find_inputs([str(make_report_folder(tmp_path / "reports"))])
    started = time.monotonic()
    summary = run_batch(inputs, _Stuck(), tmp_path / "out.jsonl", workers=2, deadline=8)
    assert time.monotonic() - started < 30
    by_name = {Path(r.source).name: r for r in summary.records}
    assert by_name["qidong-2024.txt"].error_stage == "deadline"
    assert by_name["kunshan-2021.txt"].status == "complete"
    assert summary.abandoned == 1


def test_a_worker_that_dies_fails_its_report_and_the_others_go_on(tmp_path):
    inputs = find_inputs([str(make_report_folder(tmp_path / "reports"))])
    summary = run_batch(inputs, _Stuck(die=True), tmp_path / "out.jsonl", workers=2)
    by_name = {Path(r.source).name: r for r in summary.records}
    assert by_name["qidong-2024.txt"].status == "failed"
    assert "WorkerDied: worker process" in (by_name["qidong-2024.txt"].error or "")
    assert "exited (code 3)" in (by_name["qidong-2024.txt"].error or "")
    others = [r for name, r in by_name.items() if name != "qidong-2024.txt"]
    assert others and all("WorkerDied" not in (r.error or "") for r in others)
    assert len(read_records(tmp_path / "out.jsonl")) == len(summary.records)


def _extract(*args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [*FAZHI, "extract", "--backend", "rules", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_batches_with_workers_on_one_journal_lose_no_record(tmp_path):
    """Two processes, each with two workers, append to and compact one journal (flock)."""
    first = _distinct_reports(tmp_path / "a", 40, "a")
    second = _distinct_reports(tmp_path / "b", 40, "b")
    journal = tmp_path / "out.jsonl"
    runs = [_extract(tmp_path / name, "-o", journal, "--workers", "2") for name in ("a", "b")]
    for run in runs:
        assert run.wait(300) == 0, run.stderr.read() if run.stderr else ""
    records = read_records(journal)
    assert sorted(r.source for r in records) == sorted(str(p) for p in first + second)
    assert journal.read_bytes().count(b"\n") == len(records)  # every line whole and parsed


class _SlowOnOne(EchoBackend):
    def answer(self, chunks, source):
        if WAITS_ON in source.text:
            time.sleep(120)
        return super().answer(chunks, source)


def test_ctrl_c_with_workers_keeps_the_finished_and_stops_the_rest(tmp_path):
    reports = make_report_folder(tmp_path / "reports")
    journal = tmp_path / "out.jsonl"
    inputs = find_inputs([str(reports)])

    def interrupt_after_two(progress):
        if progress.finished >= 2:
            raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_batch(inputs, _SlowOnOne(), journal, workers=2, on_progress=interrupt_after_two)
    assert time.monotonic() - started < 30  # the stuck worker was not waited for
    recorded = read_records(journal)
    assert 2 <= len(recorded) < len(inputs)
    assert "qidong-2024.txt" not in {Path(r.source).name for r in recorded}
    run_batch(inputs, EchoBackend(), journal)  # resumes: every report once
    assert sorted(r.source for r in read_records(journal)) == sorted(map(str, inputs))
