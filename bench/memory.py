"""Peak memory of one big report through ``fazhi extract`` (rules backend), as a multiple of
the input's size; ``--profile`` shows what holds the memory, stage by stage (tracemalloc).

The report is built by repeating the five corpus reports until it reaches ``--megabytes`` of
UTF-8. The peak is the child process's maximum resident set size (``os.wait4``), measured in
a fresh ``fazhi extract`` process, so it counts everything a user's run holds: the
interpreter and its imports, the text, the chunks, the verifier's index and the JSON written.
A run of one small corpus report gives the fixed cost of the interpreter and imports.

    python bench/memory.py                      # 20 MB, ~1-2 minutes on two cores
    python bench/memory.py --megabytes 5 --profile

Not a timed test: the figures depend on the machine and its load only a little (RSS), but a
run takes minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "evals" / "corpus"
FAZHI = str(Path(sys.executable).parent / "fazhi")
TARGET_RATIO = 10.0  # issue 19: peak RSS at most 10x the input for a 20 MB report


def build_report(path: Path, megabytes: float) -> int:
    """Repeat the corpus reports into ``path`` up to ``megabytes`` of UTF-8; returns bytes."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    limit, i = int(megabytes * 1_000_000), 0
    with path.open("w", encoding="utf-8") as out:
        while out.tell() < limit:
            out.write(texts[i % len(texts)])
            i += 1
    return path.stat().st_size


def peak_rss(report: Path, out: Path) -> tuple[int, float, int]:
    """(peak RSS bytes, seconds, exit code) of ``fazhi extract --backend rules report``."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [FAZHI, "extract", "--backend", "rules", str(report), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss * 1024, time.perf_counter() - started, child.returncode  # KiB


def measure(megabytes: float, folder: Path) -> None:
    big = folder / "big.txt"
    size = build_report(big, megabytes)
    base, _, _ = peak_rss(CORPUS / "kunshan-2021.txt", folder / "small.json")
    peak, seconds, code = peak_rss(big, folder / "big.json")
    mb = 1e6
    print(f"input                {size / mb:8.1f} MB  ({megabytes:g} MB asked; exit {code})")
    print(f"peak RSS, small run  {base / mb:8.1f} MB  (interpreter + imports + one report)")
    print(f"peak RSS, big run    {peak / mb:8.1f} MB  in {seconds:.0f} s")
    print(f"ratio peak / input   {peak / size:8.1f}x  (target <= {TARGET_RATIO:g}x)")
    print(f"ratio (peak - small run) / input {(peak - base) / size:.1f}x")


def profile(megabytes: float, folder: Path, top: int) -> None:
    """Python allocations held after each stage, and the lines holding the most at the end."""
    from fazhi.backends.rules import RulesBackend
    from fazhi.catalog import default_catalog
    from fazhi.chunking import chunk_source
    from fazhi.ingest import read_source, write_text_beside
    from fazhi.merge import merge
    from fazhi.pipeline import chunk_size_for
    from fazhi.verify import verify

    big = folder / "big.txt"
    size = build_report(big, megabytes)
    backend, catalog = RulesBackend(), default_catalog()
    tracemalloc.start(4)

    def stage(name: str) -> None:
        current, peak = tracemalloc.get_traced_memory()
        print(f"  {name:<14} held {current / size:5.1f}x  peak so far {peak / size:5.1f}x")

    print(f"profile of a {size / 1e6:.1f} MB report (Python allocations / input bytes):")
    source = read_source(big)
    stage("ingest")
    chunks = chunk_source(source, size=chunk_size_for(backend))
    stage("chunking")
    answers = backend.answer(chunks, source)
    stage("rules")
    draft = merge(answers, source=source.path, chunks=len(chunks))
    result = verify(draft, source, catalog, chunks=chunks)
    stage("merge+verify")
    text = result.model_dump_json(indent=2)
    write_text_beside(source, folder / "big.json")
    stage("json+beside")
    snapshot = tracemalloc.take_snapshot()
    print(f"lines holding the most at the end (top {top}):")
    for stat in snapshot.statistics("lineno")[:top]:
        frame = stat.traceback[0]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        print(f"  {stat.size / size:5.2f}x  {where:<28} {stat.count:>9} blocks")
    del text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=20.0)
    parser.add_argument("--profile", action="store_true", help="tracemalloc, stage by stage")
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fazhi-memory-") as tmp:
        if args.profile:
            profile(args.megabytes, Path(tmp), args.top)
        else:
            measure(args.megabytes, Path(tmp))


if __name__ == "__main__":
    main()
