"""Many reports in one run: find them, extract them concurrently, record each in a JSONL journal.

One bad report (unreadable, undecodable, empty, a backend that raises, chunks that failed) is
recorded with a one-line error and the batch goes on. The journal (``fazhi.export.jsonl``) gets
one complete line per finished report, so an interrupted batch resumes where it stopped:
reports whose identity -- file sha256, backend, model, prompt version -- already has an ``ok``
line are skipped, missing and failed ones are run again. No terminal here: the caller gets
progress through a callback.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, as_completed, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fazhi import __version__
from fazhi.batch_estimate import (  # noqa: F401  (callers import the dry run from here)
    ANSWER_CHARS_PER_SOURCE_CHAR,
    Estimate,
    calls_model,
    estimate_batch,
    estimate_tokens,
    prompt_overhead_tokens,
)
from fazhi.batch_summary import BatchProgress, BatchSummary  # noqa: F401  (imported from here)
from fazhi.catalog import Catalog
from fazhi.discover import NoInputsError, find_inputs  # noqa: F401  (callers import them here)
from fazhi.errors import FazhiError
from fazhi.export import jsonl
from fazhi.export.jsonl import ErrorStage, RecordKey, ReportRecord
from fazhi.export.tables import default_sources_dir, write_source_text
from fazhi.ingest import IngestError
from fazhi.model import Result, Source, Usage
from fazhi.pipeline import Backend, extract_file
from fazhi.workers import DaemonPool, ProcessPool

# After Ctrl-C, how long the reports already running may take to finish and be recorded; a
# report still running then is left to die with the process (run again on resume).
INTERRUPT_GRACE_SECONDS = 2.0


def file_sha256(path: Path) -> str:
    """The identity of a report's bytes; ``""`` when the file cannot be read (ingest says why)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def identity(sha256: str, backend: Backend) -> RecordKey:
    return jsonl.record_key(sha256, backend.name, backend.model, backend.prompt_version)


@dataclass
class ReportOutcome:
    """One finished report: its journal line, and its cleaned text until that is written.

    The batch drops ``source`` (text and index) once it wrote the text, and the record's result
    once it wrote the line: a pool keeps every job's outcome to the end, and 30,000 sources or
    results held would be gigabytes.
    """

    record: ReportRecord
    source: Source | None


