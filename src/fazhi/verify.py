"""The trust boundary: ``verify(draft, source, catalog) -> Result``.

Every figure, meta field and text item a backend proposes is checked against the source text
itself; what passes gets its character offsets (``span``, ``raw_span``), what fails moves to
``Result.rejected`` with a code and a one-line reason. Nothing is repaired by guessing: the only
rewrites are to what the source literally says -- a quote found modulo whitespace becomes the
exact source slice, ``raw`` becomes the number as printed there, and ``approx`` is read off it.

Checks per figure, in order (the first failure is the rejection code):
``unknown_indicator`` -> ``quote_not_in_source`` -> ``unparseable_raw`` -> ``quote_cuts_number``
(the quote starts or ends inside a number, line breaks included) -> ``raw_not_in_quote`` ->
``value_mismatch`` -> ``kind_mismatch`` -> ``number_not_in_source`` (a number in ``scope``).
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Literal

from fazhi.catalog import Catalog, default_catalog
from fazhi.index import index_of, index_text
from fazhi.model import (
    Chunk,
    Conflict,
    Figure,
    Meta,
    Rejection,
    RejectionCode,
    Result,
    Source,
    Span,
    TextItem,
)
from fazhi.numbers import Number, find_numbers, parse_raw, values_equal

CHINESE_DIGITS = "〇一二三四五六七八九"
CHINESE_ZERO = "[〇零○]"  # zero as printed in dates: 〇, 零 or the white circle ○


# --- locating text modulo whitespace -------------------------------------------------------


def squeeze(text: str) -> str:
    """``text`` without whitespace (spaces, tabs, newlines, full-width spaces ...)."""
    return "".join(c for c in text if not c.isspace())


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
    return list(_occurrences(quote, text, hint))


def _occurrences(quote: str, text: str, hint: Span | None) -> Iterator[Span]:
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
    return next(_occurrences(quote, text, hint), None)


def foreign_numbers(label: str, text: str) -> list[str]:
    """Numbers in ``label`` that the source never prints (empty if ``label`` occurs in it)."""
    if locate(label, text) is not None:
        return []
    printed = index_text(text).printed_raws
    return [n.raw for n in find_numbers(label) if squeeze(n.raw) not in printed]


def _short(text: str, limit: int = 40) -> str:
    one_line = " ".join(text.split())
    return repr(one_line if len(one_line) <= limit else one_line[: limit - 1] + "…")


# --- figures -------------------------------------------------------------------------------


_ARABIC_DIGITS = frozenset("0123456789０１２３４５６７８９")
# A decimal point or a thousands separator between digits.
_NUMBER_JOINERS = frozenset(".,，．")
_CHINESE_NUMERALS = frozenset("零〇一二两兩三四五六七八九十百千万萬亿億")


def cuts_number(text: str, pos: int) -> bool:
    """Whether a boundary at ``pos`` falls inside a number of ``text``: inside one the number
    finder reads (``16|9件``, ``2193|万``), or between Arabic digits that only whitespace, a
    decimal point or a thousands separator keeps apart (``4|\\n02件``, ``40.|\\n8%``), or
    between Chinese numerals that whitespace keeps apart (``三十|\\n三件``): a line break in a
    PDF or a scrape does not make two numbers out of one."""
    index = index_text(text)
    i = index.number_before(pos)
    if i >= 0 and index.number(i).start < pos < index.number(i).end:
        return True
    before, after = pos - 1, pos
    while before >= 0 and text[before].isspace():
        before -= 1
    while after < len(text) and text[after].isspace():
        after += 1
    if before < 0 or after >= len(text):
        return False
    left, right = text[before], text[after]
    if after - before > 1 and left in _CHINESE_NUMERALS and right in _CHINESE_NUMERALS:
        return True  # 三十|\n三件: a Chinese numeral broken by a line break
    if left in _NUMBER_JOINERS:  # 40.|8, 1,|234
        return _digit_at(text, before - 1) and _joins(left, text, after)
    if right in _NUMBER_JOINERS:  # 40|.8, 1|,234
        return left in _ARABIC_DIGITS and _joins(right, text, after + 1)
    return left in _ARABIC_DIGITS and right in _ARABIC_DIGITS


def _digit_at(text: str, pos: int) -> bool:
    return 0 <= pos < len(text) and text[pos] in _ARABIC_DIGITS


def _joins(separator: str, text: str, digits_at: int) -> bool:
    """Whether ``separator`` joins the digits before it to those at ``digits_at``: a decimal
    point does; a comma only in front of a group of exactly three (``1,234``), so that
    ``5，3件`` stays two numbers, as the number finder reads it."""
    while digits_at < len(text) and text[digits_at].isspace():
        digits_at += 1
    if separator in ".．":
        return _digit_at(text, digits_at)
    run = 0
    while run < 4 and _digit_at(text, digits_at + run):
        run += 1
    return run == 3


def _cuts_a_number(span: Span, text: str) -> bool:
    return cuts_number(text, span[0]) or cuts_number(text, span[1])


def _number_in(span: Span, raw: str, text: str) -> Number | None:
    """The number printed as ``raw`` inside ``text[span]``, read in the context of the whole
    source: a quote cut through a number (``69件`` of ``169件``, ``2193`` of ``2193万``) holds
    no whole number, nor does a piece of a number a line break split (``02`` of ``4\\n02件``),
    and ``以上`` after the quote still marks it approximate."""
    wanted = squeeze(raw)
    index = index_text(text)  # left to right: only the numbers starting in the span can fit
    for i in index.numbers_starting_in(span[0], span[1]):
        n = index.number(i)
        fits = n.end <= span[1] and squeeze(n.raw) == wanted
        if fits and not _cuts_a_number((n.start, n.end), text):
            return n
    return None


def _find_in_occurrences(
    spans: Iterator[Span], raw: str, text: str
) -> tuple[Span | None, Number | None, Span | None]:
    """The first occurrence holding ``raw`` as a whole number and not cut out of a longer
    number at either end, with that number; else the first occurrence that holds it but is
    cut (the third item), so that the rejection can say so."""
    cut: Span | None = None
    for span in spans:
        number = _number_in(span, raw, text)
        if number is None:
            continue
        if not _cuts_a_number(span, text):
            return span, number, None
        cut = cut or span
    return None, None, cut


def check_figure(
    figure: Figure, text: str, catalog: Catalog, hint: Span | None = None
) -> Figure | Rejection:
    """The figure with ``span``/``raw_span`` filled, or the first check it fails."""

    def reject(code: RejectionCode, reason: str) -> Rejection:
        item = figure.model_dump(mode="json")
        return Rejection(what="figure", code=code, reason=reason, item=item, chunk=figure.chunk)

    if figure.indicator not in catalog:
        return reject("unknown_indicator", f"indicator {figure.indicator!r} is not in the catalog")
    spans = _occurrences(figure.quote, text, hint)
    first = next(spans, None)
    if first is None:
        return reject("quote_not_in_source", f"quote {_short(figure.quote)} is not in the source")
    parsed = parse_raw(figure.raw)
    if parsed is None:
        return reject("unparseable_raw", f"raw {figure.raw!r} is not one number")
    # A short quote may also occur cut out of a longer number ("69件" inside "169件"): the
    # first occurrence that holds raw as a whole number is the one meant. A qualifier before
    # raw ("约600") is not part of the printed number (parsed.raw is "600").
    span, number, cut = _find_in_occurrences(itertools.chain([first], spans), parsed.raw, text)
    if cut is not None:
        reason = f"quote {_short(text[cut[0] : cut[1]])} starts or ends inside a number"
        return reject("quote_cuts_number", reason)
    if span is None or number is None:
        reason = f"raw {figure.raw!r} is not a whole number in quote {_short(figure.quote)}"
        return reject("raw_not_in_quote", reason)
    quote = text[span[0] : span[1]]
    if not values_equal(figure.value, number.value):
        reason = f"value {figure.value} but raw {number.raw!r} reads {number.value}"
        return reject("value_mismatch", reason)
    kind = catalog[figure.indicator].kind
    if (kind == "percent") != number.percent:
        wanted = "a percent" if kind == "percent" else "a non-percent"
        return reject("kind_mismatch", f"{kind} indicator needs {wanted} raw, got {number.raw!r}")
    foreign = foreign_numbers(figure.scope, text) if figure.scope else []
    if foreign:
        reason = f"scope {_short(figure.scope or '')} has {foreign}, not printed in the source"
        return reject("number_not_in_source", reason)
    return figure.model_copy(
        update={
            "quote": quote,
            "raw": number.raw,
            # approx is how the number is printed (余/多/约 ...), which the source settles; a
            # wrong flag on an otherwise exact figure is corrected rather than losing the figure.
            "approx": number.approx,
            "span": span,
            "raw_span": (number.start, number.end),
        }
    )


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
    items: list[TextItem],
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
                    reason=f"{what} {_short(item.quote)} is not in the source",
                    item=item.model_dump(mode="json"),
                    chunk=item.chunk,
                )
            )
        else:
            kept.append(item.model_copy(update={"quote": text[span[0] : span[1]], "span": span}))
    return kept, rejections


# --- the whole result ----------------------------------------------------------------------


def _surviving_conflicts(conflicts: list[Conflict], figures: list[Figure]) -> list[Conflict]:
    # A conflict stays only while at least two of its values are still among accepted figures.
    by_key: dict[tuple[str, str | None], list[Figure]] = {}
    for figure in figures:
        by_key.setdefault((figure.indicator, figure.scope), []).append(figure)
    kept = []
    for conflict in conflicts:
        same = by_key.get((conflict.indicator, conflict.scope), [])
        values = [v for v in conflict.values if any(values_equal(f.value, v) for f in same)]
        if len(values) > 1:
            kept.append(conflict.model_copy(update={"values": values}))
    return kept


def verify(
    draft: Result, source: Source, catalog: Catalog | None = None, chunks: list[Chunk] | None = None
) -> Result:
    """A new ``Result``: only what the source bears out, every failure in ``rejected``.

    ``chunks`` (optional) maps each item's ``chunk`` index to its offsets, so that a quote the
    report repeats is located in the chunk that proposed it.
    """
    catalog = catalog if catalog is not None else default_catalog()
    text = source.text
    index_of(source)  # the source's one index: every check below looks up this text in it
    chunk_spans = {c.index: (c.start, c.end) for c in chunks or []}
    figures: list[Figure] = []
    rejected = list(draft.rejected)
    for figure in draft.figures:
        hint = chunk_spans.get(figure.chunk) if figure.chunk is not None else None
        checked = check_figure(figure, text, catalog, hint)
        if isinstance(checked, Rejection):
            rejected.append(checked)
        else:
            figures.append(checked)
    meta, meta_rejections = check_meta(draft.meta, text)
    shortcomings, shortcoming_rejections = check_items(
        draft.shortcomings, text, "shortcoming", chunk_spans
    )
    plans, plan_rejections = check_items(draft.plans, text, "plan", chunk_spans)
    return draft.model_copy(
        update={
            "source_sha256": draft.source_sha256 or source.sha256,
            "meta": meta,
            "figures": figures,
            "shortcomings": shortcomings,
            "plans": plans,
            "rejected": rejected + meta_rejections + shortcoming_rejections + plan_rejections,
            "conflicts": _surviving_conflicts(draft.conflicts, figures),
            "verified": True,
        }
    )
