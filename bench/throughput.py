"""CPU-side throughput and growth: the rules backend, chunking and the verifier.

Times are wall-clock ``perf_counter`` medians of ``repeat`` runs on this machine; peak memory
is tracemalloc's peak of Python allocations during one cold run, with fazhi's caches emptied
first (tracemalloc slows code down, so it is never on while timing), plus the process's
maximum resident size.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
