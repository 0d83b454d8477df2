"""A rules batch end to end -- files read, indexed, extracted, journalled -- in one process and
in ``--workers`` processes: reports per second and the speed-up.

The reports are the eval corpus copied with a distinct last line each (so every copy is its own
report, as in a real corpus of many localities and years), run through ``batch.run_batch`` as
``fazhi extract DIR -o OUT.jsonl --backend rules --workers N`` runs them. Wall clock, once each,
after one warm-up run; on a shared machine the speed-up says how much a second core gave.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fazhi.backends.rules import RulesBackend
from fazhi.batch import run_batch

HEADER = ["workers", "reports", "characters", "wall time", "reports/s", "speed-up",
          "CPU, this process", "CPU, worker processes", "failed"]  # fmt: skip


def distinct_copies(corpus: Path, folder: Path, count: int) -> list[Path]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"copy-{i:04d}.txt"
        path.write_text(f"{texts[i % len(texts)]}\n（副本{i}）\n", encoding="utf-8")
        paths.append(path)
    return paths


@dataclass
class WorkersRun:
    workers: int
    reports: int
    characters: int
    seconds: float
    failed: int
    cpu_here: float  # CPU seconds of this process (the journal writer, and the work at 1)
    cpu_workers: float  # CPU seconds of the worker processes

    def cells(self, base: float) -> list[str]:
        rate = self.reports / self.seconds
        return [str(self.workers), str(self.reports), f"{self.characters:,}",
                f"{self.seconds:.2f} s", f"{rate:,.1f}", f"{base / self.seconds:.2f}×",
                f"{self.cpu_here:.2f} s", f"{self.cpu_workers:.2f} s",
                str(self.failed)]  # fmt: skip


def workers_runs(corpus: Path, count: int, levels: tuple[int, ...]) -> list[WorkersRun]:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = distinct_copies(corpus, Path(tmp) / "reports", count)
        characters = sum(len(p.read_text(encoding="utf-8")) for p in paths)
        run_batch(paths[: len(levels) * 2], RulesBackend(), Path(tmp) / "warm.jsonl")
        for workers in levels:
            journal = Path(tmp) / f"out-{workers}.jsonl"
            before, started = os.times(), time.perf_counter()
            summary = run_batch(paths, RulesBackend(), journal, workers=workers)
            seconds, after = time.perf_counter() - started, os.times()
            failed = sum(r.status != "complete" for r in summary.records)
            here = after.user + after.system - before.user - before.system
            children = max(0.0, (
                after.children_user + after.children_system
                - before.children_user - before.children_system
            ))  # fmt: skip
            runs.append(
                WorkersRun(workers, len(paths), characters, seconds, failed, here, children)
            )
    return runs


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
