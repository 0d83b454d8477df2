"""``fazhi panel``: a batch journal as the tables a researcher builds a panel from."""

from __future__ import annotations

from pathlib import Path

import typer

from fazhi.cli import app
from fazhi.errors import FazhiError
from fazhi.export import latest_records, read_records
from fazhi.export.panel import write_tables
from fazhi.export.tables import default_sources_dir, report_entries


class PanelInputError(FazhiError):
    """A journal that cannot be made into tables."""


@app.command("panel")
def panel_command(
    journal: Path = typer.Argument(
        ..., metavar="JOURNAL.jsonl", help="The journal of `fazhi extract ... -o JOURNAL.jsonl`."
    ),
    out: Path = typer.Option(..., "-o", "--out", help="Folder to write the tables into."),
    sources: Path | None = typer.Option(
        None,
        "--sources",
        help="Folder of the batch's source texts (default: JOURNAL.sources beside the journal).",
    ),
    parquet: bool = typer.Option(
        False, "--parquet", help="Also write Parquet (needs the panel extra: pandas, pyarrow)."
    ),
) -> None:
    """Write the panel tables of a batch as CSV (and Parquet).

    panel_wide: one row per (locality, year), one column per indicator
    (the chosen value) and INDICATOR__values (how many distinct values the
    cell had: > 1 is flagged in multi_valued). panel_long: every figure,
    its scope, quote, offsets and why it was or was not chosen.
    reports: one row per report. text_items: shortcomings and plans.
    Offsets index the source texts named in source_text.

    Examples:
      fazhi extract evals/corpus evals/dev/corpus -o out.jsonl
      fazhi panel out.jsonl -o panel/ --parquet
    """
    # A FazhiError (no such journal, no pandas for --parquet) is one line, exit 2 (fazhi.cli).
    if not journal.is_file():
        raise PanelInputError(f"{journal}: no such file")
    records = latest_records(read_records(journal))
    if not records:
        raise PanelInputError(f"{journal}: no report records in it")
    sources_dir = sources or default_sources_dir(journal)
    entries = report_entries(records, sources_dir)
    written = write_tables(entries, out, parquet=parquet)
    without_text = sum(1 for e in entries if e.result is not None and e.text_path is None)
    counts = ", ".join(f"{name} {rows}" for name, rows in written.items())
    typer.echo(f"wrote {out}/ ({counts} rows)", err=True)
    if without_text:
        typer.echo(
            f"  {without_text} reports have no source text in {sources_dir}: their offsets "
            "index the cleaned text, which `fazhi extract` writes there",
            err=True,
        )
