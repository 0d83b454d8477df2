"""What ``fazhi extract`` says at the end: the exit code, the CSV panel, the batch summary.

A batch's results are not held (``BatchSummary.records`` carry none): the CSV and ``--strict``
read them back from the journal one at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import typer

from fazhi.batch import BatchSummary
from fazhi.export import ReportRecord, write_panel
from fazhi.model import Result


def exit_code(records: list[ReportRecord], rejected: bool = False) -> int:
    """0 all complete; 1 some report failed (or ``rejected``: --strict and some proposal was
    rejected); 3 none failed but some are partial."""
    statuses = {r.status for r in records}
    if "failed" in statuses:
        return 1
    if "partial" in statuses:
        return 3
    return 1 if rejected else 0


def write_csv(results: Iterable[Result], path: Path, min_confidence: float | None = None) -> None:
    """The long panel, written as the results stream in (a batch's come from its journal)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = write_panel(results, path, min_confidence=min_confidence)
    typer.echo(f"wrote {path} ({rows} figures)", err=True)


def print_summary(summary: BatchSummary, out: Path) -> None:
    p = summary.progress
    parts = [f"{p.total} reports: {p.complete} complete, {p.partial} partial, {p.failed} failed"]
    if p.skipped:
        parts.append(f"{p.skipped} already done (skipped)")
    if summary.duplicates:
        parts.append(f"{len(summary.duplicates)} duplicate files (same bytes) not run twice")
    typer.echo(f"{', '.join(parts)} -> {out}", err=True)
    if summary.repaired_bytes:
        typer.echo(f"  cut a torn last line ({summary.repaired_bytes} bytes) off {out}", err=True)
    for record in summary.records:
        if record.status != "complete":
            typer.echo(f"  {record.status}: {_naming_the_report(record)}", err=True)
    if summary.abandoned:
        typer.echo(f"  {summary.abandoned} reports were still running at the deadline", err=True)


def _naming_the_report(record: ReportRecord) -> str:
    """The record's error, led by the report's path unless it already starts with it."""
    error = record.error or "no result"
    return error if error.startswith(record.source) else f"{record.source}: {error}"
