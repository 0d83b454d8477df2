"""CPU-side throughput and growth: the rules backend, chunking and the verifier.

Times are wall-clock ``perf_counter`` medians of ``repeat`` runs on this machine; peak memory
is tracemalloc's peak of Python allocations during one cold run, with fazhi's caches emptied
first (tracemalloc slows code down, so it is never on while timing), plus the process's
maximum resident size.

Run on its own, it profiles the rules backend (cProfile, the functions by their own time):

    .venv/bin/python bench/throughput.py --profile            # whole pipeline, five reports
    .venv/bin/python bench/throughput.py --profile --files 200  # + one batch worker's reports
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from fazhi.backends.rules import RulesBackend
from fazhi.chunking import chunk_source
from fazhi.merge import merge
from fazhi.model import Draft, FigureProposal, Source
from fazhi.pipeline import chunk_size_for, extract
from fazhi.verify import verify


def timed(work: Callable[[], object], repeat: int) -> float:
    """Median seconds of ``repeat`` runs."""
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def clear_caches() -> None:
    """Empty every ``functools`` cache in fazhi (texts' number lists, squeezed texts, the
    catalog ...), so a measurement pays for them as a fresh process would."""
    for name, module in list(sys.modules.items()):
        if name == "fazhi" or name.startswith("fazhi."):
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def peak_mib(work: Callable[[], object]) -> float:
    """Peak traced allocation of one cold run (caches emptied first)."""
    clear_caches()
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


@dataclass
class Throughput:
    what: str
    corpus: str
    reports: int
    chars: int
    seconds: float
    peak: float

    def cells(self) -> list[str]:
        return [
            self.what, self.corpus, str(self.reports), f"{self.chars:,}",
            f"{self.seconds * 1000:,.0f} ms", f"{self.reports / self.seconds:,.1f}",
            f"{self.chars / self.seconds / 1000:,.0f}k", f"{self.peak:,.1f}",
        ]  # fmt: skip


THROUGHPUT_HEADER = [
    "work",
    "input",
    "reports",
    "characters",
    "time",
    "reports/s",
    "chars/s",
    "peak MiB (tracemalloc)",
]


def fresh(source: Source) -> Source:
    """The same report as a new object with a new text string: what a batch gets for every
    report. The source's index (``index_of``) is kept per object and text, so re-running the
    same ``Source`` would time the rules against an index built in an earlier run."""
    return source.model_copy(update={"text": source.text[:-1] + source.text[-1:]})


def rules_throughput(
    corpus: str, sources: Sequence[Source], repeat: int, *, new_sources: bool = True
) -> Throughput:
    backend = RulesBackend()

    def work() -> None:
        for source in sources:
            extract(fresh(source) if new_sources else source, backend)

    chars = sum(len(s.text) for s in sources)
    peak = peak_mib(work)
    what = "rules backend, whole pipeline" + ("" if new_sources else " (index reused)")
    return Throughput(what, corpus, len(sources), chars, timed(work, repeat), peak)


def verify_throughput(
    corpus: str, pairs: Sequence[tuple[Draft, Source]], repeat: int
) -> Throughput:
    def work() -> None:
        for draft, source in pairs:
            verify(draft, source)

    chars = sum(len(s.text) for _, s in pairs)
    figures = sum(len(d.figures) for d, _ in pairs)
    what = f"verify ({figures} gold figures)"
    peak = peak_mib(work)
    return Throughput(what, corpus, len(pairs), chars, timed(work, repeat), peak)


@dataclass
class Growth:
    factor: int
    chars: int
    chunk: float
    rules: float
    merge_verify: float
    verify_scaled: float
    figures_scaled: int


GROWTH_HEADER = [
    "length ×", "characters", "chunking", "÷ 1×", "rules answer", "÷ 1×",
    "merge+verify", "÷ 1×", "verify, figures ∝ length", "÷ 1×",
]  # fmt: skip


def growth(seed: Source, gold: Draft, factors: Sequence[int], repeat: int) -> list[Growth]:
    """Stage times on the seed report repeated 1×..32×.

    ``merge+verify`` is the pipeline's own (merge collapses the repeated figures, so the
    verifier sees the seed's figures on a longer text); ``verify, figures ∝ length`` verifies
    the seed's gold figures once per copy -- a longer report states more figures.
    """
    backend = RulesBackend()
    rows = []
    for k in factors:
        source = Source(text="\n".join([seed.text.rstrip("\n")] * k) + "\n")
        chunks = chunk_source(source, size=chunk_size_for(backend))
        answers = backend.answer(chunks, source)
        scaled = gold.model_copy(
            update={"figures": [FigureProposal(**f.model_dump()) for f in gold.figures] * k}
        )
        rows.append(
            Growth(
                factor=k,
                chars=len(source.text),
                chunk=timed(lambda s=source: chunk_source(s, size=chunk_size_for(backend)), repeat),
                rules=timed(lambda c=chunks, s=source: backend.answer(c, s), repeat),
                merge_verify=timed(
                    lambda a=answers, s=source, c=chunks: verify(
                        merge(a, chunks=len(c)), s, chunks=c
                    ),
                    repeat,
                ),
                verify_scaled=timed(lambda d=scaled, s=source: verify(d, s), repeat),
                figures_scaled=len(scaled.figures),
            )
        )  # fmt: skip
    return rows


def growth_cells(rows: Sequence[Growth]) -> list[list[str]]:
    base = rows[0]
    out = []
    for r in rows:
        out.append([
            f"{r.factor}", f"{r.chars:,}",
            f"{r.chunk * 1000:,.1f} ms", f"{r.chunk / base.chunk:.1f}",
            f"{r.rules * 1000:,.0f} ms", f"{r.rules / base.rules:.1f}",
            f"{r.merge_verify * 1000:,.1f} ms", f"{r.merge_verify / base.merge_verify:.1f}",
            f"{r.verify_scaled * 1000:,.0f} ms ({r.figures_scaled} fig.)",
            f"{r.verify_scaled / base.verify_scaled:.1f}",
        ])  # fmt: skip
    return out


PAD_LINE = " " * 9_999 + "\n"  # a scraped page's blank filler line


def padding_growth(seed: Source, lines: Sequence[int]) -> list[list[str]]:
    """Rules backend time on the seed report followed by N filler lines of 10,000 spaces (web
    scrapes end in such runs); one run each, they can be slow."""
    backend = RulesBackend()
    rows, base = [], None
    for n in lines:
        source = Source(text=seed.text.rstrip("\n") + "\n" + PAD_LINE * n)
        chunks = chunk_source(source, size=chunk_size_for(backend))
        seconds = timed(lambda c=chunks, s=source: backend.answer(c, s), 1)
        base = base or seconds
        rows.append(
            [
                f"{n}",
                f"{n * len(PAD_LINE):,}",
                f"{len(source.text):,}",
                f"{seconds:,.2f} s",
                f"{seconds / base:,.0f}",
            ]
        )
    return rows


PADDING_HEADER = ["filler lines", "blank characters", "characters", "rules answer", "÷ no filler"]


# --- where the time goes ----------------------------------------------------------------------


def profiled(work: Callable[[], object], top: int) -> str:
    """cProfile of ``work``: the ``top`` functions by their own time (paths from ``src/``)."""
    profile = cProfile.Profile()
    profile.runcall(work)
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    lines = out.getvalue().replace(str(Path(__file__).resolve().parents[1]) + "/", "")
    return "\n".join(line for line in lines.splitlines() if line.strip())


def profile_pipeline(sources: Sequence[Source], rounds: int, top: int) -> str:
    """The whole pipeline on new ``Source`` objects, as a batch extracts them."""
    backend = RulesBackend()
    for source in sources:  # warm: the rules file and the catalog are read once per process
        extract(fresh(source), backend)
    return profiled(
        lambda: [extract(fresh(s), backend) for _ in range(rounds) for s in sources], top
    )


def profile_files(paths: Sequence[Path], top: int) -> str:
    """What one batch worker does per report (``batch.extract_report``: read, clean, index,
    extract, verify), in this thread, then the writes the batch adds per report, timed."""
    from fazhi.batch import extract_report

    backend = RulesBackend()
    shas = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    extract_report(paths[0], backend, sha256=shas[0])
    done: list = []
    table = profiled(
        lambda: done.extend(
            extract_report(p, backend, sha256=s) for p, s in zip(paths, shas, strict=True)
        ),
        top,
    )
    return table + "\n\n" + timed_writes(done, paths[0].parent)


def timed_writes(done: Sequence, folder: Path) -> str:
    """The batch's writes per report, as ``batch.run_batch`` makes them: the cleaned text beside
    the journal, then the journal line (``flock``, append, ``fsync``)."""
    from fazhi.export import jsonl
    from fazhi.export.tables import write_source_text

    started = time.perf_counter()
    for outcome in done:
        record, source = outcome.record, outcome.source
        write_source_text(folder / "out.sources", record.source_sha256, source.text)
    texts = time.perf_counter() - started
    started = time.perf_counter()
    for outcome in done:
        jsonl.append_locked(folder / "out.jsonl", outcome.record)
    lines = time.perf_counter() - started
    per = 1000 / len(done)
    return (
        f"writes per report: source text {texts * per:.2f} ms, journal line {lines * per:.2f} ms"
        f" ({len(done)} reports, wall clock)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", action="store_true", help="profile the rules backend")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of the five reports")
    parser.add_argument("--files", type=int, default=0, help="also profile N report files")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    if not args.profile:
        parser.error("nothing to do: --profile (the tables are bench/run.py's)")
    from batch_workers import distinct_copies

    from fazhi.ingest import read_source

    corpus = Path(__file__).resolve().parents[1] / "evals" / "corpus"
    sources = [read_source(p) for p in sorted(corpus.glob("*.txt"))]
    print(f"## whole pipeline, five eval reports × {args.rounds} (new Source objects)\n")
    print(profile_pipeline(sources, args.rounds, args.top))
    if args.files:
        with tempfile.TemporaryDirectory() as tmp:
            paths = distinct_copies(corpus, Path(tmp), args.files)
            print(f"\n## batch.extract_report on {args.files} report files\n")
            print(profile_files(paths, args.top))


if __name__ == "__main__":
    main()
