"""A report file -> ``Source``: the text every offset of the tool refers to.

Reads ``.txt`` in any of the encodings Chinese government sites use (UTF-8 with or without BOM,
GBK/GB18030, Big5, UTF-16 with BOM), ``.html``/``.htm`` (the report body, via trafilatura) and
``.pdf`` with a text layer (via pdfplumber). The encoding actually used is always reported in
``Source.encoding``; nothing is guessed silently. Plain text is kept exactly as in the file except
for two things: line endings become ``\\n`` and a byte-order mark is dropped -- so verbatim quotes
from the file still occur in ``Source.text``.

Every problem a user must fix (missing, empty, binary, scanned PDF, unsupported type) is an
``IngestError`` whose message is one line naming the file.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from pathlib import Path

from charset_normalizer import from_bytes

from fazhi.errors import FazhiError
from fazhi.model import Source, SourceKind

SUPPORTED = {".txt": "txt", ".html": "html", ".htm": "html", ".pdf": "pdf"}

# Byte-order marks we decode directly: charset detection is pointless when the file says.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Detected names whose bytes GB18030 (their superset) decodes to the same text.
_GB_SUBSETS = {"gb2312", "gbk", "cp936", "ms936", "euc_cn", "euccn"}
_MIN_PRINTABLE = 0.95
_HTML_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "table",
    "section",
    "article",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "td",
    "th",
    "ul",
    "ol",
    "dd",
    "dt",
}


class IngestError(FazhiError):
    """A file that cannot become a ``Source``; ``str()`` is one line naming the file."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(" ".join(f"{self.path}: {problem}".split("\n")))


class _Undecodable(ValueError):
    """Raised by ``decode_bytes``; ``read_source`` turns it into an ``IngestError``."""


def read_source(path: str | Path) -> Source:
    """Read a report file into a ``Source`` (offsets everywhere refer to ``Source.text``).

    ``Source.encoding`` is the codec that decoded the bytes (``""`` for PDF, which has none).
    """
    path = Path(path)
    data = _read_bytes(path)
    kind: SourceKind = SUPPORTED[path.suffix.lower()]  # type: ignore[assignment]
    try:
        if kind == "pdf":
            text, encoding = _pdf_text(path), ""
        elif kind == "html":
            text, encoding = _html_text(data)
        else:
            text, encoding = decode_bytes(data)
    except _Undecodable as exc:
        raise IngestError(path, str(exc)) from None
    if not text.strip():
        raise IngestError(path, _empty_reason(kind))
    sha = hashlib.sha256(data).hexdigest()
    return Source(text=text, path=str(path), encoding=encoding, kind=kind, sha256=sha)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode report bytes to ``(text, encoding)``; raise ``ValueError`` for binary data.

    A byte-order mark decides first, then strict UTF-8 (fast and unambiguous), then
    charset-normalizer; GB2312/GBK answers are reported as GB18030, their superset, when it
    decodes the same. Line endings become ``\\n`` and a BOM is dropped.
    """
    text, encoding = _decode(data)
    if _printable_ratio(text) < _MIN_PRINTABLE:
        raise _Undecodable(f"looks binary (decodes as {encoding} mostly to control characters)")
    return text, encoding


def write_text_beside(source: Source, out_path: str | Path) -> Path:
    """Write ``source.text`` next to an output file (``result.json`` -> ``result.source.txt``).

    The file is UTF-8 with ``\\n`` line endings, so a user can check every span against it.
    """
    out_path = Path(out_path)
    target = out_path.with_name(f"{out_path.stem}.source.txt")
    target.write_text(source.text, encoding="utf-8", newline="")
    return target


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise IngestError(path, "no such file")
    if path.is_dir():
        raise IngestError(path, "is a directory, not a report file")
    if path.suffix.lower() not in SUPPORTED:
        shown = path.suffix or "(no extension)"
        expected = ".txt, .html, .htm or .pdf"
        raise IngestError(path, f"unsupported file type {shown}; expected {expected}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(path, f"cannot read: {exc.strerror or exc}") from None
    if not data:
        raise IngestError(path, "empty file")
    return data


def _decode(data: bytes) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _normalise(_strict(data, encoding)), encoding
    if b"\x00" in data:
        raise _Undecodable("binary file (NUL bytes), not a text report")
    try:
        return _normalise(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise _Undecodable("binary file or unknown text encoding (no encoding decodes it)")
    encoding = _canonical(best.encoding)
    if encoding in _GB_SUBSETS and _same_as_gb18030(data, str(best)):
        encoding = "gb18030"
    return _normalise(str(best)), encoding


def _empty_reason(kind: str) -> str:
    return {
        "pdf": "scanned PDF? no text layer (run OCR on it first)",
        "html": "no text found in the HTML page",
    }.get(kind, "empty file (only whitespace)")


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        problem = f"invalid {encoding} despite its byte-order mark ({exc.reason})"
        raise _Undecodable(problem) from None


def _normalise(text: str) -> str:
    # Offsets must not depend on the platform that saved the file.
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _canonical(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def _same_as_gb18030(data: bytes, decoded: str) -> bool:
    try:
        return data.decode("gb18030") == decoded
    except UnicodeDecodeError:
        return False


def _printable_ratio(text: str) -> float:
    if not text:
        return 1.0
    control = sum(
        1 for ch in text if unicodedata.category(ch) in ("Cc", "Co", "Cn") and ch not in "\n\t\f\v"
    )
    return 1 - control / len(text)


def _html_text(data: bytes) -> tuple[str, str]:
    html, encoding = _decode_html(data)
    import trafilatura  # heavy import, only paid for HTML input

    body = trafilatura.extract(
        html, favor_recall=True, include_comments=False, include_tables=True, deduplicate=False
    )
    if not body or not body.strip():
        body = _lxml_body_text(html)
    return _normalise(body), encoding


def _decode_html(data: bytes) -> tuple[str, str]:
    # A page's own <meta charset> beats statistics, as long as it decodes the bytes cleanly.
    declared = _HTML_CHARSET.search(data[:4096])
    if declared:
        name = _canonical(declared.group(1).decode("ascii"))
        if name in _GB_SUBSETS:
            name = "gb18030"
        try:
            return data.decode(name), name
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_bytes(data)


def _lxml_body_text(html: str) -> str:
    import lxml.html

    try:
        root = lxml.html.document_fromstring(html)
    except Exception:  # lxml raises several types for garbage markup; any of them means no text
        return ""
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
    body = root.find("body")
    text = (body if body is not None else root).text_content()
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _pdf_text(path: Path) -> str:
    import pdfplumber

    try:
        with pdfplumber.open(path) as pdf:
            pages = [page.extract_text() or "" for page in pdf.pages]
    except Exception as exc:  # pdfminer raises many unrelated types for broken files
        raise _Undecodable(f"not a readable PDF ({type(exc).__name__})") from None
    return _normalise("\n".join(pages))