def extract_report(
    path: Path,
    backend: Backend,
    *,
    sha256: str | None = None,
    chunk_size: int | None = None,
    overlap: bool = False,
    catalog: Catalog | None = None,
) -> ReportOutcome:
    """Run one report and describe how it went; never raises for a bad report or backend."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    source = result = None
    error: str | None = None
    stage: ErrorStage | None = None
    try:
        source, result = extract_file(
            path, backend, chunk_size=chunk_size, overlap=overlap, catalog=catalog
        )
    except IngestError as exc:
        error, stage = str(exc), "read"
    except Exception as exc:  # any backend failure is this report's failure, not the batch's
        error, stage = _one_line(f"{type(exc).__name__}: {exc}"), "extract"
    if result is not None and result.status != "complete":
        error, stage = _incomplete(result)
    record = ReportRecord(
        source=str(path),
        source_sha256=source.sha256
        if source
        else (sha256 if sha256 is not None else file_sha256(path)),
        backend=backend.name,
        model=backend.model,
        prompt_version=backend.prompt_version,
        status=result.status if result is not None else "failed",
        error=error,
        error_stage=stage,
        started=started,
        seconds=round(time.perf_counter() - clock, 3),
        chunks=result.chunks if result else 0,
        usage=result.usage if result else Usage(),
        fazhi_version=__version__,
        result=result,
    )
    return ReportOutcome(record, source)


def _incomplete(result: Result) -> tuple[str, ErrorStage]:
    """One line on why a result is partial or failed: its failed chunks, else the caps hit."""
    if result.failed_chunks:
        first = result.chunk_errors[0] if result.chunk_errors else "no answer"
        failed = len(result.failed_chunks)
        return _one_line(f"{failed} of {result.chunks} chunks failed: {first}"), "chunks"
    return _one_line(f"caps hit, answers may be cut: {'; '.join(result.caps_hit)}"), "caps"


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass
class BatchPlan:
    """What a run will do: reports to run, and journal records that make others unnecessary."""

    todo: list[tuple[Path, str]]  # (path, sha256)
    done: dict[Path, ReportRecord]  # reports already complete in the journal, by input path
    duplicates: dict[Path, Path] = field(default_factory=dict)  # same bytes as an earlier input
    repaired_bytes: int = 0  # a torn last line cut off the journal


def plan_batch(
    paths: Sequence[Path], backend: Backend, journal: Path | None, *, resume: bool = True
) -> BatchPlan:
    """Split ``paths`` into work to do and work the journal already holds (without changing it)."""
    finished: dict[RecordKey, ReportRecord] = {}
    if resume and journal is not None:
        finished = {
            r.key: r
            for r in jsonl.latest_records(record for _offset, record in jsonl.scan(journal))
            if r.status == "complete"
        }
    plan = BatchPlan(todo=[], done={})
    first_with: dict[str, Path] = {}
    for path in paths:
        sha = file_sha256(path)
        if sha in first_with:
            plan.duplicates[path] = first_with[sha]
            continue
        if sha:
            first_with[sha] = path
        previous = finished.get(identity(sha, backend)) if sha else None
        if previous is not None:
            plan.done[path] = previous
        else:
            plan.todo.append((path, sha))
    return plan


ProgressCallback = Callable[[BatchProgress], None]


def run_batch(
    paths: Sequence[Path],
    backend: Backend,
    journal: str | Path,
    *,
    concurrency: int = 1,
    resume: bool = True,
    chunk_size: int | None = None,
    overlap: bool = False,
    catalog: Catalog | None = None,
    on_progress: ProgressCallback | None = None,
    deadline: float | None = None,
    sources_dir: str | Path | None = None,
    workers: int = 1,
) -> BatchSummary:
    """Extract every report in ``paths`` into the JSONL ``journal``.

    With ``resume`` the journal is kept (a torn last line cut off) and reports already ``ok``
    in it are skipped; without, it is started afresh. At most ``concurrency`` reports run at
    once; with ``workers`` above 1 the reports run in that many forked processes instead, one
    at a time each (for CPU-bound backends such as rules; the backend is inherited, results
    come back pickled). The journal is written by this thread only, one durable line per
    finished report,
    so an interruption (KeyboardInterrupt propagates) leaves complete lines only. After
    ``deadline`` seconds the reports not finished are recorded as failed (stage ``deadline``)
    and the call returns without waiting for the ones still running.
    Each report's cleaned text, which its offsets index, goes to ``sources_dir`` (default
    ``JOURNAL.sources`` beside the journal; ``export.tables.source_text_path`` names the file).
    The summary's records hold no results (``BatchSummary.results()`` reads them back).
    """
    journal = Path(journal)
    journal.parent.mkdir(parents=True, exist_ok=True)
    if resume:
        repaired = jsonl.repair(journal)
    else:
        repaired = 0
        jsonl.start_afresh(journal)
    plan = plan_batch(paths, backend, journal, resume=resume)
    progress = BatchProgress(total=len(plan.todo) + len(plan.done), skipped=len(plan.done))
    notify = on_progress or (lambda _progress: None)
    options = {"chunk_size": chunk_size, "overlap": overlap, "catalog": catalog}
    texts = Path(sources_dir) if sources_dir else default_sources_dir(journal)
    # the pool first: worker processes fork before the first update starts a progress
    # display's thread (a fork copies only the forking thread, and none of its held locks free)
    pool = _pool(backend, max(1, concurrency), workers, len(plan.todo))
    notify(progress)
    fresh, abandoned = _run_all(
        plan.todo, backend, journal, pool, options, progress, notify, deadline, texts
    )
    # A report redone after a failure has two lines; keep only the newest so readers of the
    # journal see one line per report. Atomic and locked: other writers wait, nothing is lost.
    jsonl.compact(journal)
    records = [fresh.get(path) or plan.done[path] for path in paths if path not in plan.duplicates]
    return BatchSummary(records, plan.duplicates, progress, repaired, abandoned, journal)


def _pool(
    backend: Backend, concurrency: int, workers: int, reports: int
) -> DaemonPool | ProcessPool:
    """Threads in this process, or worker processes (no more than there are reports)."""
    workers = min(workers, reports)
    if workers <= 1:
        return DaemonPool(concurrency, name="fazhi-report")
    threads = split_concurrency(concurrency, workers) if calls_model(backend) else 1
    return ProcessPool(workers, shared=backend, threads=threads)


class WorkersError(FazhiError):
    """``--workers`` and ``--concurrency`` that cannot go together."""


def check_workers(workers: int, concurrency: int, backend: Backend) -> None:
    """A model backend's reports in flight are split across the workers: each needs one."""
    if workers > concurrency and calls_model(backend):
        raise WorkersError(
            f"--workers {workers} with --concurrency {concurrency}: the concurrency is split "
            f"across the worker processes and each needs a report in flight; give "
            f"--concurrency {workers} or more, or fewer workers"
        )


def split_concurrency(concurrency: int, workers: int) -> list[int]:
    """Reports in flight per worker process: ``concurrency`` shared out as evenly as it goes,
    at least one each (the CLI refuses fewer reports in flight than workers)."""
    share, rest = divmod(concurrency, workers)
    return [max(1, share + (i < rest)) for i in range(workers)]


class _Recorder:
    """Writes finished reports down: the one writer of the journal and the source texts."""

    def __init__(self, journal: Path, sources_dir: Path, progress: BatchProgress) -> None:
        self.journal, self.sources_dir, self.progress = journal, sources_dir, progress
        self.fresh: dict[Path, ReportRecord] = {}

    def record(self, outcome: ReportOutcome, path: Path) -> None:
        entry, source = outcome.record, outcome.source
        # first: Ctrl-C landing in the writes below must not have the handler record it again
        self.fresh[path] = jsonl.slim(entry)
        # the future keeps the outcome to the end: its text, index and result go (the journal
        # keeps the result), else a 30,000-report batch holds gigabytes
        outcome.record, outcome.source = self.fresh[path], None
        if source is not None and entry.source_sha256:
            write_source_text(self.sources_dir, entry.source_sha256, source.text)
        jsonl.append_locked(self.journal, entry)
        self.progress.add(self.fresh[path])


