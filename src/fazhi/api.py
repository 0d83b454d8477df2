"""The Python API for notebooks: extract, read a batch journal, get a pandas panel.

    import fazhi
    result = fazhi.extract("evals/corpus/kunshan-2021.txt")          # rules backend, offline
    results = fazhi.read_journal("out.jsonl")                        # a batch's results
    wide = fazhi.to_panel(results, sources="out.sources")            # pandas DataFrame

``to_panel`` needs pandas (the ``panel`` extra); without it the error says how to get it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from fazhi.cli.backends import LLMOptions, make_backend
from fazhi.export import latest_records, read_records
from fazhi.export.jsonl import ReportRecord
from fazhi.export.panel import build_tables
from fazhi.export.tables import report_entries, to_dataframe
from fazhi.model import Result, Source
from fazhi.pipeline import extract as run_pipeline
from fazhi.pipeline import extract_file

PANEL_TABLES = ("panel_wide", "panel_long", "reports", "text_items")


def extract(
    path_or_text: str | Path,
    backend: str = "rules",
    *,
    chunk_size: int | None = None,
    **options: Any,
) -> Result:
    """Extract one report: a file path (txt in any encoding, html, pdf) or the text itself.

    ``backend`` is ``rules`` (offline), ``llm``, ``hybrid`` or ``auto``; ``options`` are the
    LLM settings of ``fazhi extract`` (``model``, ``base_url``, ``api_key_env``, ``mode``,
    ``concurrency``, ``cache_dir``, ``use_cache``, ``max_reasks``, ``timeout``). A string that
    names an existing file is read as that file; any other string is the report's text.
    """
    unknown = sorted(set(options) - {f.name for f in fields(LLMOptions)})
    if unknown:
        known = ", ".join(f.name for f in fields(LLMOptions))
        raise TypeError(f"unknown option(s) {', '.join(unknown)}; extract takes {known}")
    engine = make_backend(backend, LLMOptions(**options), announce=False)
    if isinstance(path_or_text, Path) or _is_file(path_or_text):
        _source, result = extract_file(path_or_text, engine, chunk_size=chunk_size)
        return result
    return run_pipeline(Source(text=path_or_text), engine, chunk_size=chunk_size)


def _is_file(text: str) -> bool:
    if "\n" in text or len(text) > 1024:
        return False
    try:
        return Path(text).is_file()
    except OSError:  # a name too long for the file system is text
        return False


def read_journal(
    path: str | Path, *, statuses: Iterable[str] = ("complete", "partial")
) -> list[Result]:
    """The results of a batch journal, newest per report, of the given statuses.

    A ``partial`` result (some chunks failed) holds only verified figures and is kept by
    default; its ``status`` says it is incomplete. Reports that failed without a result are
    never returned (the ``reports`` table of ``fazhi panel`` lists them).
    """
    wanted = set(statuses)
    records = latest_records(read_records(path))
    return [r.result for r in records if r.result is not None and r.status in wanted]


def to_panel(
    results: Iterable[Result | ReportRecord],
    wide: bool = True,
    *,
    sources: str | Path | None = None,
    table: str | None = None,
) -> Any:
    """The panel as a pandas DataFrame: wide (one row per locality-year) or long (one row per
    figure). ``table`` picks any of ``panel_wide``, ``panel_long``, ``reports``,
    ``text_items``. ``sources`` is the batch's source-text folder (``OUT.sources``): with it the
    locality is resolved in the report's own context and tables name the texts."""
    name = table or ("panel_wide" if wide else "panel_long")
    if name not in PANEL_TABLES:
        raise ValueError(f"unknown table {name!r}; choose one of {', '.join(PANEL_TABLES)}")
    rows, columns = build_tables(report_entries(results, sources))[name]
    return to_dataframe(rows, columns)
