"""The batch journal: one JSON line per finished report, appended as each one finishes.

The file is the batch's memory. It is written so that it is always readable: a line is written
whole with one ``write`` and flushed to disk before the next report is recorded, so an
interruption leaves complete lines only -- except after a hard kill in the middle of a write,
which leaves one torn last line. ``read_records`` ignores such a line and ``repair`` cuts it off
before more lines are appended.

A report's identity is the sha256 of the file's bytes plus backend, model and prompt version:
the same bytes under another name are the same report, and a new prompt version is new work.

A journal of 30,000 reports is gigabytes of results once parsed: it is read line by line
(``iter_records``), and what plans, compacts and sums up a batch holds the records without
their results (``scan``), fetching a result by its line's offset when it is needed (``read_at``).

Several processes may write one journal at once (two batches started on the same ``-o``): every
append, repair, truncation and compaction holds an exclusive ``flock`` on the sidecar file
``NAME.lock``, and an append opens the journal afresh each time, so a line never goes to a file
that a compaction has already replaced. The sidecar is left in place on purpose: deleting a lock
file while another process waits on it would let two writers in at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from fazhi.model import Result, ResultStatus, Usage

try:
    import fcntl
except ImportError:  # Windows: no flock; one writer per journal there
    fcntl = None  # type: ignore[assignment]

RecordKey = tuple[str, str, str | None, str | None]
# where a report fell short: "read" (the file; fix the input), "extract" (the backend raised),
# "chunks" (some or all chunks failed; the result holds what the others gave), "caps" (answers
# hit a limit and may be cut), "deadline" (--deadline passed before the report finished)
ErrorStage = Literal["read", "extract", "chunks", "caps", "deadline"]


class ReportRecord(BaseModel):
    """One report in a batch: where it came from, how it was run, and what came out."""

    source: str
    source_sha256: str = ""
    backend: str
    model: str | None = None
    prompt_version: str | None = None
    status: ResultStatus  # the result's status; "failed" also when there is no result
    error: str | None = None  # one line; set whenever status is not "complete"
    error_stage: ErrorStage | None = None
    started: str = ""  # ISO 8601, UTC
    seconds: float = 0.0
    chunks: int = 0
    usage: Usage = Field(default_factory=Usage)
    fazhi_version: str = ""
    result: Result | None = None  # may be present on a failed report (some chunks failed)

    @field_validator("status", mode="before")
    @classmethod
    def _read_older_journals(cls, value: object) -> object:
        return "complete" if value == "ok" else value  # journals written before statuses said "ok"

    @property
    def key(self) -> RecordKey:
        return record_key(self.source_sha256, self.backend, self.model, self.prompt_version)


def record_key(
    sha256: str, backend: str, model: str | None, prompt_version: str | None
) -> RecordKey:
    return (sha256, backend, model, prompt_version)


def dump_line(record: ReportRecord) -> str:
    """The record as one line of JSON (Chinese kept readable), newline included."""
    return json.dumps(record.model_dump(mode="json"), ensure_ascii=False) + "\n"


def append_record(handle: IO[str], record: ReportRecord) -> None:
    """Append one complete line and make it durable before returning."""
    handle.write(dump_line(record))
    handle.flush()
    os.fsync(handle.fileno())


@contextmanager
def journal_lock(path: str | Path) -> Iterator[None]:
    """Hold the journal's exclusive lock (a ``flock`` on ``NAME.lock`` beside it).

    Not re-entrant: the functions below take it once each and never call one another inside it.
    """
    path = Path(path)
    lock_path = path.with_name(f"{path.name}.lock")
    with lock_path.open("a") as lock_file:
        if fcntl is not None:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


def append_locked(path: str | Path, record: ReportRecord) -> None:
    """Append one durable line under the journal's lock, opening the file afresh.

    Reopening matters: a handle kept open across a compaction by another process would point at
    the replaced file, and every later line written through it would be lost.
    """
    with journal_lock(path), Path(path).open("a", encoding="utf-8", newline="\n") as handle:
        append_record(handle, record)


def start_afresh(path: str | Path) -> None:
    """Empty the journal (``--no-resume``), under its lock."""
    with journal_lock(path), Path(path).open("w", encoding="utf-8") as handle:
        handle.flush()
        os.fsync(handle.fileno())


def compact(path: str | Path) -> int:
    """Keep the newest record per report (``latest_records``); returns how many lines went.

    Read and rewrite happen under the lock, so no other process appends in between. Only the
    records' journal lines without their results are held (``scan``); each kept line is read
    again on its own as it is rewritten, so a journal of 30,000 results never sits in memory.
    """
    path = Path(path)
    with journal_lock(path):
        scanned = list(scan(path))
        latest = latest_records(record for _offset, record in scanned)
        if len(latest) < len(scanned):
            offset_of = {id(record): offset for offset, record in scanned}
            kept = [offset_of[id(record)] for record in latest]
            _rewrite_unlocked(path, read_at(path, kept))
        return len(scanned) - len(latest)


def read_records(path: str | Path) -> list[ReportRecord]:
    """Every complete, valid record in file order; a torn or foreign line is skipped.

    All of them at once, results included: for a long journal, stream with ``iter_records``.
    """
    return list(iter_records(path))


def iter_records(path: str | Path) -> Iterator[ReportRecord]:
    """``read_records`` one record at a time, reading the file line by line."""
    for _offset, line in _complete_lines(Path(path)):
        record = _parse(line)
        if record is not None:
            yield record


def scan(path: str | Path) -> Iterator[tuple[int, ReportRecord]]:
    """(byte offset of its line, the record without its result) for every valid record.

    What a batch plans, compacts and sums up with: statuses and identities cost a few KiB a
    report where the result is tens of KiB; ``read_at`` fetches a result by its offset.
    """
    return _slim_records(_complete_lines(Path(path)))


def _slim_records(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, ReportRecord]]:
    for offset, line in lines:
        record = _parse(line)
        if record is not None:
            yield offset, slim(record)


def slim(record: ReportRecord) -> ReportRecord:
    """The record without its result (the journal keeps that)."""
    return record if record.result is None else record.model_copy(update={"result": None})


def read_at(path: str | Path, offsets: Iterable[int]) -> Iterator[ReportRecord]:
    """The full records whose lines start at ``offsets`` (from ``scan``), in that order."""
    with Path(path).open("rb") as handle:
        yield from _read_at(handle, offsets)


def _read_at(handle: IO[bytes], offsets: Iterable[int]) -> Iterator[ReportRecord]:
    for offset in offsets:
        handle.seek(offset)
        record = _parse(handle.readline().decode("utf-8", errors="replace"))
        if record is not None:
            yield record


def with_results(path: str | Path, records: Iterable[ReportRecord]) -> Iterator[ReportRecord]:
    """Each record as the journal holds it, result included: the newest line of its report
    (by identity), read one at a time in the order of ``records``. A record the journal does
    not hold (or one without a file hash, which never has a result) comes back as it is.

    One open file throughout: a compaction by another process replaces the journal by a new
    file, and this one's offsets stay true of the file it has open.
    """
    path = Path(path)
    if not path.exists():
        yield from records
        return
    with path.open("rb") as handle:
        newest = {
            record.key: offset
            for offset, record in _slim_records(_lines(handle))
            if record.source_sha256
        }
        for record in records:
            offset = newest.get(record.key) if record.source_sha256 else None
            full = next(_read_at(handle, [offset]), None) if offset is not None else None
            yield full if full is not None else record


def latest_records(records: Iterable[ReportRecord]) -> list[ReportRecord]:
    """The newest record per report, each in the place the report first appeared.

    Two records are the same report when they share an identity (bytes, backend, model,
    prompt version: a resumed batch redoing a failure) or a path under the same backend, model
    and prompt version (the file was edited since: its newest content supersedes the old).
    """
    slots: list[ReportRecord | None] = []
    slot_of: dict[tuple, int] = {}
    for index, record in enumerate(records):
        keys = _same_report_keys(record, index)
        hits = sorted({slot_of[k] for k in keys if k in slot_of})
        slot = hits[0] if hits else len(slots)
        if not hits:
            slots.append(None)
        for superseded in hits:  # forget the older records' keys (a renamed copy is not them)
            old = slots[superseded]
            if old is not None:
                for key in _same_report_keys(old, -1):
                    if slot_of.get(key) == superseded:
                        del slot_of[key]
            slots[superseded] = None
        slots[slot] = record
        slot_of.update(dict.fromkeys(keys, slot))
    return [r for r in slots if r is not None]


def _same_report_keys(record: ReportRecord, index: int) -> list[tuple]:
    run = (record.backend, record.model, record.prompt_version)
    # without a hash (the file could not be read) only the path says which report it is
    identity = ("bytes", *record.key) if record.source_sha256 else ("unhashed", index)
    return [identity, ("path", record.source, *run)]


def repair(path: str | Path) -> int:
    """Cut a torn last line off the journal; returns how many bytes were dropped.

    Only the tail can be torn (lines are appended whole), so everything after the last
    newline that does not parse as a record goes. Under the lock: a line another process is
    writing right now is not torn, only unfinished.
    """
    with journal_lock(path):
        return _repair_unlocked(Path(path))


def _repair_unlocked(path: Path) -> int:
    if not path.exists():
        return 0
    data = path.read_bytes()
    keep = len(data)
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
    elif data:
        last_start = data.rfind(b"\n", 0, len(data) - 1) + 1
        if _parse(data[last_start:].decode("utf-8", errors="replace")) is None:
            keep = last_start
    if keep < len(data):
        with path.open("r+b") as handle:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
    return len(data) - keep


def rewrite(path: str | Path, records: Iterable[ReportRecord]) -> None:
    """Replace the journal atomically (a sibling file renamed over it), under its lock."""
    with journal_lock(path):
        _rewrite_unlocked(Path(path), records)


def _rewrite_unlocked(path: Path, records: Iterable[ReportRecord]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(dump_line(record))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _complete_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(byte offset, text) of every non-blank line that ends in a newline, read as a stream."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        yield from _lines(handle)


def _lines(handle: IO[bytes]) -> Iterator[tuple[int, str]]:
    offset = 0
    for raw in handle:
        if not raw.endswith(b"\n"):  # a tail without newline is an unfinished write
            return
        if raw.strip():
            yield offset, raw.decode("utf-8", errors="replace")
        offset += len(raw)


def _parse(line: str) -> ReportRecord | None:
    try:
        return ReportRecord.model_validate_json(line)
    except (ValidationError, ValueError):
        return None
