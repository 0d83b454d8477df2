"""Batch faults in real processes: two writers on one journal, Ctrl-C against a hanging server.

Each scenario runs ``fazhi extract`` as a subprocess, the way an operator would, and then checks
the journal it left: every report there once, every line complete.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from fazhi.export.jsonl import read_records
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
