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
from dataclasses import dataclass, replace
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
from fazhi.backends.rules_quantities import Quantity, not_counted, quantities
from fazhi.backends.rules_text import Span
from fazhi.catalog import Catalog, default_catalog
from fazhi.model import Chunk, ChunkAnswer, Figure, Meta, Source, TextItem

__all__ = ["RulesBackend", "RulesError", "find_all", "load_rules"]


# --- matching ------------------------------------------------------------------------------


_KIND_FORMS = {"count": ("count", "zero"), "percent": ("percent",), "money": ("money",)}

# A number whose clause before it is at most this long and ends in a label word of
# ``rules.yaml`` ``bare_labels`` (``参考人数52人``, ``全年共6次``) is a bare figure: it is
# labelled by the clauses before it, back to the last figure of the sentence.
BARE_LABEL = 4
# A context phrase in an earlier sentence of the paragraph counts when it is this close
# (``（四）12345热线。全年受理群众来电诉求约38.6万件``), weaker than one in the sentence.
PARAGRAPH_REACH = 300


@dataclass(frozen=True)
class Window:
    """Where one quantity's triggers are looked for, as offsets into the report."""

    own_start: int  # clause start or the end of the quantity before
    post_end: int  # clause end or the start of the quantity after
    sentence_start: int
    earlier: rules_text.PhrasesBefore  # context and breakdown phrases in the paragraph
    bare: bool = False  # labelled by the clauses before it (``参考人数：612人``)


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
        own, modifier, length, near_end = found
        context = _context(norm, q, w, rule, rules.topics)
        if context is None:
            continue
        level, distance = context
        score = (own, level, not modifier, length, -distance)
        matches.append(Match(rule, score, near_end))
    return max(matches, key=lambda m: m.score, default=None)


def _near(
    norm: str, q: Quantity, w: Window, rule: IndicatorRule, rules: Rules
) -> tuple[bool, bool, int, int] | None:
    """(before the number?, a modifier?, phrase length, phrase end) of the near phrase closest
    to the number: before it in its window unless a blocker stands between, else after it.
    A phrase followed by 的 modifies a noun (``报送备案的规范性文件审查34件``): it loses to
    one that does not."""
    start = q.number.start
    if q.form != "zero":
        best = None
        for pattern in rule.near:
            for m in pattern.finditer(norm, w.own_start, start):
                if rules.blockers.search(norm, m.end(), start):
                    continue
                if best is None or (m.end(), m.end() - m.start()) > (best[3], best[2]):
                    best = (True, norm.startswith("的", m.end()), m.end() - m.start(), m.end())
        if best:
            return best
    after = q.number.end if q.form == "zero" else q.end
    for pattern in rule.near:
        m = pattern.search(norm, after, w.post_end)
        if m and (q.form != "zero" or m.start() == after):
            return (False, False, m.end() - m.start(), m.end())
    return None


def _context(
    norm: str, q: Quantity, w: Window, rule: IndicatorRule, topics: frozenset[str]
) -> tuple[int, int] | None:
    """(level, distance) of the nearest context phrase; None if the rule needs one and none
    is there. Levels: 3 in the number's own window, 2 the rule needs none, 1 earlier in the
    sentence, 0 in an earlier sentence of the paragraph (at most ``PARAGRAPH_REACH`` before;
    only the topic words of ``rules.yaml`` ``topics`` carry that far). So a clause's own words
    beat words carried over from the clauses before it."""
    if not rule.context:
        return (2, 0)
    found = []  # (level, distance)
    for pattern in rule.context:
        before = w.earlier.last_end(pattern, q.number.start)
        if before is not None and q.number.start - before <= PARAGRAPH_REACH:
            level = 3 if before > w.own_start else 1 if before > w.sentence_start else 0
            if level or pattern.pattern in topics:
                found.append((level, q.number.start - before))
        after = pattern.search(norm, q.end, w.post_end)
        if after:
            found.append((3, after.start() - q.end))
    return max(found, key=lambda c: (c[0], -c[1]), default=None)


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
    all_quantities = quantities(text, norm, rules.quantity)  # left to right
    starts = [q.number.start for q in all_quantities]
    norm = rules_text.mask_titles(norm)  # names in 《》 are no words of the sentence
    found: list[Found] = []
    scopes_stated: dict[tuple[str, float], set[str | None]] = {}
    paragraph: rules_text.PhrasesBefore | None = None
    previous_end = 0
    for sentence in rules_text.sentences(norm):
        # a new paragraph when a line break stands between this sentence and the one before;
        # one scan per paragraph, shared by its sentences (a page can be one line of megabytes)
        if paragraph is None or norm.rfind("\n", previous_end, sentence[0]) >= 0:
            para_end = norm.find("\n", sentence[1])
            para_end = len(norm) if para_end < 0 else para_end
            para_start = rules_text.paragraph_start(norm, sentence[0])
            paragraph = rules_text.PhrasesBefore(norm, para_start, para_end)
        previous_end = sentence[1]
        inside = all_quantities[bisect_left(starts, sentence[0]) : bisect_left(starts, sentence[1])]
        windows = _windows(norm, sentence, inside, paragraph, rules)
        for new in _sentence_figures(text, norm, rules, windows, inside, templates):
            scopes = scopes_stated.setdefault((new.item.indicator, float(new.item.value)), set())
            if not _restated(new.item.scope, scopes):
                scopes.add(new.item.scope)
                found.append(new)
    return found


