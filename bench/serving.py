"""Our code around a model server, measured against the local replay server (not a model).

- ``cached_rerun``: the five reports through ``LLMBackend`` with its disk cache, twice; the
  second run must make no request at all.
- ``concurrency_run``: a batch of synthetic reports at a given concurrency with a fixed latency
  injected per request; wall time against the ideal ``calls x latency / concurrency``. The
  server runs in a process of its own (``ServerProcess``): it stands for a remote endpoint, and
  in this process its threads would compete with the batch for the interpreter lock.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fazhi.backends.llm import LLMBackend
from fazhi.backends.llm_label import LabelBackend
from fazhi.batch import run_batch
from fazhi.llm.client import RetryPolicy
from fazhi.model import Source
from fazhi.pipeline import extract
from fazhi.testing.replay_server import ReplayServer

MODEL = "replay"  # the server ignores it; it only keys the cache


def _backend(url: str, cache: Path | None, concurrency: int, style: str = "quote") -> LLMBackend:
    """The quote style for the cached rerun (its recordings are quote-style), else the label
    style, which is what ``fazhi extract --backend llm`` runs by default."""
    kind = LabelBackend if style == "label" else LLMBackend
    return kind(
        model=MODEL, base_url=url, concurrency=concurrency, cache_dir=cache,
        use_cache=cache is not None, timeout=30, retry=RetryPolicy(attempts=2, initial=0.05),
    )  # fmt: skip


@dataclass
class CacheRun:
    mode: str
    latency: float
    first_seconds: float
    first_requests: int
    rerun_seconds: float
    rerun_requests: int
    served_by: dict

    @property
    def speedup(self) -> float:
        return self.first_seconds / max(self.rerun_seconds, 1e-9)


def cached_rerun(
    sources: Sequence[Source], cassettes: Sequence[Path], latency: float, concurrency: int = 4
) -> CacheRun:
    """Run every report twice with the cache on; count requests and time both passes."""
    mode = "replay" if cassettes else "echo"
    with (
        tempfile.TemporaryDirectory() as tmp,
        ReplayServer(mode=mode, cassettes=cassettes, latency=latency) as server,
    ):
        backend = _backend(server.url, Path(tmp), concurrency)
        timings = []
        for _ in range(2):
            before = server.stats.requests
            started = time.perf_counter()
            for source in sources:
                extract(source, backend)
            timings.append((time.perf_counter() - started, server.stats.requests - before))
        served = dict(server.stats.sources)
    (first_s, first_n), (again_s, again_n) = timings
    return CacheRun(mode, latency, first_s, first_n, again_s, again_n, served)


class ServerProcess:
    """``python -m fazhi.testing.replay_server`` (echo) in a child process; a context manager."""

    def __init__(self, latency: float) -> None:
        command = [sys.executable, "-m", "fazhi.testing.replay_server", "--mode", "echo",
                   "--latency", f"{latency}", "--port", "0"]  # fmt: skip
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        banner = self._process.stdout.readline() if self._process.stdout else ""
        if " at http" not in banner:
            self._process.kill()
            raise RuntimeError(f"replay server did not start: {banner!r}")
        self.url = banner.rsplit(" at ", 1)[1].strip()  # ".../v1"

    def requests(self) -> int:
        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/stats", timeout=10) as page:
            return int(json.load(page)["requests"])

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


@dataclass
class ConcurrencyRun:
    concurrency: int
    reports: int
    calls: int
    latency: float
    seconds: float
    failed: int
    cpu: float = 0.0  # CPU seconds of this process during the batch

    @property
    def ideal(self) -> float:
        return self.calls * self.latency / self.concurrency

    @property
    def ratio(self) -> float:
        return self.seconds / self.ideal


def concurrency_run(
    paths: Sequence[Path], concurrency: int, latency: float, chunk_size: int
) -> ConcurrencyRun:
    """One batch, ``concurrency`` reports at once and one call at a time within each (as the
    CLI splits ``--concurrency`` for a batch), label style (the default), cache off, echo
    answers after ``latency``."""
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(latency) as server:
        backend = _backend(server.url, None, 1, style="label")
        run_batch(paths[:2], backend, Path(tmp) / "warm.jsonl", chunk_size=chunk_size)
        before = server.requests()
        started, cpu = time.perf_counter(), time.process_time()
        summary = run_batch(
            paths, backend, Path(tmp) / "out.jsonl", concurrency=concurrency, chunk_size=chunk_size
        )
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        calls = server.requests() - before
    failed = sum(r.status != "complete" for r in summary.records)
    return ConcurrencyRun(concurrency, len(paths), calls, latency, seconds, failed, cpu)
