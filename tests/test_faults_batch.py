"""Batch faults in real processes: two writers on one journal, Ctrl-C against a hanging server.

Each scenario runs ``fazhi extract`` as a subprocess, the way an operator would, and then checks
the journal it left: every report there once, every line complete.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fazhi.export.jsonl import read_records, repair
from tests.conftest import CORPUS, REPORTS

FAZHI = [str(Path(sys.executable).parent / "fazhi")]  # the installed console script


def _distinct_reports(folder: Path, count: int, tag: str) -> list[Path]:
    """``count`` corpus reports, each made distinct (its own bytes, so its own identity)."""
    folder.mkdir(parents=True)
    texts = [(CORPUS / f"{stem}.txt").read_text(encoding="utf-8") for stem in REPORTS]
    paths = []
    for i in range(count):
        path = folder / f"{tag}-{i:03d}.txt"
        path.write_text(f"{texts[i % len(texts)]}\n（{tag}副本{i}）\n", encoding="utf-8")
        paths.append(path)
    return paths


def _extract(*args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [*FAZHI, "extract", "--backend", "rules", "--concurrency", "1", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _seed_a_failed_line(report: Path, journal: Path) -> None:
    """The journal holds an earlier failed run of ``report``: redoing it makes the batch compact."""
    subprocess.run(
        [*FAZHI, "extract", "--backend", "rules", str(report), "-o", str(journal)],
        check=True,
        capture_output=True,
    )
    record = json.loads(journal.read_text(encoding="utf-8"))
    record.update(status="failed", error="an earlier failure", error_stage="extract", result=None)
    journal.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")


def _wait_for_lines(journal: Path, lines: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= lines:
            return
        time.sleep(0.05)


def test_two_batches_on_one_journal_lose_no_record(tmp_path):
    """A short batch compacts the journal while a long one is still appending to it."""
    short = _distinct_reports(tmp_path / "short", 4, "short")
    long = _distinct_reports(tmp_path / "long", 150, "long")
    journal = tmp_path / "out.jsonl"
    _seed_a_failed_line(short[0], journal)
    long_run = _extract(tmp_path / "long", "-o", journal)
    _wait_for_lines(journal, 6, long_run)
    short_run = _extract(tmp_path / "short", "-o", journal)
    assert short_run.wait(120) == 0, short_run.stderr.read() if short_run.stderr else ""
    assert long_run.poll() is None, "the long batch ended before the short one: no overlap"
    assert long_run.wait(300) == 0
    records = read_records(journal)
    assert sorted(r.source for r in records) == sorted(str(p) for p in short + long)
    assert all(r.status != "failed" for r in records)
    assert journal.read_bytes().endswith(b"\n")


# --- a hanging endpoint: Ctrl-C and --deadline -------------------------------------------------

HANGS_ON = "启东"  # only qidong-2024 (the second report in path order) says it
STOP_WITHIN_SECONDS = 5.0


def _corpus_copy(folder: Path) -> Path:
    folder.mkdir()
    for stem in REPORTS:
        shutil.copy(CORPUS / f"{stem}.txt", folder / f"{stem}.txt")
    return folder


def _llm_extract(folder: Path, journal: Path, url: str, tmp: Path, *extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-loopback",
        "FAZHI_CACHE_DIR": str(tmp / "cache"),
        "FAZHI_BACKEND": "llm",
        "FAZHI_MODEL": "replay",
        "FAZHI_LLM_STYLE": "quote",  # the echo server answers in the quote style
    }
    return subprocess.Popen(
        [*FAZHI, "extract", str(folder), "-o", str(journal), "--base-url", url,
         "--concurrency", "1", "--timeout", "600", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def _journal_is_consistent(journal: Path) -> list:
    """Every line a complete record, nothing torn; returns the records."""
    data = journal.read_bytes()
    records = read_records(journal)
    assert data.endswith(b"\n") and data.count(b"\n") == len(records)
    assert repair(journal) == 0
    return records


def _wait_until(condition, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out waiting"
        time.sleep(0.05)


def test_ctrl_c_against_a_hanging_server_stops_within_seconds_and_resumes(tmp_path):
    from fazhi.testing.faults import parse_schedule
    from fazhi.testing.replay_server import ReplayServer

    folder, journal = _corpus_copy(tmp_path / "reports"), tmp_path / "out.jsonl"
    hang = parse_schedule(f"hang:contains={HANGS_ON}")
    with ReplayServer(mode="echo", faults=hang, hang_seconds=300) as server:
        run = _llm_extract(folder, journal, server.url, tmp_path)
        _wait_until(lambda: server.stats.faults.get("hang", 0) >= 1 or run.poll() is not None)
        assert run.poll() is None, run.stderr.read() if run.stderr else ""
        sent = time.monotonic()
        run.send_signal(signal.SIGINT)
        try:
            code = run.wait(STOP_WITHIN_SECONDS + 10)
        except subprocess.TimeoutExpired:
            run.kill()
            pytest.fail("fazhi extract still running 15 s after Ctrl-C")
        stopped_after = time.monotonic() - sent
    stderr = run.stderr.read() if run.stderr else ""
    assert code == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert stopped_after < STOP_WITHIN_SECONDS
    records = _journal_is_consistent(journal)
    assert [Path(r.source).name for r in records] == [f"{REPORTS[0]}.txt"]  # before the hang
    with ReplayServer(mode="echo") as healthy:
        resumed = _llm_extract(folder, journal, healthy.url, tmp_path)
        assert resumed.wait(120) == 0, resumed.stderr.read() if resumed.stderr else ""
    records = _journal_is_consistent(journal)
    assert sorted(Path(r.source).stem for r in records) == sorted(REPORTS)
    assert all(r.status == "complete" for r in records)


def test_the_deadline_marks_what_is_left_failed_and_the_process_ends(tmp_path):
    from fazhi.testing.faults import parse_schedule
    from fazhi.testing.replay_server import ReplayServer

    folder, journal = _corpus_copy(tmp_path / "reports"), tmp_path / "out.jsonl"
    hang = parse_schedule(f"hang:contains={HANGS_ON}")
    with ReplayServer(mode="echo", faults=hang, hang_seconds=300) as server:
        started = time.monotonic()
        run = _llm_extract(folder, journal, server.url, tmp_path, "--deadline", "8")
        try:
            code = run.wait(60)
        except subprocess.TimeoutExpired:
            run.kill()
            pytest.fail("fazhi extract ran on 60 s after a deadline of 8 s")
        took = time.monotonic() - started
    stderr = run.stderr.read() if run.stderr else ""
    assert code == 1, stderr
    # the deadline plus start-up (imports take 10-30 s on a loaded 2-core machine), not the
    # 300 s hang
    assert took < 8 + 40
    records = {Path(r.source).stem: r for r in _journal_is_consistent(journal)}
    assert set(records) == set(REPORTS)
    assert records[REPORTS[0]].status == "complete"
    late = [r for r in records.values() if r.error_stage == "deadline"]
    assert records["qidong-2024"] in late
    assert all(r.status == "failed" and "deadline of 8 s" in r.error for r in late)
    assert "still running at the deadline" in stderr
