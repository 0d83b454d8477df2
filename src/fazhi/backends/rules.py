"""The offline rules backend: trigger phrases (``schemas/rules.yaml``) + ``fazhi.numbers``.

Deterministic, no model: the embedded default and the baseline every model is scored against.
It proposes the same things an LLM backend does -- figures with a verbatim quote, meta, and
shortcoming / plan passages -- and, like every backend, leaves checking them to the verifier.

How a number becomes a figure (the phrase lists and their meaning are in ``rules.yaml``):

1. it is a quantity: a count with a measure word the indicator allows, a percent, an amount
   in 元, or ``零`` right before its trigger (``零败诉``); never a year, a date, a code, an
   ordinal (``第1``) or a number inside brackets (``(含2019年结转结案1件)``);
2. its window is its clause, from the quantity before it to the quantity after it;
3. an indicator matches when a ``near`` phrase is in the window and a ``context`` phrase (if the
   indicator has any) is in the window or earlier in the sentence -- so a trigger carries over
   to the following clauses of a sentence (``收到行政复议申请169件，受理138件``);
4. the best match wins (own window before the number over after it, with context over
   without, longer phrase, nearer context); a percent with only ``占比`` in its window is the
   rate of the count just before it; after ``其中`` an indicator already stated in the
   sentence is not stated again by one of its parts.

The report is matched in simplified script (``rules_text.simplified``, same length), so
traditional reports work with simplified triggers while quotes and raws stay as printed.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fazhi.backends import rules_sections, rules_text
from fazhi.backends.rules_config import (
    IndicatorRule,
    Rules,
    RulesError,
    default_rules_path,
    load_rules,
    rules_version,
)
from fazhi.backends.rules_meta import Stated, find_meta
from fazhi.backends.rules_text import Span
from fazhi.catalog import Catalog, default_catalog
from fazhi.model import Chunk, ChunkAnswer, Figure, Meta, Source, TextItem
from fazhi.numbers import Number, find_numbers

__all__ = ["RulesBackend", "RulesError", "find_all", "load_rules"]


# --- quantities ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Quantity:
    """A number that can be a figure: ``form`` is count, money, percent or zero (``零败诉``)."""

    number: Number
    form: str
    unit: str | None  # the measure word in simplified script (條 -> 条)

    @property
    def end(self) -> int:
        """End of the number with its measure word."""
        return self.number.end + len(self.unit or "")


def quantities(text: str, norm: str, rules: Rules) -> list[Quantity]:
    """The numbers of the report that can be figures (see the module docstring)."""
    inside = rules_text.enclosed(text)
    found = []
    for number in find_numbers(text):
        if inside[number.start] or rules.not_a_count.search(
            norm, max(0, number.start - 8), number.start
        ):
            continue
        unit = norm[number.end : number.end + len(number.unit)] if number.unit else None
        form = _form(number, unit, rules)
        if form:
            found.append(Quantity(number, form, unit))
    return found


def _form(number: Number, unit: str | None, rules: Rules) -> str | None:
    if number.percent:
        return "percent"
    if unit in rules.money_units:
        return "money"
    if unit and any(unit in r.units for r in rules.indicators):
        return "count"
    if unit is None and number.value == 0 and not number.raw[0].isdigit():
        return "zero"
    return None


_KIND_FORMS = {"count": ("count", "zero"), "percent": ("percent",), "money": ("money",)}


# --- matching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Where one quantity's triggers are looked for, as offsets into the report."""

    own_start: int  # clause start or the end of the quantity before
    post_end: int  # clause end or the start of the quantity after
    earlier: rules_text.PhrasesBefore  # context and breakdown phrases in the sentence


@dataclass(frozen=True)
class Match:
    rule: IndicatorRule
    score: tuple
    near_end: int  # the quote reaches at least this far


def match_indicator(
    norm: str, q: Quantity, w: Window, rules: Rules, excluded: set[str]
) -> Match | None:
    """The best matching indicator for ``q``, or None (see the module docstring, step 4)."""
    if rules.counted_elsewhere.match(norm, q.end):
        return None
    matches = []
    for rule in rules.indicators:
        if rule.indicator in excluded or q.form not in _KIND_FORMS[rule.kind]:
            continue
        if q.form == "count" and q.unit not in rule.units:
            continue
        found = _near(norm, q, w, rule, rules)
        if found is None:
            continue
        own, length, near_end = found
        context = _context_distance(norm, q, w, rule)
        if context is None:
            continue
        score = (own, context >= 0, length, -abs(context))
        matches.append(Match(rule, score, near_end))
    return max(matches, key=lambda m: m.score, default=None)


