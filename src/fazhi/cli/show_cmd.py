"""``fazhi show``: a result as a self-contained HTML page over its source text."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError

from fazhi.cli import app
from fazhi.errors import FazhiError
from fazhi.export import ReportRecord, read_records, render_view, span_mismatches
from fazhi.export.tables import default_sources_dir, source_text_path
from fazhi.ingest import IngestError, read_source
from fazhi.model import Result

BESIDE = ".source.txt"


class ShowInputError(FazhiError):
    """A result or source that cannot be shown: one line, exit code 2."""


@app.command("show")
def show_command(
    result_path: Path = typer.Argument(
        ...,
        metavar="RESULT",
        help="A Result JSON from `fazhi extract`, or a batch's OUT.jsonl: its summary page, "
        "or one report with --pick.",
    ),
    source: Path | None = typer.Option(
        None,
        "--source",
        help="The report (or its NAME.source.txt); default: the .source.txt beside RESULT, "
        "else the path stored in the result. For a journal's summary: its source-text folder "
        "(default OUT.sources).",
    ),
    out: Path | None = typer.Option(
        None, "-o", "--out", help="Where to write the page (default: RESULT with .html)."
    ),
    pick: str | None = typer.Option(
        None,
        "--pick",
        help="With a JSONL journal: the report whose source path contains this text (the "
        "newest of its results when the journal holds several).",
    ),
) -> None:
    """Write a result as an HTML page over its source text.

    Every accepted figure is highlighted at its span (colour per
    indicator group, the printed number in bold; hover for indicator,
    value and scope), shortcomings and plans are underlined, rejected
    proposals are listed with their reasons. The page is self-contained
    (no network) and opens in any browser.

    Examples:
      fazhi extract evals/corpus/kunshan-2021.txt -o kunshan.json
      fazhi show kunshan.json -o kunshan.html
      fazhi show out.jsonl -o summary.html   (the batch at a glance)
      fazhi show out.jsonl --pick qidong -o qidong.html
    """
    if result_path.suffix == ".jsonl" and pick is None and result_path.is_file():
        _show_summary(result_path, source, out or result_path.with_suffix(".html"))
        return
    result = _load_result(result_path, pick)  # a FazhiError: one line, exit 2 (fazhi.cli)
    text = _source_text(result, result_path, source)
    target = out or result_path.with_suffix(".html")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_view(result, text), encoding="utf-8")
    typer.echo(
        f"wrote {target} ({len(result.figures)} figures, {len(result.rejected)} rejected)", err=True
    )


def _show_summary(journal: Path, sources: Path | None, target: Path) -> None:
    """The batch summary page, with an evidence view per report in TARGET.reports/."""
    from fazhi.export import latest_records
    from fazhi.export.summary_html import write_summary
    from fazhi.export.tables import report_entries

    entries = report_entries(
        latest_records(read_records(journal)), sources or default_sources_dir(journal)
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    page, views = write_summary(entries, target)
    typer.echo(f"wrote {page} ({len(entries)} reports, {views} evidence views)", err=True)


def _load_result(path: Path, pick: str | None) -> Result:
    if not path.is_file():
        raise ShowInputError(f"{path}: no such file")
    if path.suffix == ".jsonl":
        return _pick_record(read_records(path), path, pick)
    try:
        return Result.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError) as exc:
        raise ShowInputError(f"{path}: not a fazhi Result JSON ({_first_line(exc)})") from None


def _pick_record(records: list[ReportRecord], path: Path, pick: str | None) -> Result:
    """The one report ``pick`` names; several results for that one path: the newest line wins
    (a report rerun after an edit, or with another model, is appended after the older one)."""
    usable = [r for r in records if r.result is not None]
    chosen = [r for r in usable if pick is None or pick in r.source]
    sources = list(dict.fromkeys(r.source for r in chosen))
    if len(sources) != 1:
        names = ", ".join(sources[:5]) or "none"
        how = f"--pick {pick!r} matches" if pick else "pick one of the"
        raise ShowInputError(
            f"{path}: {how} {len(sources)} reports with results ({names}); use --pick TEXT"
        )
    newest = chosen[-1]
    if len(chosen) > 1:
        typer.echo(
            f"fazhi show: {len(chosen)} results for {newest.source} in {path}; showing the "
            f"newest ({newest.backend}, {newest.model or 'no model'}, started {newest.started})",
            err=True,
        )
    return newest.result  # type: ignore[return-value]


def _source_text(result: Result, result_path: Path, source: Path | None) -> str:
    """The text the result's offsets refer to; refuses any other text."""
    beside = result_path.with_name(f"{result_path.stem}{BESIDE}")  # written by `fazhi extract -o`
    if result_path.suffix == ".jsonl" and result.source_sha256:  # a batch wrote the text
        beside = source_text_path(default_sources_dir(result_path), result.source_sha256)
    if source is not None:
        text, where = _read_text(source), str(source)
    elif beside.is_file():
        text, where = beside.read_text(encoding="utf-8"), str(beside)
    elif result.source:
        stored = Path(result.source)
        candidates = [stored, result_path.parent / stored]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise ShowInputError(f"source text {result.source} not found; pass --source REPORT")
        text, where = _read_text(found), str(found)
    else:
        raise ShowInputError("the result names no source file; pass --source REPORT")
    problems = span_mismatches(result, text)
    if problems:
        raise ShowInputError(
            f"{where} is not the text this result's offsets refer to "
            f"({len(problems)} spans differ, first: {problems[0]})"
        )
    return text


def _read_text(path: Path) -> str:
    if path.name.endswith(BESIDE):  # written by fazhi: already the cleaned text
        return path.read_text(encoding="utf-8")
    try:
        return read_source(path).text
    except IngestError as exc:
        raise ShowInputError(str(exc)) from None


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]
