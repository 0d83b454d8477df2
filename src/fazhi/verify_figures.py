"""The verifier's figure check: ``check_figure(proposal, text, catalog) -> Figure | Rejection``.

The only place that makes a verified ``Figure``. Checks in order (the first failure is the
rejection code): ``unknown_indicator`` -> ``quote_not_in_source`` -> ``unparseable_raw`` ->
``quote_cuts_number`` (the quote starts or ends inside a number, line breaks included) ->
``raw_not_in_quote`` -> ``value_mismatch`` -> ``kind_mismatch`` -> ``number_not_in_source`` (a
number in ``scope``). Part of the trust boundary ``fazhi.verify``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from fazhi.catalog import Catalog
from fazhi.index import index_text
from fazhi.model import Figure, FigureProposal, Rejection, RejectionCode, Span
from fazhi.numbers import Number, parse_raw, values_equal
from fazhi.verify_text import foreign_numbers, iter_occurrences, shortened, squeeze

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
    i = index.number_before(pos)  # the last number starting before pos: inside it?
    if i >= 0 and pos < index.number_end(i):
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
    figure: FigureProposal, text: str, catalog: Catalog, hint: Span | None = None
) -> Figure | Rejection:
    """The verified figure (``span``/``raw_span``, quote and raw as the source prints them), or
    the first check the proposal fails."""

    def reject(code: RejectionCode, reason: str) -> Rejection:
        item = figure.model_dump(mode="json")
        return Rejection(what="figure", code=code, reason=reason, item=item, chunk=figure.chunk)

    if figure.indicator not in catalog:
        return reject("unknown_indicator", f"indicator {figure.indicator!r} is not in the catalog")
    spans = iter_occurrences(figure.quote, text, hint)
    first = next(spans, None)
    if first is None:
        return reject(
            "quote_not_in_source", f"quote {shortened(figure.quote)} is not in the source"
        )
    parsed = parse_raw(figure.raw)
    if parsed is None:
        return reject("unparseable_raw", f"raw {figure.raw!r} is not one number")
    # A short quote may also occur cut out of a longer number ("69件" inside "169件"): the
    # first occurrence that holds raw as a whole number is the one meant. A qualifier before
    # raw ("约600") is not part of the printed number (parsed.raw is "600").
    span, number, cut = _find_in_occurrences(itertools.chain([first], spans), parsed.raw, text)
    if cut is not None:
        reason = f"quote {shortened(text[cut[0] : cut[1]])} starts or ends inside a number"
        return reject("quote_cuts_number", reason)
    if span is None or number is None:
        reason = f"raw {figure.raw!r} is not a whole number in quote {shortened(figure.quote)}"
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
        reason = f"scope {shortened(figure.scope or '')} has {foreign}, not printed in the source"
        return reject("number_not_in_source", reason)
    return Figure(
        indicator=figure.indicator,
        value=figure.value,
        raw=number.raw,
        quote=quote,
        scope=figure.scope,
        # approx is how the number is printed (余/多/约 ...), which the source settles; a wrong
        # flag on an otherwise exact figure is corrected rather than losing the figure.
        approx=number.approx,
        span=span,
        raw_span=(number.start, number.end),
        chunk=figure.chunk,
        sources=list(figure.sources),
        review=list(figure.review),
    )
