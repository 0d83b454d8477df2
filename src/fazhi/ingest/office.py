"""A Word ``.docx`` file -> its text, one paragraph (or table row) a line, via python-docx."""

from __future__ import annotations

from pathlib import Path

from fazhi.ingest.decode import Undecodable


def docx_text(path: Path) -> str:
    """Body paragraphs and table rows in document order (cells of a row joined by a tab)."""
    import docx  # python-docx: only paid for .docx input
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # zipfile/lxml raise many types for a broken package
        raise Undecodable(f"not a readable .docx file ({type(exc).__name__})") from None
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend("\t".join(cell.text for cell in row.cells) for row in block.rows)
        else:
            lines.append(block.text)
    return "\n".join(lines)
