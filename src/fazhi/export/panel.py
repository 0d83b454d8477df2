"""The panel: locality x year x indicator, with every candidate value kept and the choice said.

**Cells.** A cell is (panel key, year, indicator); the panel key is the locality's adcode, else
its simplified name, else the report's file (a report without a region is never merged with
another). A report without a year keeps its own row (its year is empty, its file in the key).

**The choice rule** (one value per cell in the wide table):

1. candidates whose scope is the whole locality -- no scope stated, ``全市/全区/全县`` or the
   locality's own name -- come first; scopes such as ``市政府``, ``区政府本级`` or
   ``以市政府为被告`` are part of the locality;
2. if the whole-locality candidates hold exactly one value, it is chosen;
3. with no whole-locality candidate, a single value among the others is chosen;
4. otherwise nothing is chosen: the cell stays empty and the long table says why.

Whatever is chosen, ``<indicator>__values`` in the wide table counts the distinct values the
cell had, so a cell with several values is visible (``> 1``) and never silently collapsed; the
long table has every candidate with its scope, quote, offsets and the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from fazhi.catalog import Catalog, default_catalog
from fazhi.export.tables import (
    LOCALITY_COLUMNS,
    REPORT_COLUMNS,
    TEXT_ITEM_COLUMNS,
    ColumnType,
    ReportEntry,
    Row,
    locality_cells,
    relative,
    report_rows,
    require,
    text_item_rows,
    write_csv,
    write_parquet,
)
from fazhi.locality import to_simplified
from fazhi.model import Figure

WHOLE_SCOPES = {"全市", "全区", "全县", "全旗", "全州", "全省", "全盟"}

LONG_COLUMNS: dict[str, ColumnType] = {
    **LOCALITY_COLUMNS,
    "year": "int",
    "indicator": "str",
    "indicator_name": "str",
    "group": "str",
    "kind": "str",
    "value": "float",
    "raw": "str",
    "approx": "bool",
    "confidence": "float",
    "sources": "str",
    "review": "str",
    "scope": "str",
    "whole_locality": "bool",
    "chosen": "bool",
    "cell_values": "int",
    "reason": "str",
    "quote": "str",
    "span_start": "int",
    "span_end": "int",
    "report_status": "str",
    "source": "str",
    "source_sha256": "str",
    "source_text": "str",
    "backend": "str",
    "model": "str",
}

WIDE_KEY_COLUMNS: dict[str, ColumnType] = {
    **LOCALITY_COLUMNS,
    "year": "int",
    "reports": "int",
    "multi_valued": "str",
    "flags": "str",
    "report_files": "str",  # the reports of the cell ("sources" is the labellers, long panel)
}

CellKey = tuple[str, str, str]  # panel key, year or file, indicator


def long_rows(
    entries: Sequence[ReportEntry], catalog: Catalog | None = None, base: Path | None = None
) -> list[Row]:
    """One row per accepted figure, with the cell's choice filled in."""
    catalog = catalog or default_catalog()
    rows: list[Row] = []
    for entry in entries:
        if entry.result is None:
            continue
        for figure in entry.result.figures:
            rows.append(_figure_row(entry, figure, catalog, base))
    cells: dict[CellKey, list[Row]] = defaultdict(list)
    for row in rows:
        cells[_cell_key(row)].append(row)
    for candidates in cells.values():
        choose(candidates)
    return rows


def _cell_key(row: Row) -> CellKey:
    return (*_row_key(row["panel_key"], row["year"], row["source"]), row["indicator"])


def _figure_row(entry: ReportEntry, figure: Figure, catalog: Catalog, base: Path | None) -> Row:
    assert entry.result is not None
    indicator = catalog.indicators.get(figure.indicator)
    span = figure.span or (None, None)
    return {
        **locality_cells(entry),
        "year": entry.year,
        "indicator": figure.indicator,
        "indicator_name": indicator.name if indicator else None,
        "group": indicator.group if indicator else None,
        "kind": indicator.kind if indicator else None,
        "value": float(figure.value),
        "raw": figure.raw,
        "approx": bool(figure.approx),
        "confidence": figure.confidence,
        "sources": "+".join(figure.sources),
        "review": " | ".join(figure.review),
        "scope": figure.scope,
        "whole_locality": is_whole_locality(figure.scope, entry),
        "quote": figure.quote,
        "span_start": span[0],
        "span_end": span[1],
        "report_status": _report_status(entry),
        "source": entry.source,
        "source_sha256": entry.sha256,
        "source_text": relative(entry.text_path, base),
        "backend": entry.result.backend,
        "model": entry.result.model,
    }


def _report_status(entry: ReportEntry) -> str | None:
    status = getattr(entry.result, "status", None)  # Result.status once it exists
    if isinstance(status, str):
        return status
    return entry.record.status if entry.record else None


def is_whole_locality(scope: str | None, entry: ReportEntry) -> bool:
    if not scope:
        return True
    simplified = to_simplified(scope)
    own = {n for n in (entry.locality.region_name, entry.locality.region) if n}
    return simplified in WHOLE_SCOPES or simplified in own or scope in own


