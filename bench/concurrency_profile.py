"""Where one process's CPU goes in a model batch at high concurrency (label style, echo server).

    .venv/bin/python bench/concurrency_profile.py [--concurrency 64] [--reports 256]

Runs the concurrency section's batch twice in this process (the same reports) and prints:

- run 1, not profiled: CPU seconds of the event loop's thread and of the main thread (the
  journal writer), read from ``/proc`` (Linux), the rest of the process's CPU (the report
  threads, which have ended when it is read), each also per model call;
- run 2: a cProfile of the event loop's thread (every call's HTTP, openai and instructor work
  runs there), its own time summed by package: fazhi, openai, instructor, httpx ...
  (cProfile slows the code down about 2x: the shares are the reading, not the seconds).
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import ServerProcess, _backend  # noqa: E402

from fazhi.batch import run_batch  # noqa: E402
from fazhi.ingest import read_source  # noqa: E402
from fazhi.llm.loop import shared_loop  # noqa: E402
from fazhi.resources import data_dir  # noqa: E402
from fazhi.testing.synthetic import synthetic_reports, write_reports  # noqa: E402

LATENCY = 0.3
CHUNK_SIZE = 500  # as bench/run.py's concurrency section


def thread_cpu() -> collections.Counter:
    """CPU seconds of this process's live threads, by thread name without its number."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    ticks = os.sysconf("SC_CLK_TCK")
    spent: collections.Counter = collections.Counter()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{task}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        name = names.get(int(task), "ended")
        spent[name.rstrip("0123456789").rstrip("-")] += (int(fields[11]) + int(fields[12])) / ticks
    return spent


def package_of(filename: str) -> str:
    if "/src/fazhi/" in filename:
        return "fazhi"
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0]
    if filename.startswith("~"):
        return "builtins (C calls; includes waiting in epoll)"
    return "standard library"


def on_loop(action) -> None:
    """Run ``action`` on the shared loop's thread and wait for it."""
    done = threading.Event()
    shared_loop().call_soon_threadsafe(lambda: (action(), done.set()))
    done.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--reports", type=int, default=256)
    args = parser.parse_args()
    corpus = data_dir("evals/corpus")
    seeds = {p.stem: read_source(p).text for p in sorted(Path(corpus).glob("*.txt"))}
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(LATENCY) as server:
        paths = write_reports(Path(tmp) / "reports", synthetic_reports(seeds, args.reports))
        backend = _backend(server.url, None, 1, style="label")
        run_batch(paths[:2], backend, Path(tmp) / "warm.jsonl", chunk_size=CHUNK_SIZE)
        before, process_before = thread_cpu(), time.process_time()
        calls_before, started = server.requests(), time.perf_counter()
        run_batch(paths, backend, Path(tmp) / "run1.jsonl", concurrency=args.concurrency,
                  chunk_size=CHUNK_SIZE)  # fmt: skip
        wall, calls = time.perf_counter() - started, server.requests() - calls_before
        spent, process = thread_cpu(), time.process_time() - process_before
        profile = cProfile.Profile()
        on_loop(profile.enable)
        run_batch(paths, backend, Path(tmp) / "run2.jsonl", concurrency=args.concurrency,
                  chunk_size=CHUNK_SIZE)  # fmt: skip
        on_loop(profile.disable)
    spent.subtract(before)
    spent = collections.Counter({name: s for name, s in spent.items() if s > 0})
    spent["report threads (the rest of the process)"] = process - sum(spent.values())
    ideal = calls * LATENCY / args.concurrency
    print(f"{args.reports} reports, {calls} calls, concurrency {args.concurrency}: wall "
          f"{wall:.2f} s, {wall / ideal:.2f} x ideal, CPU {process:.2f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")  # fmt: skip
    print("| thread (run 1) | CPU s | ms per call |\n|---|---|---|")
    for name, seconds in spent.most_common():
        print(f"| {name} | {seconds:.2f} | {seconds / calls * 1000:.1f} |")
    own: collections.Counter = collections.Counter()
    for (filename, _, _), (_, _, tottime, _, _) in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        own[package_of(filename)] += tottime
    total = sum(own.values())
    print("\n| event loop thread (run 2): own time in | share |\n|---|---|")
    for package, seconds in own.most_common(12):
        print(f"| {package} | {seconds / total:.0%} |")


if __name__ == "__main__":
    main()
