"""The tables a researcher builds a panel from, and the source texts their offsets index.

Every table is a list of rows (column -> Python value) with a declared column type, written as
CSV (csv module, no pandas needed) or Parquet (pandas + pyarrow, the ``panel`` extra). The
types are what pandas and polars get: ``year`` and counts are nullable integers (``Int64``),
values floats, flags booleans, everything else text.

A batch writes each report's cleaned text (``Source.text``, what every ``span`` indexes) to
``<journal stem>.sources/<sha256 prefix>.txt`` beside the journal (or ``--sources DIR``);
every table names that file in ``source_text``, relative to the table's own folder.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fazhi.discover import SOURCES_SUFFIX
from fazhi.errors import FazhiError
from fazhi.export.jsonl import ReportRecord
from fazhi.locality import Locality, resolve_locality
from fazhi.model import Result

ColumnType = Literal["int", "float", "bool", "str"]
Columns = Mapping[str, ColumnType]
Row = dict[str, Any]

PANDAS_DTYPES: dict[ColumnType, str] = {
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "str": "string",
}
TITLE_CHARS = 200  # the start of the text, where the title and issuer stand


class MissingExtraError(FazhiError):
    """pandas or pyarrow is needed and not installed (one line for the user)."""


# --- source texts --------------------------------------------------------------------------


def default_sources_dir(journal: str | Path) -> Path:
    journal = Path(journal)
    return journal.with_name(f"{journal.stem}{SOURCES_SUFFIX}")


def source_text_path(sources_dir: str | Path, sha256: str) -> Path:
    """Where a batch keeps the cleaned text of the report with these bytes."""
    return Path(sources_dir) / f"{sha256[:16]}.txt"


def write_source_text(sources_dir: str | Path, sha256: str, text: str) -> Path:
    path = source_text_path(sources_dir, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")  # offsets count "\r" too: keep them
    os.replace(tmp, path)
    return path


# --- one entry per report ------------------------------------------------------------------


@dataclass
class ReportEntry:
    """A report with everything the tables say about it."""

    result: Result | None
    record: ReportRecord | None
    locality: Locality
    source: str
    sha256: str
    text_path: Path | None  # the written cleaned text, if there is one

    @property
    def year(self) -> int | None:
        return self.result.meta.year if self.result else None

    @property
    def panel_key(self) -> str:
        """``adcode:…``, else ``name:…`` (simplified), else ``file:…``: never empty, never merged
        blindly, and always text (a bare code would make CSV readers guess an integer column).

        An ambiguous name (鼓楼区 of an unknown city) keys by file: two such reports may be
        different places, so they are not merged into one row."""
        if self.locality.adcode:
            return f"adcode:{self.locality.adcode}"
        if self.locality.region_name and self.locality.status != "ambiguous":
            return f"name:{self.locality.region_name}"
        return f"file:{self.source}"


def report_entries(
    items: Iterable[Result | ReportRecord], sources_dir: str | Path | None = None
) -> list[ReportEntry]:
    """Each result or journal record with its locality (resolved in its own context)."""
    entries = []
    for item in items:
        record = item if isinstance(item, ReportRecord) else None
        result = item.result if isinstance(item, ReportRecord) else item
        sha = item.source_sha256
        text_path = source_text_path(sources_dir, sha) if sources_dir and sha else None
        if text_path is not None and not text_path.is_file():
            text_path = None
        text = text_path.read_text(encoding="utf-8") if text_path else ""
        locality = _locality(result, text)
        entries.append(ReportEntry(result, record, locality, item.source, sha, text_path))
    return entries


def _locality(result: Result | None, text: str) -> Locality:
    if result is None:
        return Locality(note="no result")
    meta = result.meta
    context = [
        ("issuer", meta.issuer or ""),
        ("title", text[:TITLE_CHARS]),
        ("text", text),
    ]
    return resolve_locality(meta.region, year=meta.year, context=context)


def locality_cells(entry: ReportEntry) -> Row:
    loc = entry.locality
    return {
        "panel_key": entry.panel_key,
        "region": loc.region,
        "region_name": loc.region_name,
        "adcode": loc.adcode,
        "province": loc.province,
        "city": loc.city,
        "level": loc.level,
        "locality_status": loc.status,
    }


LOCALITY_COLUMNS: dict[str, ColumnType] = {
    "panel_key": "str",
    "region": "str",
    "region_name": "str",
    "adcode": "str",
    "province": "str",
    "city": "str",
    "level": "str",
    "locality_status": "str",
}


def relative(path: Path | None, base: Path | None) -> str | None:
    """``path`` as the tables name it: relative to the folder they are written to."""
    if path is None:
        return None
    if base is None:
        return str(path)
    return os.path.relpath(path, base)


# --- writing -------------------------------------------------------------------------------


def write_csv(rows: Sequence[Row], columns: Columns, path: str | Path) -> None:
    """CSV with a byte-order mark (Excel shows the Chinese), ``True``/``False``, empty = null."""
    with Path(path).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(_csv_cell(row.get(name), kind) for name, kind in columns.items())


def _csv_cell(value: Any, kind: ColumnType) -> str:
    if value is None:
        return ""
    if kind == "float":
        return repr(float(value))
    if kind == "int":
        return str(int(value))
    return str(value)


def to_dataframe(rows: Sequence[Row], columns: Columns) -> Any:
    """A pandas DataFrame with the declared types (nullable Int64, boolean, string)."""
    pd = require("pandas")
    frame = pd.DataFrame({name: [row.get(name) for row in rows] for name in columns})
    return frame.astype({name: PANDAS_DTYPES[kind] for name, kind in columns.items()})


def write_parquet(rows: Sequence[Row], columns: Columns, path: str | Path) -> None:
    require("pyarrow")
    to_dataframe(rows, columns).to_parquet(path, index=False)


def require(module: str) -> Any:
    """Import an optional dependency or say in one line how to get it."""
    try:
        return __import__(module)
    except ImportError:
        raise MissingExtraError(
            f"{module} is not installed; install the panel extra: pip install 'fazhi[panel]' "
            "(in a checkout: pip install -e '.[panel]')"
        ) from None


# --- the per-report table and the text items ---------------------------------------------

REPORT_COLUMNS: dict[str, ColumnType] = {
    "source": "str",
    "source_sha256": "str",
    "source_text": "str",
    "status": "str",
    "error": "str",
    "error_stage": "str",
    "encoding": "str",
    "kind": "str",
    "backend": "str",
    "model": "str",
    "meta_region": "str",
    "meta_issuer": "str",
    "year": "int",
    "published": "str",
    **LOCALITY_COLUMNS,
    "locality_note": "str",
    "figures": "int",
    "rejections": "int",
    "conflicts": "int",
    "shortcomings": "int",
    "plans": "int",
    "chunks": "int",
    "chunk_errors": "int",
    "ingest_warnings": "int",
    "prompt_tokens": "int",
    "completion_tokens": "int",
    "calls": "int",
    "reasks": "int",
    "seconds": "float",
}

TEXT_ITEM_COLUMNS: dict[str, ColumnType] = {
    "panel_key": "str",
    "adcode": "str",
    "region_name": "str",
    "year": "int",
    "item": "str",
    "index": "int",
    "quote": "str",
    "span_start": "int",
    "span_end": "int",
    "source": "str",
    "source_sha256": "str",
    "source_text": "str",
}


def report_rows(entries: Sequence[ReportEntry], base: Path | None = None) -> list[Row]:
    """One row per report, failed ones included."""
    return [_report_row(entry, base) for entry in entries]


def _report_row(entry: ReportEntry, base: Path | None) -> Row:
    result, record = entry.result, entry.record
    usage = result.usage if result else (record.usage if record else None)
    meta = result.meta if result else None
    row: Row = {
        "source": entry.source,
        "source_sha256": entry.sha256,
        "source_text": relative(entry.text_path, base),
        "status": _attr(result, "status") or (record.status if record else "complete"),
        "error": record.error if record else None,
        "error_stage": record.error_stage if record else None,
        "encoding": _attr(result, "encoding") or _attr(record, "encoding"),
        "kind": _attr(result, "kind") or _attr(record, "kind"),
        "backend": result.backend if result else (record.backend if record else None),
        "model": result.model if result else (record.model if record else None),
        "meta_region": meta.region if meta else None,
        "meta_issuer": meta.issuer if meta else None,
        "year": meta.year if meta else None,
        "published": meta.published if meta else None,
        **locality_cells(entry),
        "locality_note": entry.locality.note or None,
        "seconds": record.seconds if record else None,
    }
    row.update(_counts(result))
    for name in ("prompt_tokens", "completion_tokens", "calls", "reasks"):
        row[name] = getattr(usage, name) if usage else None
    return row


def _counts(result: Result | None) -> Row:
    if result is None:
        return {}
    return {
        "figures": len(result.figures),
        "rejections": len(result.rejected),
        "conflicts": len(result.conflicts),
        "shortcomings": len(result.shortcomings),
        "plans": len(result.plans),
        "chunks": result.chunks,
        "chunk_errors": len(result.chunk_errors),
        "ingest_warnings": _count(getattr(result, "warnings", None)),
    }


def _count(items: object) -> int | None:
    # Result.warnings (what ingest repaired) exists once ingest's field lands: empty until then
    return len(items) if isinstance(items, list | tuple) else None


def _attr(obj: object, name: str) -> str | None:
    # fields other helpers add to Result/ReportRecord (status, encoding, kind): used if there
    value = getattr(obj, name, None) if obj is not None else None
    return value if isinstance(value, str) else None


def text_item_rows(entries: Sequence[ReportEntry], base: Path | None = None) -> list[Row]:
    """Every shortcoming and plan item with its offsets into the written source text."""
    rows: list[Row] = []
    for entry in entries:
        if entry.result is None:
            continue
        kinds = (("shortcoming", entry.result.shortcomings), ("plan", entry.result.plans))
        for item_kind, items in kinds:
            for index, item in enumerate(items):
                span = item.span or (None, None)
                rows.append(
                    {
                        "panel_key": entry.panel_key,
                        "adcode": entry.locality.adcode,
                        "region_name": entry.locality.region_name,
                        "year": entry.year,
                        "item": item_kind,
                        "index": index,
                        "quote": item.quote,
                        "span_start": span[0],
                        "span_end": span[1],
                        "source": entry.source,
                        "source_sha256": entry.sha256,
                        "source_text": relative(entry.text_path, base),
                    }
                )
    return rows