def _near(
    norm: str, q: Quantity, w: Window, rule: IndicatorRule, rules: Rules
) -> tuple[bool, int, int] | None:
    """(before the number?, phrase length, phrase end) of the near phrase closest to the
    number: before it in its window unless a blocker stands between, else after it."""
    start = q.number.start
    if q.form != "zero":
        best = None
        for pattern in rule.near:
            for m in pattern.finditer(norm, w.own_start, start):
                if rules.blockers.search(norm, m.end(), start):
                    continue
                if best is None or (m.end(), m.end() - m.start()) > (best[2], best[1]):
                    best = (True, m.end() - m.start(), m.end())
        if best:
            return best
    after = q.number.end if q.form == "zero" else q.end
    for pattern in rule.near:
        following = pattern.search(norm, after, w.post_end)
        if following and (q.form != "zero" or following.start() == after):
            return (False, following.end() - following.start(), following.end())
    return None


def _context_distance(norm: str, q: Quantity, w: Window, rule: IndicatorRule) -> int | None:
    """How far the nearest context phrase is (-1 if the rule needs none), None if missing."""
    if not rule.context:
        return -1
    distances = []
    for pattern in rule.context:
        before = w.earlier.last_end(pattern, q.number.start)
        if before is not None:
            distances.append(q.number.start - before)
        after = pattern.search(norm, q.end, w.post_end)
        if after:
            distances.append(after.start() - q.end)
    return min(distances) if distances else None


def _scope(text: str, norm: str, start: int, end: int, templates: Sequence[str]) -> str | None:
    """The leftmost (then longest) scope phrase in ``norm[start:end]``, as printed."""
    hits = []
    for template in templates:
        m = re.search(template, norm[start:end])
        if m and m.group():
            hits.append((m.start(), -len(m.group()), start + m.start(), start + m.end()))
    if not hits:
        return None
    _, _, s, e = min(hits)
    return text[s:e]


def _scope_templates(rules: Rules, region: str | None) -> list[str]:
    filled = []
    for template in rules.scopes:
        if "{region}" in template:
            if region:
                filled.append(template.replace("{region}", re.escape(region)))
        else:
            filled.append(template)
    return filled


# --- one report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """A proposal and the offset that decides which chunk states it."""

    offset: int
    item: Figure | TextItem | Stated
    what: str  # figure, shortcoming, plan, meta


def find_figures(text: str, norm: str, rules: Rules, region: str | None) -> list[Found]:
    """Every figure the rules find in the report, first statement of each kept."""
    templates = _scope_templates(rules, region)
    all_quantities = quantities(text, norm, rules)  # left to right, as find_numbers gives them
    starts = [q.number.start for q in all_quantities]
    found: list[Found] = []
    scopes_stated: dict[tuple[str, float], set[str | None]] = {}
    for sentence in rules_text.sentences(norm):
        inside = all_quantities[bisect_left(starts, sentence[0]) : bisect_left(starts, sentence[1])]
        for new in _sentence_figures(text, norm, rules, sentence, inside, templates):
            figure = new.item
            assert isinstance(figure, Figure)  # _sentence_figures finds figures only
            scopes = scopes_stated.setdefault((figure.indicator, float(figure.value)), set())
            if not _restated(figure.scope, scopes):
                scopes.add(figure.scope)
                found.append(new)
    return found


def _restated(scope: str | None, stated: set[str | None]) -> bool:
    """The same figure again (a summary repeating the body): the indicator and value were
    stated before (with ``stated`` scopes), and no second scope makes it a different figure."""
    return bool(stated) and (scope is None or scope in stated or None in stated)


def _sentence_figures(
    text: str, norm: str, rules: Rules, sentence: Span, qs: list[Quantity], templates: list[str]
) -> list[Found]:
    """The figures of one sentence, each at the start of its quote."""
    figures: list[Found] = []
    stated: set[str] = set()  # indicators of ``figures``
    by_quantity: dict[int, str] = {}  # quantity index -> indicator it was read as
    for i, (q, window) in enumerate(zip(qs, _windows(norm, sentence, qs), strict=False)):
        own_start = window.own_start
        after_breakdown = window.earlier.last_end(rules.breakdown, q.number.start) is not None
        excluded = stated if after_breakdown else set()
        match = match_indicator(norm, q, window, rules, excluded)
        indicator: str | None
        if match:
            indicator = match.rule.indicator
        else:
            indicator = _rate_of_previous(norm, q, window, rules, by_quantity.get(i - 1))
        if indicator is None or indicator in excluded:
            continue
        by_quantity[i] = indicator
        quote = rules_text.trim(text, (own_start, max(q.end, match.near_end if match else 0)))
        figure = Figure(
            indicator=indicator,
            value=q.number.value,
            raw=q.number.raw,
            quote=text[quote[0] : quote[1]],
            scope=_scope(text, norm, own_start, q.number.start, templates),
            approx=q.number.approx,
        )
        figures.append(Found(quote[0], figure, "figure"))
        stated.add(indicator)
    return figures


