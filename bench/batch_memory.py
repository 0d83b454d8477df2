"""Memory a batch keeps after ``run_batch``: Python allocations still held (tracemalloc) while
the caller holds the summary, for a small and a larger batch of synthetic reports (rules
backend), as KiB per report. Issue 18: the summary's records once carried every report's full
``Result``, so a 30,000-report batch grew the parent by gigabytes; now the results live in the
journal only (``BatchSummary.results()`` streams them back).

    python bench/batch_memory.py                     # 500 and 2,000 reports, ~2-4 minutes
    python bench/batch_memory.py --counts 100 400 --per-report 6
    python bench/batch_memory.py --kind corpus      # whole corpus reports: results ~50 KiB held
    python bench/batch_memory.py --kind corpus --workers 2   # this process, results pickled in

The reports come from ``fazhi.testing.synthetic`` (paragraphs of the corpus reports) or are
the corpus reports with a distinct last line: they measure the code, not extraction quality.
A warm-up batch first, so that imports and caches are not counted per report. Not a timed test.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import tracemalloc
from pathlib import Path

from fazhi.backends.rules import RulesBackend
from fazhi.batch import run_batch
from fazhi.testing.synthetic import synthetic_reports, write_reports

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "evals" / "corpus"


def make_reports(kind: str, count: int, per_report: int, folder: Path) -> list[Path]:
    """``count`` distinct reports: synthetic (a header and ``per_report`` corpus paragraphs)
    or whole corpus reports, each with a line of its own (its own bytes, its own identity)."""
    seeds = {p.stem: p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))}
    if kind == "synthetic":
        return write_reports(folder, synthetic_reports(seeds, count, per_report))
    texts = list(seeds.values())
    copies = [(f"copy-{i:05d}", f"{texts[i % len(texts)]}\n（副本{i}）\n") for i in range(count)]
    return write_reports(folder, copies)


def retained_after_batch(
    kind: str, count: int, per_report: int, folder: Path, workers: int = 1
) -> tuple[int, int, float]:
    """(bytes still allocated with the summary held, journal bytes, seconds) for ``count``
    reports."""
    paths = make_reports(kind, count, per_report, folder / "in")
    journal = folder / "out.jsonl"
    backend = RulesBackend()
    run_batch(paths[:5], backend, folder / "warm-up.jsonl")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    summary = run_batch(paths, backend, journal, resume=False, workers=workers)
    seconds = time.perf_counter() - started
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(summary.records) == count
    return held, journal.stat().st_size, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--per-report", type=int, default=4, help="paragraphs per report")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (run_batch)")
    parser.add_argument(
        "--kind", choices=["synthetic", "corpus"], default="synthetic", help="which reports"
    )
    args = parser.parse_args()
    held = {}
    for count in args.counts:
        with tempfile.TemporaryDirectory(prefix="fazhi-batch-memory-") as tmp:
            held[count], journal, seconds = retained_after_batch(
                args.kind, count, args.per_report, Path(tmp), args.workers
            )
        print(
            f"{count:>6} reports: {held[count] / 1024:9.0f} KiB held after run_batch, "
            f"{held[count] / count / 1024:6.2f} KiB per report "
            f"(journal {journal / count / 1024:.1f} KiB per report; {seconds:.0f} s)"
        )
    if len(held) >= 2:
        small, large = min(held), max(held)
        growth = (held[large] - held[small]) / (large - small) / 1024
        print(f"growth {small} -> {large}: {growth:.2f} KiB per added report")


if __name__ == "__main__":
    main()
