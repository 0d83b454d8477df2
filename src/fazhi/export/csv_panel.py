"""The long panel: one CSV row per accepted figure, ready for pandas, R or a spreadsheet.

Written so ``pandas.read_csv(path)`` needs no arguments: ``value`` always carries a decimal
point (float), ``approx`` is ``True``/``False`` (bool), spans are plain integers. ``year`` is an
integer column as long as every report states its year; a report without one leaves the cell
empty, and pandas then reads the column as float unless told ``dtype={"year": "Int64"}``.
Every row carries its report's ``status``: a partial report's rows are what its answered chunks
gave, not the whole report. The file starts with a UTF-8 byte-order mark so spreadsheet
programs show the Chinese text; pandas and R skip it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from fazhi.catalog import Catalog, default_catalog
from fazhi.model import Figure, Result

PANEL_COLUMNS: tuple[str, ...] = (
    "region",
    "year",
    "indicator",
    "group",
    "value",
    "kind",
    "scope",
    "approx",
    "confidence",  # 0..1, how sure the tool is (docs/confidence.md); low first when reviewing
    "sources",  # the labellers that proposed it, "+"-joined: rules, llm, rules+llm
    "review",  # why to check it, " | "-joined review reasons ("" when none)
    "raw",
    "quote",
    "span_start",
    "span_end",
    "source",
    "backend",
    "model",
    "status",  # the report's: complete, or partial (some chunks failed: figures may be missing)
)


def panel_rows(
    results: Iterable[Result],
    catalog: Catalog | None = None,
    min_confidence: float | None = None,
) -> Iterator[dict[str, str]]:
    """One row (column -> cell text) per figure of each result, in report then figure order;
    with ``min_confidence``, only figures at least that confident (unscored ones are kept)."""
    catalog = catalog or default_catalog()
    for result in results:
        for figure in result.figures:
            if _confident_enough(figure, min_confidence):
                yield _row(result, figure, catalog)


def _confident_enough(figure: Figure, min_confidence: float | None) -> bool:
    if min_confidence is None or figure.confidence is None:
        return True
    return figure.confidence >= min_confidence


def write_panel(
    results: Iterable[Result],
    path: str | Path,
    catalog: Catalog | None = None,
    *,
    min_confidence: float | None = None,
) -> int:
    """Write the panel to ``path``; returns the number of figure rows written."""
    count = 0
    with Path(path).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=PANEL_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in panel_rows(results, catalog, min_confidence):
            writer.writerow(row)
            count += 1
    return count


def _row(result: Result, figure: Figure, catalog: Catalog) -> dict[str, str]:
    indicator = catalog.indicators.get(figure.indicator)
    span = figure.span or (None, None)
    return {
        "region": result.meta.region or "",
        "year": _cell(result.meta.year),
        "indicator": figure.indicator,
        "group": indicator.group if indicator else "",
        "value": repr(float(figure.value)),
        "kind": indicator.kind if indicator else "",
        "scope": figure.scope or "",
        "approx": str(bool(figure.approx)),
        "confidence": "" if figure.confidence is None else repr(float(figure.confidence)),
        "sources": "+".join(figure.sources),
        "review": " | ".join(figure.review),
        "raw": figure.raw,
        "quote": figure.quote,
        "span_start": _cell(span[0]),
        "span_end": _cell(span[1]),
        "source": result.source,
        "backend": result.backend or "",
        "model": result.model or "",
        "status": result.status,
    }


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)
