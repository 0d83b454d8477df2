"""Results on disk and on screen: the batch journal (JSONL), the long CSV panel, the HTML view.

Pure formatting over ``fazhi.model`` types plus plain file writes; no terminal, no network.
"""

from fazhi.export.csv_panel import PANEL_COLUMNS, panel_rows, write_panel
from fazhi.export.html_view import render_view, span_mismatches
from fazhi.export.jsonl import (
    ReportRecord,
    append_record,
    latest_records,
    read_records,
    record_key,
    repair,
    rewrite,
)

__all__ = [
    "PANEL_COLUMNS",
    "ReportRecord",
    "append_record",
    "latest_records",
    "panel_rows",
    "read_records",
    "record_key",
    "render_view",
    "repair",
    "rewrite",
    "span_mismatches",
    "write_panel",
]
