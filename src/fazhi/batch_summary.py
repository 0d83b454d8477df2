"""How a batch went: the counts as it runs, and the summary it returns.

The summary's records are the journal lines without their results: a long batch's results
would be gigabytes held (issue 18). The journal keeps them; the summary reads them back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fazhi.export import jsonl
from fazhi.export.jsonl import ReportRecord
from fazhi.model import Result, Usage


@dataclass
class BatchProgress:
    """Counts so far; handed to the progress callback after every finished report."""

    total: int
    skipped: int = 0
    complete: int = 0
    partial: int = 0
    failed: int = 0
    chunks: int = 0
    usage: Usage = field(default_factory=Usage)
    last: ReportRecord | None = None

    @property
    def finished(self) -> int:
        return self.skipped + self.complete + self.partial + self.failed

    def add(self, record: ReportRecord) -> None:
        self.complete += record.status == "complete"
        self.partial += record.status == "partial"
        self.failed += record.status == "failed"
        self.chunks += record.chunks
        self.usage = self.usage + record.usage
        self.last = record


@dataclass
class BatchSummary:
    """How a batch went. ``records`` are the journal lines WITHOUT their results (``result``
    is None): a long batch's results would be gigabytes held. The results are in the journal;
    ``results()`` and ``full_records()`` read them back one at a time, in input order."""

    records: list[ReportRecord]  # one per distinct input, in input order: run now or found done
    duplicates: dict[Path, Path]  # inputs skipped because an earlier input has the same bytes
    progress: BatchProgress
    repaired_bytes: int = 0
    abandoned: int = 0  # reports still running when the deadline passed (their threads left)
    journal: Path | None = None  # where the results are

    def full_records(self) -> Iterator[ReportRecord]:
        """Each of ``records`` as the journal holds it now (the newest line of its report: a
        later run on the same journal may have redone it), result included, one at a time."""
        if self.journal is None:
            return iter(self.records)
        return jsonl.with_results(self.journal, self.records)

    def results(self) -> Iterator[Result]:
        """The result of every record that has one, in input order, streamed from the journal."""
        return (r.result for r in self.full_records() if r.result is not None)
