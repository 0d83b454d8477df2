"""Report bytes -> text, in any encoding Chinese government sites use, with the codec named.

Order: a byte-order mark decides; UTF-16 without a BOM is recognised by its NUL bytes; strict
UTF-8; UTF-8 with a few bad bytes (one corrupt byte, a last character cut off) is read with the
bad bytes replaced by U+FFFD and a warning; else charset-normalizer, cross-checked against
GB18030 and Big5 (statistics on a short text may answer cp1252 for GBK bytes). Line endings
become ``\\n`` and a leading BOM is dropped.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field

from charset_normalizer import from_bytes

from fazhi.ingest.report_check import cjk_share, mojibake_problem

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Detected names whose bytes GB18030 (their superset) decodes to the same text.
GB_SUBSETS = {"gb2312", "gbk", "cp936", "ms936", "euc_cn", "euccn"}
_MIN_PRINTABLE = 0.95
# A UTF-8 file with at most this many bad sequences (one, or 0.1 % of its size, up to 8) is
# UTF-8 that was damaged, not another encoding: GBK read as UTF-8 fails on nearly every
# Chinese character.
_MAX_BAD_BYTES, _MAX_BAD_SHARE = 8, 0.001
_CHINESE_CODECS = ("gb18030", "big5")


class Undecodable(ValueError):
    """Bytes that are no text; ``read_source`` turns it into an ``IngestError``."""


@dataclass
class Decoded:
    text: str
    encoding: str
    warnings: list[str] = field(default_factory=list)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode report bytes to ``(text, encoding)``; raise ``Undecodable`` for binary data."""
    decoded = decode_report_bytes(data)
    return decoded.text, decoded.encoding


def decode_report_bytes(data: bytes) -> Decoded:
    """``decode_bytes`` with the warnings a damaged but readable file deserves."""
    decoded = _decode(data)
    decoded.text = normalise_newlines(decoded.text)
    if _printable_ratio(decoded.text) < _MIN_PRINTABLE:
        # UTF-8 once read as Latin-1 is full of C1 control characters: say what it is.
        garbled = mojibake_problem(decoded.text)
        if garbled is not None:
            raise Undecodable(garbled)
        enc = decoded.encoding
        raise Undecodable(f"looks binary (decodes as {enc} mostly to control characters)")
    return decoded


def normalise_newlines(text: str) -> str:
    # Offsets must not depend on the platform that saved the file.
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def canonical(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name


def _decode(data: bytes) -> Decoded:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _damaged_ok(data, encoding, bom=True)
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise Undecodable("binary file (NUL bytes), not a text report")
        return utf16
    try:
        return Decoded(_strict_utf8(data), "utf-8")
    except UnicodeDecodeError:
        pass
    damaged = _damaged_utf8(data)
    if damaged is not None:
        return damaged
    return _detected(data)


def _strict_utf8(data: bytes, piece: int = 1 << 20) -> str:
    """``data.decode("utf-8")``, a megabyte at a time: decoding a whole Chinese file at once
    briefly holds buffers of three times its size (one byte, then two, per character)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    pieces = [decoder.decode(view[i : i + piece]) for i in range(0, len(data), piece)]
    pieces.append(decoder.decode(b"", final=True))
    return "".join(pieces)


def _damaged_ok(data: bytes, encoding: str, bom: bool = False) -> Decoded:
    try:
        return Decoded(data.decode(encoding), encoding)
    except UnicodeDecodeError as exc:
        bad = _bad_bytes(data, encoding)
        if bad > min(_MAX_BAD_BYTES, max(1, _MAX_BAD_SHARE * len(data))):
            why = "despite its byte-order mark " if bom else ""
            raise Undecodable(f"invalid {encoding} {why}({exc.reason})") from None
    return _replaced(data, encoding)


def _damaged_utf8(data: bytes) -> Decoded | None:
    bad = _bad_bytes(data, "utf-8")
    if bad > min(_MAX_BAD_BYTES, max(1, _MAX_BAD_SHARE * len(data))):
        return None
    return _replaced(data, "utf-8")


def _replaced(data: bytes, encoding: str) -> Decoded:
    text = data.decode(encoding, errors="replace")
    bad = text.count("\ufffd")
    cut = _ends_mid_character(data, encoding)
    what = "the last character is cut off" if cut and bad == 1 else f"{bad} undecodable byte(s)"
    first = text.find("\ufffd")
    note = f"damaged {encoding}: {what}, shown as U+FFFD (first at character {first})"
    return Decoded(text, encoding, [note])


def _bad_bytes(data: bytes, encoding: str) -> int:
    # Each undecodable sequence becomes one U+FFFD (a text that already held some over-counts,
    # which only makes the damage look worse than it is).
    return data.decode(encoding, errors="replace").count("\ufffd")


def _ends_mid_character(data: bytes, encoding: str) -> bool:
    for cut in (1, 2, 3):
        try:
            data[:-cut].decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False


def _utf16_without_bom(data: bytes) -> Decoded | None:
    # UTF-16 text of a Chinese report has NULs only as the high byte of ASCII characters; the
    # byte order whose text is mostly Chinese and printable is the one.
    best: Decoded | None = None
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data[: len(data) // 2 * 2].decode(encoding)
        except UnicodeDecodeError:
            continue
        readable = _printable_ratio(text) >= _MIN_PRINTABLE and cjk_share(text) >= 0.25
        if readable and (best is None or cjk_share(text) > cjk_share(best.text)):
            best = Decoded(text, encoding)
    return best


def _detected(data: bytes) -> Decoded:
    best = from_bytes(data).best()
    candidates = [] if best is None else [(str(best), canonical(best.encoding))]
    for encoding in _CHINESE_CODECS:
        try:
            candidates.append((data.decode(encoding), encoding))
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise Undecodable("binary file or unknown text encoding (no encoding decodes it)")
    text, encoding = candidates[0]
    if encoding in GB_SUBSETS and _same_as(data, text, "gb18030"):
        encoding = "gb18030"
    # Statistics on a short or unusual text can answer a Latin codec for Chinese bytes: a strict
    # Chinese decoding with clearly more Chinese characters wins.
    for other_text, other in candidates[1:]:
        if cjk_share(other_text) > cjk_share(text) + 0.3:
            text, encoding = other_text, other
    return Decoded(text, encoding)


def _same_as(data: bytes, decoded: str, encoding: str) -> bool:
    try:
        return data.decode(encoding) == decoded
    except UnicodeDecodeError:
        return False


# Characters never counted as control, private-use or unassigned (tests/test_ingest.py checks it
# against unicodedata): printable ASCII, the allowed controls, general and CJK punctuation,
# unified ideographs, full-width forms. Most of a report is these; the rest is looked up.
_SURELY_PRINTABLE = re.compile(
    "[\x20-\x7e\n\t\f\v\u2010-\u2027\u3000-\u303f\u4e00-\u9fa5\uff01-\uff5e]+"
)


def _printable_ratio(text: str) -> float:
    if not text:
        return 1.0
    rest = _SURELY_PRINTABLE.sub("", text)
    control = sum(
        1 for ch in rest if unicodedata.category(ch) in ("Cc", "Co", "Cn") and ch not in "\n\t\f\v"
    )
    return 1 - control / len(text)
