"""The verifier's text checks: where a quote is in the source, meta fields, text items.

Quotes are located modulo whitespace (a line break in a PDF or a scrape is no difference), in
the source's one index (``fazhi.index``). ``check_items`` is the only place that makes a
verified ``TextItem``. Part of the trust boundary ``fazhi.verify``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Literal

from fazhi.index import index_text
from fazhi.model import Meta, Rejection, Span, TextItem, TextProposal
from fazhi.numbers import find_numbers

CHINESE_DIGITS = "〇一二三四五六七八九"
CHINESE_ZERO = "[〇零○]"  # zero as printed in dates: 〇, 零 or the white circle ○


# --- locating text modulo whitespace -------------------------------------------------------


def squeeze(text: str) -> str:
    """``text`` without whitespace (spaces, tabs, newlines, full-width spaces ...)."""
    return "".join(text.split())  # split() cuts at exactly the characters isspace() names


def _squeezed_with_offsets(text: str) -> tuple[str, Sequence[int]]:
    # positions[i] is the offset in ``text`` of the i-th non-whitespace character; the source
    # index holds both (compact, built once per text, not a cache keyed on whole texts).
    return index_text(text).squeezed


def _starts(needle: str, haystack: str, start: int = 0, end: int | None = None) -> Iterator[int]:
    i = haystack.find(needle, start, end)
    while i >= 0:
        yield i
        i = haystack.find(needle, i + 1, end)


def occurrences(quote: str, text: str, hint: Span | None = None) -> list[Span]:
    """Every span of ``text`` that equals ``quote`` ignoring whitespace on both sides; those
    inside ``hint`` (the proposing chunk) first, each group in text order.

    A span starts and ends on non-whitespace characters, so ``text[start:end]`` is the real
    source slice without whitespace around it.
    """
    return list(iter_occurrences(quote, text, hint))


def iter_occurrences(quote: str, text: str, hint: Span | None) -> Iterator[Span]:
    # Lazily, so that a caller that stops at the first good one does not scan the whole
    # source for every quote (verifying a long report would be quadratic).
    needle = squeeze(quote)
    if not needle:
        return
    squeezed, positions = _squeezed_with_offsets(text)
    # hint as squeezed offsets: a match at s lies inside it iff lo <= s and s + len <= hi
    lo, hi = (bisect_left(positions, hint[0]), bisect_left(positions, hint[1])) if hint else (0, 0)
    for s in _starts(needle, squeezed, lo, hi):
        yield positions[s], positions[s + len(needle) - 1] + 1
    for s in _starts(needle, squeezed):
        if not lo <= s <= hi - len(needle):
            yield positions[s], positions[s + len(needle) - 1] + 1


def locate(quote: str, text: str, hint: Span | None = None) -> Span | None:
    """Where ``quote`` occurs in ``text`` modulo whitespace: the first occurrence inside
    ``hint`` if any, else the first."""
    return next(iter_occurrences(quote, text, hint), None)


def foreign_numbers(label: str, text: str) -> list[str]:
    """Numbers in ``label`` that the source never prints (empty if ``label`` occurs in it)."""
    if locate(label, text) is not None:
        return []
    printed = index_text(text).printed_raws
    return [n.raw for n in find_numbers(label) if squeeze(n.raw) not in printed]


def shortened(text: str, limit: int = 40) -> str:
    one_line = " ".join(text.split())
    return repr(one_line if len(one_line) <= limit else one_line[: limit - 1] + "…")


# --- meta ----------------------------------------------------------------------------------


def _spaced(*parts: str) -> str:
    # Whitespace (a line break in a scrape) may separate the parts of a date, never the digits
    # of a number: matching runs on the real text, as squeezing would join adjacent numbers.
    return r"\s*".join(parts)


def _chinese_year(year: int) -> str:
    return _spaced(*(CHINESE_ZERO if d == "0" else CHINESE_DIGITS[int(d)] for d in str(year)))


def _chinese_small(n: int) -> str:
    """1..31 as written in dates: 三, 十, 十五, 二十, 三十一."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else CHINESE_DIGITS[tens] + "十")
    return head + (CHINESE_DIGITS[ones] if ones else "")


def year_in_source(year: int, text: str) -> bool:
    """``year`` printed as a number: ``2021`` (not inside a longer number) or ``二〇二一``."""
    return bool(re.search(rf"(?<!\d){year}(?!\d)|{_chinese_year(year)}", text))


def date_in_source(day: date, text: str) -> bool:
    """``day`` printed as 2022-03-15, 2022/3/15, 2022.03.15, 2022年3月15日 or in Chinese
    numerals, 二〇二二年三月十五日."""
    y, m, d = day.year, day.month, day.day
    patterns = (
        _spaced(rf"(?<!\d){y}", "(?P<sep>[-/.])", f"0?{m}", "(?P=sep)", rf"0?{d}(?!\d)"),
        _spaced(rf"(?<!\d){y}", "年", f"0?{m}", "月", f"0?{d}", "日"),
        _spaced(_chinese_year(y), "年", _chinese_small(m), "月", _chinese_small(d), "日"),
    )
    return any(re.search(p, text) for p in patterns)


def _meta_problem(name: str, value: object, text: str) -> str | None:
    if name in ("region", "issuer"):
        found = locate(str(value), text) is not None
        return None if found else f"{name} {value!r} does not occur in the source"
    if name == "year":
        found = year_in_source(int(str(value)), text)
        return None if found else f"year {value} is not printed in the source"
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return f"published {value!r} is not an ISO date YYYY-MM-DD"
    return None if date_in_source(day, text) else f"published {value} is not a date in the source"


def check_meta(meta: Meta, text: str) -> tuple[Meta, list[Rejection]]:
    """``meta`` with every field the source does not bear out set to None, and why."""
    fields: dict[str, object] = {}
    rejections: list[Rejection] = []
    for name, value in meta.model_dump().items():
        problem = None if value is None else _meta_problem(name, value, text)
        fields[name] = None if problem else value
        if problem:
            rejections.append(
                Rejection(what="meta", code="bad_meta", reason=problem, item={name: value})
            )
    return Meta.model_validate(fields), rejections


# --- text items ----------------------------------------------------------------------------


def check_items(
    items: list[TextProposal],
    text: str,
    what: Literal["shortcoming", "plan"],
    chunk_spans: dict[int, Span] | None = None,
) -> tuple[list[TextItem], list[Rejection]]:
    """Items whose quote occurs in the source (with ``span`` and the exact slice), and the rest."""
    chunk_spans = chunk_spans or {}
    kept: list[TextItem] = []
    rejections: list[Rejection] = []
    for item in items:
        hint = chunk_spans.get(item.chunk) if item.chunk is not None else None
        span = locate(item.quote, text, hint)
        if span is None:
            rejections.append(
                Rejection(
                    what=what,
                    code="quote_not_in_source",
                    reason=f"{what} {shortened(item.quote)} is not in the source",
                    item=item.model_dump(mode="json"),
                    chunk=item.chunk,
                )
            )
        else:
            kept.append(TextItem(quote=text[span[0] : span[1]], span=span, chunk=item.chunk))
    return kept, rejections
