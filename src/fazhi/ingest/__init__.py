"""A report file -> ``Source``: the text every offset of the tool refers to.

Reads ``.txt`` in any of the encodings Chinese government sites use (``ingest.decode``: UTF-8
with or without BOM, GBK/GB18030, Big5, UTF-16 with or without BOM; a damaged UTF-8 file is read
with a warning), ``.html``/``.htm`` (the report body, via trafilatura), ``.pdf`` with a text
layer (``ingest.pdf``: wrapped lines rejoined, page numbers and running headers dropped) and
``.docx`` (python-docx). The encoding actually used is always reported in ``Source.encoding``;
nothing is guessed silently. The text is then cleaned of page residue (``ingest.clean``:
invisible characters, no-break spaces, inserted pinyin, look-alike characters) and checked to
be a Chinese report (``ingest.report_check``: mojibake and unrelated text are errors).
Offsets refer to that cleaned text, which is what the tool shows and writes beside its output.

Every problem a user must fix (missing, empty, binary, scanned PDF, unsupported type, not a
report) is an ``IngestError`` whose message is one line naming the file; what the user should
know but need not fix (a damaged byte, residue removed) is in ``Source.warnings``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fazhi.errors import FazhiError
from fazhi.ingest.clean import clean_text
from fazhi.ingest.decode import Undecodable, decode_bytes, decode_report_bytes
from fazhi.ingest.html import html_text
from fazhi.ingest.report_check import problem_with
from fazhi.model import Source, SourceKind

__all__ = [
    "SUPPORTED",
    "IngestError",
    "NotAReportError",
    "decode_bytes",
    "read_source",
    "write_text_beside",
]

SUPPORTED: dict[str, SourceKind] = {
    ".txt": "txt",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
CONVERT_FIRST = {
    ".doc": "old Word .doc is not read; convert it first: libreoffice --headless --convert-to docx",
    ".wps": "WPS .wps is not read; convert it first: libreoffice --headless --convert-to docx",
}


class IngestError(FazhiError):
    """A file that cannot become a ``Source``; ``str()`` is one line naming the file."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(" ".join(f"{self.path}: {problem}".split("\n")))


class NotAReportError(IngestError):
    """Text that decodes but is not a Chinese report (mojibake, another language, a note)."""


def read_source(path: str | Path) -> Source:
    """Read a report file into a ``Source`` (offsets everywhere refer to ``Source.text``).

    ``Source.encoding`` is the codec that decoded the bytes (``""`` for PDF and DOCX, which
    carry their text as Unicode).
    """
    path = Path(path)
    data = _read_bytes(path)
    kind = SUPPORTED[path.suffix.lower()]
    sha = hashlib.sha256(data).hexdigest()
    try:
        text, encoding, warnings = _text_of(kind, path, data)
    except Undecodable as exc:
        raise IngestError(path, str(exc)) from None
    del data  # the bytes are no longer needed: not held while the text is cleaned and checked
    if not text.strip():
        raise IngestError(path, _empty_reason(kind))
    text, notes = clean_text(text)
    problem = problem_with(text)
    if problem is not None:
        raise NotAReportError(path, problem)
    return Source(
        text=text,
        path=str(path),
        encoding=encoding,
        kind=kind,
        sha256=sha,
        warnings=tuple(warnings + notes),
    )


def write_text_beside(source: Source, out_path: str | Path) -> Path:
    """Write ``source.text`` next to an output file (``result.json`` -> ``result.source.txt``).

    The file is UTF-8 with ``\\n`` line endings, so a user can check every span against it.
    """
    out_path = Path(out_path)
    target = out_path.with_name(f"{out_path.stem}.source.txt")
    text, piece = source.text, 1 << 20
    with target.open("w", encoding="utf-8", newline="") as out:
        for start in range(0, len(text), piece):  # not the UTF-8 of the whole report at once
            out.write(text[start : start + piece])
    return target


def _text_of(kind: SourceKind, path: Path, data: bytes) -> tuple[str, str, list[str]]:
    if kind == "pdf":
        from fazhi.ingest.pdf import pdf_text  # pdfplumber: only paid for PDF input

        return pdf_text(path), "", []
    if kind == "docx":
        from fazhi.ingest.office import docx_text

        return docx_text(path), "", []
    if kind == "html":
        text, encoding = html_text(data)
        return text, encoding, []
    decoded = decode_report_bytes(data)
    return decoded.text, decoded.encoding, decoded.warnings


def _read_bytes(path: Path) -> bytes:
    if path.is_symlink() and not path.exists():
        raise IngestError(path, "dangling symbolic link (its target does not exist)")
    if not path.exists():
        raise IngestError(path, "no such file")
    if path.is_dir():
        raise IngestError(path, "is a directory, not a report file")
    suffix = path.suffix.lower()
    if suffix in CONVERT_FIRST:
        raise IngestError(path, CONVERT_FIRST[suffix])
    if suffix not in SUPPORTED:
        shown = path.suffix or "(no extension)"
        raise IngestError(path, f"unsupported file type {shown}; expected {expected_types()}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(path, f"cannot read: {exc.strerror or exc}") from None
    if not data:
        raise IngestError(path, "empty file")
    return data


def expected_types() -> str:
    """``.txt, .html, .htm, .pdf or .docx``: what the user may give, for messages."""
    names = list(SUPPORTED)
    return ", ".join(names[:-1]) + f" or {names[-1]}"


def _empty_reason(kind: str) -> str:
    return {
        "pdf": "scanned PDF? no text layer (run OCR on it first)",
        "html": "no text found in the HTML page",
        "docx": "no text found in the Word document",
    }.get(kind, "empty file (only whitespace)")