def _windows(norm: str, sentence: Span, qs: list[Quantity]) -> list[Window]:
    """Each quantity's window (see the module docstring, step 2); ``qs`` run left to right.

    Linear in the sentence: a scraped page can be one sentence of megabytes.
    """
    clause_spans = rules_text.clauses(norm, *sentence)
    clause_starts = [c[0] for c in clause_spans]
    longest_unit = max((len(q.unit or "") for q in qs), default=0)
    earlier = rules_text.PhrasesBefore(norm, *sentence)
    windows = []
    for i, q in enumerate(qs):
        clause = clause_spans[bisect_right(clause_starts, q.number.start) - 1]
        own_start = clause[0]  # or the furthest end, before the number, of a quantity before it
        for before in map(qs.__getitem__, reversed(range(i))):
            if before.number.end + longest_unit <= own_start:
                break  # numbers end further left the further back: none can reach past
            if before.end <= q.number.start:
                own_start = max(own_start, before.end)
        post_end = min(clause[1], qs[i + 1].number.start) if i + 1 < len(qs) else clause[1]
        windows.append(Window(own_start, post_end, earlier))
    return windows


def _rate_of_previous(
    norm: str, q: Quantity, w: Window, rules: Rules, previous: str | None
) -> str | None:
    """``调解和解结案42件，占比40.8%``: a bare share right after a count is that count's rate."""
    if q.form != "percent" or previous is None:
        return None
    if not rules.rate_words.match(norm[w.own_start : q.number.start]):
        return None
    return rules.rate_of.get(previous)


def find_text_items(text: str, norm: str, rules: Rules, year: int | None) -> list[Found]:
    """Shortcomings and next year's plans as verbatim passages."""
    body = rules_text.body_start(norm)
    shortcomings = rules_sections.shortcoming_items(norm, rules.sections, body)
    begin = shortcomings[-1][1] if shortcomings else max(body, len(norm) // 2)
    start = rules_sections.plan_start(norm, rules.sections, begin, year)
    plans = rules_sections.plan_items(norm, rules.sections, start) if start is not None else []
    return [
        Found(s, TextItem(quote=text[s:e]), what)
        for what, spans in (("shortcoming", shortcomings), ("plan", plans))
        for s, e in spans
    ]


def find_all(text: str, rules: Rules) -> list[Found]:
    """Everything the rules find in one report, each with its offset."""
    norm = rules_text.simplified(text)
    meta = find_meta(text, norm, rules.meta)
    region = next(
        (norm[s.offset : s.offset + len(str(s.value))] for s in meta if s.field == "region"), None
    )
    year = next((int(s.value) for s in meta if s.field == "year"), None)
    return (
        [Found(s.offset, s, "meta") for s in meta]
        + find_figures(text, norm, rules, region)
        + find_text_items(text, norm, rules, year)
    )


# --- the backend ---------------------------------------------------------------------------


class RulesBackend:
    """Deterministic extraction with trigger phrases; no model, no network."""

    name = "rules"
    model = None

    def __init__(self, catalog: Catalog | None = None, rules_path: Path | None = None):
        self.catalog = catalog or default_catalog()
        self.rules_path = Path(rules_path) if rules_path else default_rules_path()
        self.rules = load_rules(self.rules_path, self.catalog)
        self.prompt_version = rules_version(self.rules_path)

    def answer(self, chunks: Sequence[Chunk], source: Source) -> list[ChunkAnswer]:
        """One answer per chunk; each proposal goes to the chunk holding its offset."""
        try:
            found = find_all(source.text, self.rules)
        except Exception as exc:  # a rules bug must not lose the report (backend contract)
            error = f"rules backend failed: {type(exc).__name__}: {exc}"
            return [ChunkAnswer(chunk=c.index, error=error) for c in chunks]
        per_chunk = _per_chunk(found, chunks)
        return [_answer_for(chunk, mine) for chunk, mine in zip(chunks, per_chunk, strict=False)]


def _per_chunk(found: list[Found], chunks: Sequence[Chunk]) -> list[list[Found]]:
    """For each chunk, the proposals whose offset it holds, in the order they were found
    (by bisection: a long report has thousands of chunks and proposals)."""
    by_offset = sorted(range(len(found)), key=lambda i: found[i].offset)
    offsets = [found[i].offset for i in by_offset]
    return [
        [
            found[i]
            for i in sorted(by_offset[bisect_left(offsets, c.start) : bisect_left(offsets, c.end)])
        ]
        for c in chunks
    ]


def _answer_for(chunk: Chunk, mine: list[Found]) -> ChunkAnswer:
    # ``what`` names the kind of ``item``; the isinstance tests say the same to the type checker.
    stated = {f.item.field: f.item.value for f in mine if isinstance(f.item, Stated)}
    texts = {
        what: [_at(f.item, chunk) for f in mine if f.what == what and isinstance(f.item, TextItem)]
        for what in ("shortcoming", "plan")
    }
    return ChunkAnswer(
        chunk=chunk.index,
        figures=[
            f.item.model_copy(update={"chunk": chunk.index})
            for f in mine
            if isinstance(f.item, Figure)
        ],
        meta=Meta.model_validate(stated) if stated else None,
        shortcomings=texts["shortcoming"],
        plans=texts["plan"],
    )


def _at(item: TextItem, chunk: Chunk) -> TextItem:
    return item.model_copy(update={"chunk": chunk.index})
