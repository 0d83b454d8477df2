"""Page residue out of decoded text, so that what the tool shows has none inside a number or word.

``clean_text`` runs on every source kind after decoding and before anything reads offsets: the
cleaned text *is* ``Source.text``, so every span points into what the user is shown. It

* removes invisible characters scraped pages carry (zero-width space/joiners U+200B..U+200D,
  word joiner U+2060, a BOM inside the text U+FEFF, soft hyphen U+00AD, bidi marks): a
  ``1\\u200b69件`` becomes ``169件`` instead of hiding a 1 in front of 69;
* removes no-break spaces (U+00A0, U+2007, U+202F) that stand inside a number or a Chinese word
  (``1\u00a0234``, ``法\u00a0治``); elsewhere they stay, as the whitespace every reader skips
  (the recorded LLM answers were made on texts that kept them);
* drops the pinyin some mirror sites insert after characters (``區(qū)``, ``县（xiàn）``): a
  parenthesised lower-case syllable with a tone mark right after a Chinese character;
* maps look-alike characters to the normal ideograph (Kangxi radicals U+2F00..U+2FDF, CJK
  radicals supplement, CJK compatibility ideographs) with NFKC, limited to those blocks, so
  ``⼈民政府`` (U+2F08) is found as ``人民政府``. Full-width digits, ``．`` and ``％`` are left as
  printed: ``fazhi.numbers`` reads them.

Nothing else changes: line breaks, ordinary and ideographic spaces stay where they are.
"""

from __future__ import annotations

import re
import unicodedata

INVISIBLE = (
    "\u00ad\u034f\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)
_DROP = dict.fromkeys(map(ord, INVISIBLE))
_NO_BREAK_RUN = re.compile("[\u00a0\u2007\u202f]+")
_DIGITS = frozenset("0123456789０１２３４５６７８９")
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
# The bracket first and the character before it checked behind: a scan for a bracket is fast.
_PINYIN = re.compile(
    rf"[(（](?<=[\u3400-\u9fff][(（])[a-zü]{{0,6}}[{_TONED}][a-zü{_TONED}]{{0,6}}[)）]"
)
_LOOK_ALIKE = re.compile("[\u2e80-\u2fdf\uf900-\ufaff\U0002f800-\U0002fa1f]")


def clean_text(text: str) -> tuple[str, list[str]]:
    """``text`` without page residue (see the module docstring), and one note per kind removed."""
    notes: list[str] = []
    invisible = sum(text.count(ch) for ch in INVISIBLE) if _has_any(text) else 0
    if invisible:
        text = text.translate(_DROP)
        notes.append(f"removed {invisible} invisible character(s) (zero-width, soft hyphen, BOM)")
    text, inner = _drop_inner_no_break(text)
    if inner:
        notes.append(f"removed {inner} no-break space(s) inside numbers or words")
    text, pinyin = _PINYIN.subn("", text)
    if pinyin:
        notes.append(f"removed {pinyin} pinyin annotation(s) inserted after characters")
    text, mapped = _map_look_alikes(text)
    if mapped:
        notes.append(f"mapped {mapped} look-alike character(s) (Kangxi radicals, compatibility)")
    return text, notes


def _drop_inner_no_break(text: str) -> tuple[str, int]:
    count = 0

    def inner(match: re.Match[str]) -> str:
        nonlocal count
        start, end = match.span()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        digits = before in _DIGITS and after in _DIGITS
        if digits or (_is_cjk(before) and _is_cjk(after)):
            count += 1
            return ""
        return match.group()

    if not any(ch in text for ch in "\u00a0\u2007\u202f"):
        return text, 0
    return _NO_BREAK_RUN.sub(inner, text), count


def _is_cjk(ch: str) -> bool:
    return bool(ch) and "\u3400" <= ch <= "\u9fff"


def _has_any(text: str) -> bool:
    return any(ch in text for ch in INVISIBLE)


def _map_look_alikes(text: str) -> tuple[str, int]:
    count = 0

    def normal(match: re.Match[str]) -> str:
        nonlocal count
        mapped = unicodedata.normalize("NFKC", match.group())
        if len(mapped) == 1 and mapped != match.group():
            count += 1
            return mapped
        return match.group()

    return _LOOK_ALIKE.sub(normal, text), count