def _restated(scope: str | None, stated: set[str | None]) -> bool:
    """The same figure again (a summary repeating the body): the indicator and value were
    stated before (with ``stated`` scopes), and no second scope makes it a different figure."""
    return bool(stated) and (scope is None or scope in stated or None in stated)


def _sentence_figures(
    text: str,
    norm: str,
    rules: Rules,
    windows: list[Window],
    qs: list[Quantity],
    templates: list[str],
) -> list[Found]:
    """The figures of one sentence, each at the start of its quote."""
    figures: list[Found] = []
    stated: dict[str, str | None] = {}  # indicator of ``figures`` -> its scope
    by_quantity: dict[int, str] = {}  # quantity index -> indicator it was read as
    last_figure_end = windows[0].sentence_start if windows else 0
    for i, (q, window) in enumerate(zip(qs, windows, strict=True)):
        if not_counted(norm, q, window.own_start, window.sentence_start, rules.quantity):
            continue
        # its own clause first; a bare figure then by its label (the clauses before it)
        tries = [window]
        if window.bare and last_figure_end < window.own_start:
            tries.append(replace(window, own_start=last_figure_end))
        for w in tries:
            read = _read(text, norm, rules, q, w, stated, by_quantity.get(i - 1), templates)
            if read:
                break
        if not read:
            continue
        indicator, scope, near_end = read
        by_quantity[i] = indicator
        quote = rules_text.trim(text, (w.own_start, max(q.end, near_end)))
        figure = Figure(
            indicator=indicator,
            value=q.number.value,
            raw=q.number.raw,
            quote=text[quote[0] : quote[1]],
            scope=scope,
            approx=q.number.approx,
        )
        figures.append(Found(quote[0], figure, "figure"))
        stated.setdefault(indicator, scope)
        last_figure_end = q.end
    return figures


def _read(
    text: str,
    norm: str,
    rules: Rules,
    q: Quantity,
    w: Window,
    stated: dict[str, str | None],
    previous: str | None,
    templates: list[str],
) -> tuple[str, str | None, int] | None:
    """(indicator, scope, where the quote must reach) of ``q`` read in window ``w``."""
    scope = _scope(text, norm, w.own_start, q.number.start, templates)
    breakdown = w.earlier.last_end(rules.breakdown, q.number.start)
    after_breakdown = breakdown is not None and breakdown > w.sentence_start
    # after 其中 a part does not state its total again, unless it has a scope of its own
    # (``其中以区政府为被告的57件``): then it is that total's indicator for its scope
    excluded = {ind for ind, was in stated.items() if scope is None or scope == was}
    excluded = excluded if after_breakdown else set()
    match = match_indicator(norm, q, w, rules, excluded)
    if match:
        return match.rule.indicator, scope, match.near_end
    indicator = _rate_of_previous(norm, q, w, rules, previous)
    if indicator is None and after_breakdown and scope is not None and q.form == "count":
        indicator = next(reversed(stated), None)  # the total just broken down
    if indicator is None or indicator in excluded:
        return None
    return indicator, scope, 0


def _windows(
    norm: str,
    sentence: Span,
    qs: list[Quantity],
    earlier: rules_text.PhrasesBefore,
    rules: Rules,
) -> list[Window]:
    """Each quantity's window (see the module docstring, step 2); ``qs`` run left to right.

    Linear in the sentence: a scraped page can be one sentence of megabytes.
    """
    clause_spans = rules_text.clauses(norm, *sentence)
    clause_starts = [c[0] for c in clause_spans]
    longest_unit = max((len(q.unit or "") for q in qs), default=0)
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
        listed = norm.find("、", q.end, post_end)  # 维持63件、撤销14件: the next item's words
        post_end = listed if listed >= 0 else post_end
        bare = _bare(norm, own_start, q.number.start, rules)
        windows.append(Window(own_start, post_end, sentence[0], earlier, bare))
    return windows


def _bare(norm: str, own_start: int, start: int, rules: Rules) -> bool:
    """A number with (almost) no words before it in its clause, or right after a colon, is
    labelled by what comes before (``参训人数：612人``, ``考试：参考4,326人``)."""
    label = norm[own_start:start].strip()
    if len(label) <= BARE_LABEL and rules.bare_labels.search(label):
        return True
    before = own_start - 1
    while before > 0 and norm[before].isspace():
        before -= 1
    return before >= 0 and norm[before] in "：:"


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
        return [
            _answer_for(chunk, mine)
            for chunk, mine in zip(chunks, _per_chunk(found, chunks), strict=False)
        ]


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
    stated = {f.item.field: f.item.value for f in mine if f.what == "meta"}
    return ChunkAnswer(
        chunk=chunk.index,
        figures=[
            f.item.model_copy(update={"chunk": chunk.index}) for f in mine if f.what == "figure"
        ],
        meta=Meta(**stated) if stated else None,
        shortcomings=[_at(f.item, chunk) for f in mine if f.what == "shortcoming"],
        plans=[_at(f.item, chunk) for f in mine if f.what == "plan"],
    )


def _at(item: TextItem, chunk: Chunk) -> TextItem:
    return item.model_copy(update={"chunk": chunk.index})