Jobs = dict[Future, tuple[Path, str]]  # a report's future -> its path and sha256


def _run_all(
    todo,
    backend,
    journal: Path,
    pool: DaemonPool | ProcessPool,
    options,
    progress,
    notify,
    deadline,
    sources_dir: Path,
) -> tuple[dict[Path, ReportRecord], int]:
    """Run the reports on daemon workers; this thread alone appends to the journal.

    Returns the records by path and how many reports were abandoned still running.
    """
    recorder = _Recorder(journal, sources_dir, progress)
    futures: Jobs = {
        pool.submit(extract_report, path, backend, sha256=sha, **options): (path, sha)
        for path, sha in todo
    }
    try:
        for future in as_completed(futures, timeout=deadline):
            recorder.record(_outcome(future, *futures[future], backend), futures[future][0])
            notify(progress)
    except TimeoutError:
        abandoned = _at_the_deadline(futures, pool, recorder, backend, deadline)
        notify(progress)
        return recorder.fresh, abandoned
    except KeyboardInterrupt:
        _on_interrupt(futures, pool, recorder, backend)
        raise
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise
    pool.shutdown()
    return recorder.fresh, 0


def _at_the_deadline(
    futures: Jobs, pool: DaemonPool | ProcessPool, recorder: _Recorder, backend, deadline
) -> int:
    """Record what finished and mark the rest failed (stage deadline); how many still ran."""
    # finished just now: kept (taken before the shutdown, whose terminated worker processes
    # would fail the reports they held instead of leaving them unfinished)
    finished = {f for f in futures if f.done() and not f.cancelled()}
    abandoned = pool.shutdown(cancel_futures=True)
    for future, (path, sha) in futures.items():
        if path in recorder.fresh:
            continue
        if future in finished:
            recorder.record(_outcome(future, path, sha, backend), path)
        else:
            late = deadline_record(path, sha, backend, deadline)
            recorder.record(ReportOutcome(late, None), path)
    return abandoned


def _on_interrupt(
    futures: Jobs, pool: DaemonPool | ProcessPool, recorder: _Recorder, backend
) -> None:
    """Drop the queued reports; give the running ones a moment to finish and record them,
    but never wait on a call that hangs (the workers are daemons; a second Ctrl-C stops the
    wait too). Worker processes are stopped only after that moment."""
    for future in futures:
        future.cancel()  # succeeds for the reports not started yet
    running = [f for f in futures if not f.cancelled() and futures[f][0] not in recorder.fresh]
    finished, _ = wait(running, timeout=INTERRUPT_GRACE_SECONDS)
    pool.shutdown(cancel_futures=True)
    for future in running:
        if future in finished:
            recorder.record(_outcome(future, *futures[future], backend), futures[future][0])


def _outcome(future: Future, path: Path, sha: str, backend: Backend) -> ReportOutcome:
    """A finished job's record; a job that raised (a worker process that died: ``extract_report``
    itself never raises) is this report's failure."""
    try:
        return future.result()
    except Exception as exc:
        error = _one_line(f"{path}: {type(exc).__name__}: {exc}")
        return ReportOutcome(failed_record(path, sha, backend, error, "extract"), None)


def deadline_record(path: Path, sha: str, backend: Backend, deadline: float | None) -> ReportRecord:
    """The journal line of a report the overall deadline cut off (run again on resume)."""
    error = f"{path}: not finished when the deadline of {deadline or 0:g} s passed"
    return failed_record(path, sha, backend, error, "deadline")


def failed_record(
    path: Path, sha: str, backend: Backend, error: str, stage: ErrorStage
) -> ReportRecord:
    """The journal line of a report that has no result (run again on resume)."""
    return ReportRecord(
        source=str(path),
        source_sha256=sha,
        backend=backend.name,
        model=backend.model,
        prompt_version=backend.prompt_version,
        status="failed",
        error=error,
        error_stage=stage,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        fazhi_version=__version__,
    )


def run_one(
    path: Path, backend: Backend, *, deadline: float | None = None, **options
) -> tuple[ReportRecord, Source | None]:
    """``extract_report`` for a single report on a daemon worker, given up after ``deadline``.

    The caller's thread only waits, so Ctrl-C reaches it at once even while the backend hangs.
    """
    pool = DaemonPool(1, name="fazhi-report")
    future = pool.submit(extract_report, path, backend, **options)
    pool.shutdown()
    try:
        outcome = future.result(timeout=deadline)
    except TimeoutError:
        return deadline_record(path, file_sha256(path), backend, deadline), None
    return outcome.record, outcome.source