def choose(candidates: list[Row]) -> None:
    """Apply the choice rule to one cell's rows (in place: chosen, cell_values, reason)."""
    distinct = sorted({row["value"] for row in candidates})
    whole = [row for row in candidates if row["whole_locality"]]
    pool = whole or candidates
    pool_values = sorted({row["value"] for row in pool})
    chosen = pool[0] if len(pool_values) == 1 else None
    for row in candidates:
        row["cell_values"] = len(distinct)
        row["chosen"] = row is chosen
        row["reason"] = _reason(row, chosen, whole, pool_values)


def _reason(row: Row, chosen: Row | None, whole: list[Row], pool_values: list[float]) -> str:
    if chosen is None:
        what = "whole-locality values" if whole else "values, none for the whole locality"
        shown = ", ".join(format_number(v) for v in pool_values)
        return f"not chosen: {len(pool_values)} different {what} ({shown})"
    if row is chosen:
        if whole:
            return "chosen: the only whole-locality value"
        return f"chosen: the only value (scope {row['scope']}; none for the whole locality)"
    if row["value"] == chosen["value"]:
        return "same value as the chosen row"
    return f"scope {row['scope']!r} is part of the locality; the whole-locality value is chosen"


def format_number(value: float) -> str:
    """1703000.0 -> "1703000", 40.8 -> "40.8": as a reader writes it, never in e-notation."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def wide_rows(
    entries: Sequence[ReportEntry], long: Sequence[Row], indicators: Sequence[str]
) -> list[Row]:
    """One row per (panel key, year), also for reports without figures: the chosen value and
    the number of distinct values of every indicator."""
    groups: dict[tuple[str, str], list[ReportEntry]] = defaultdict(list)
    for entry in entries:
        if entry.result is not None:
            groups[_row_key(entry.panel_key, entry.year, entry.source)].append(entry)
    cells: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in long:
        cells[_row_key(row["panel_key"], row["year"], row["source"])].append(row)
    return [_wide_row(group, cells[key], indicators) for key, group in groups.items()]


def _row_key(panel_key: str, year: int | None, source: str) -> tuple[str, str]:
    return (panel_key, str(year) if year is not None else f"no year:{source}")


def _wide_row(entries: list[ReportEntry], rows: list[Row], indicators: Sequence[str]) -> Row:
    wide: Row = locality_cells(entries[0])
    files = sorted({entry.source for entry in entries})
    printed = sorted({e.locality.region for e in entries if e.locality.region})
    wide["region"] = "; ".join(printed) or None
    wide["year"] = entries[0].year
    wide["reports"] = len(files)
    wide["report_files"] = "; ".join(files)
    by_indicator: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_indicator[row["indicator"]].append(row)
    multi = []
    for indicator in indicators:
        cell = by_indicator.get(indicator, [])
        chosen = next((row for row in cell if row["chosen"]), None)
        wide[indicator] = chosen["value"] if chosen else None
        wide[f"{indicator}__values"] = cell[0]["cell_values"] if cell else 0
        if cell and cell[0]["cell_values"] > 1:
            multi.append(indicator)
    wide["multi_valued"] = "; ".join(multi) or None
    wide["flags"] = "; ".join(_flags(wide)) or None
    return wide


def _flags(row: Row) -> list[str]:
    flags = []
    if row["year"] is None:
        flags.append("no_year")
    if row["locality_status"] == "missing":
        flags.append("no_region")
    elif row["locality_status"] in ("ambiguous", "unknown"):
        flags.append(f"region_{row['locality_status']}")
    return flags


def wide_columns(indicators: Sequence[str]) -> dict[str, ColumnType]:
    columns = dict(WIDE_KEY_COLUMNS)
    for indicator in indicators:
        columns[indicator] = "float"
        columns[f"{indicator}__values"] = "int"
    return columns


def panel_indicators(long: Sequence[Row], catalog: Catalog | None = None) -> list[str]:
    """Catalog order, every catalog indicator (a stable schema across batches), then others."""
    catalog = catalog or default_catalog()
    ids = list(catalog.ids)
    return ids + sorted({row["indicator"] for row in long} - set(ids))


TABLES = ("panel_wide", "panel_long", "reports", "text_items")


def build_tables(
    entries: Sequence[ReportEntry], catalog: Catalog | None = None, base: Path | None = None
) -> dict[str, tuple[list[Row], dict[str, ColumnType]]]:
    """Every table by name, with its column types; paths in them relative to ``base``."""
    long = long_rows(entries, catalog, base)
    indicators = panel_indicators(long, catalog)
    return {
        "panel_wide": (wide_rows(entries, long, indicators), wide_columns(indicators)),
        "panel_long": (long, LONG_COLUMNS),
        "reports": (report_rows(entries, base), REPORT_COLUMNS),
        "text_items": (text_item_rows(entries, base), TEXT_ITEM_COLUMNS),
    }


def write_tables(
    entries: Sequence[ReportEntry],
    out_dir: str | Path,
    *,
    parquet: bool = False,
    catalog: Catalog | None = None,
) -> dict[str, int]:
    """Write every table as CSV (and Parquet) into ``out_dir``; returns rows per table."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if parquet:
        require("pandas"), require("pyarrow")  # fail before writing anything
    written = {}
    for name, (rows, columns) in build_tables(entries, catalog, out.resolve()).items():
        write_csv(rows, columns, out / f"{name}.csv")
        if parquet:
            write_parquet(rows, columns, out / f"{name}.parquet")
        written[name] = len(rows)
    return written
