"""Which numbers of a report can be figures, and which look like counts but are not.

A number can be a figure when it is a *quantity* (``quantities``): a count with a measure word
some indicator allows, a percent, an amount in 元, or ``零`` written as a count (``零败诉``,
also inside quotation marks: ``保持“零败诉”``). Never a year, a date, an ordinal (``第9次``), a
frequency (``每年2次``), a number inside round brackets or inside a name (``“7天发四证”``,
``《…2021-2025年…》``), nor a date with a dropped character (``20196月``: its unit is 月).

Some quantities still count something no indicator means (``not_counted``), each a named rule
of ``rules.yaml`` ``not_counted`` (the conventions of ``evals/gold/README.md``):

- ``negation``: a refused or negated count, ``不予受理12件`` (not ``reconsideration.accepted``);
- ``comparison``: last year's figure given for comparison, ``上年同期受理118件``;
- ``multi_year``: a total over several years, ``近三年累计办理…437件``, or ``近三年来，…累计
  审结…583宗`` (the span of years earlier in the sentence, a total word in the number's clause).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fazhi.backends import rules_text
from fazhi.index import index_text
from fazhi.numbers import Number

OPENING_QUOTES = "“「『\"'‘"


@dataclass(frozen=True, slots=True)  # one per number of a report: no __dict__ each
class Quantity:
    """A number that can be a figure: ``form`` is count, money, percent or zero (``零败诉``)."""

    number: Number
    form: str
    unit: str | None  # the measure word in simplified script (條 -> 条)

    @property
    def end(self) -> int:
        """End of the number with its measure word."""
        return self.number.end + len(self.unit or "")


@dataclass(frozen=True)
class QuantityRules:
    """The parts of ``rules.yaml`` that decide what a quantity is."""

    count_units: frozenset[str]  # every measure word some indicator allows
    money_units: frozenset[str]
    not_a_count: re.Pattern[str]  # matched against the text ending right before a number
    negation: re.Pattern[str]
    comparison: re.Pattern[str]
    multi_year: re.Pattern[str]
    totals: re.Pattern[str]


def quantities(text: str, norm: str, rules: QuantityRules) -> list[Quantity]:
    """The numbers of the report that can be figures (see the module docstring)."""
    inside = rules_text.enclosed(text)
    found = []
    units: dict[str | None, str | None] = {}
    index = index_text(text)  # the source's numbers, as its index found them (not again)
    for k in range(index.number_count):
        number = index.number(k)
        if rules.not_a_count.search(norm, max(0, number.start - 8), number.start):
            continue
        unit = norm[number.end : number.end + len(number.unit)] if number.unit else None
        unit = units.setdefault(unit, unit)  # one string per measure word, not one per number
        form = _form(number, unit, rules)
        if form is None:
            continue
        if inside[number.start] and not (form == "zero" and _opens_quote(text, number.start)):
            continue
        found.append(Quantity(number, form, unit))
    return found


def _form(number: Number, unit: str | None, rules: QuantityRules) -> str | None:
    if number.percent:
        return "percent"
    if unit in rules.money_units:
        return "money"
    if unit and unit in rules.count_units:
        return "count"
    if unit is None and number.value == 0 and not number.raw[0].isdigit():
        return "zero"
    return None


def _opens_quote(text: str, start: int) -> bool:
    """``“零败诉”``: a zero that opens a quotation is the quoted count, not part of a name."""
    return start > 0 and text[start - 1] in OPENING_QUOTES


# How far before a total (累计, 共计 …) a span of years (近三年, 2019-2021年) still makes it a
# multi-year total. Bounded so that one endless sentence of counts is not searched from its
# start for every number (quadratic: tests/test_rules_scaling.py); real sentences name the span
# well within this reach.
MULTI_YEAR_REACH = 300


def not_counted(
    norm: str, q: Quantity, own_start: int, sentence_start: int, rules: QuantityRules
) -> str | None:
    """The name of the rule that makes ``q`` no figure of any indicator, or None.

    ``own_start`` is where the number's own window begins (its clause, or after the quantity
    before it); the negation and comparison words must stand there, between the quantity
    before and this one, so that ``受理136件，上年同期受理118件`` keeps the 136.
    """
    start = q.number.start
    if rules.negation.search(norm, own_start, start):
        return "negation"
    if rules.comparison.search(norm, own_start, start):
        return "comparison"
    if rules.multi_year.search(norm, own_start, start):
        return "multi_year"
    span_from = max(sentence_start, start - MULTI_YEAR_REACH)
    if rules.totals.search(norm, own_start, start) and rules.multi_year.search(
        norm, span_from, start
    ):
        return "multi_year"
    return None
