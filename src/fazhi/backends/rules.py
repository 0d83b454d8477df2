"""The offline rules backend: trigger phrases (``schemas/rules.yaml``) + ``fazhi.numbers``.

Deterministic, no model: the embedded default and the baseline every model is scored against.
It proposes the same things an LLM backend does -- figures with a verbatim quote, meta, and
shortcoming / plan passages -- and, like every backend, leaves checking them to the verifier.

How a number becomes a figure (the phrase lists and their meaning are in ``rules.yaml``):

1. it is a quantity (``rules_quantities``): a count with a measure word some indicator allows,
   a percent, an amount in 元, or ``零`` right before its trigger (``零败诉``, ``“零败诉”``);
   never a year, a date, a code, an ordinal (``第1``) or a number inside brackets or names
   (``(含2019年结转结案1件)``, ``《…》``); and not a negated count, last year's figure or a
   total over several years (``not_counted``);
2. its window is its clause, from the quantity before it to the quantity after it; a bare
   figure (``参考人数：52人``) is also read by the clauses before it (``rules_match``);
3. an indicator matches when a ``near`` phrase is in the window and a ``context`` phrase (if the
   indicator has any) is in the window, earlier in the sentence, or -- for a topic word such
   as 复议 or 热线 -- in an earlier sentence of the paragraph; so a trigger carries over to the
   following clauses of a sentence (``收到行政复议申请169件，受理138件``);
4. the best match wins (the order is in ``rules_match``); a percent with only ``占比`` in its
   window is the rate of the count just before it; after ``其中`` an indicator already
   stated in the sentence is not stated again by one of its parts, unless the part has a
   scope of its own (``其中以区政府为被告的57件``). Names in 《》 are masked while matching,
   so a list of titles neither triggers nor blocks.

The report is matched in simplified script (``rules_text.simplified``, same length), so
traditional reports work with simplified triggers while quotes and raws stay as printed.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from fazhi.backends import rules_sections, rules_text
from fazhi.backends.rules_config import (
    Rules,
    RulesError,
    default_rules_path,
    load_rules,
    rules_version,
)
from fazhi.backends.rules_match import Window, match_indicator, scope_of, scope_templates, windows
from fazhi.backends.rules_meta import Stated, find_meta
from fazhi.backends.rules_quantities import Quantity, not_counted, quantities
from fazhi.backends.rules_text import Span
from fazhi.catalog import Catalog, default_catalog
from fazhi.model import Chunk, ChunkAnswer, FigureProposal, Meta, Source, TextProposal

HEADING_LENGTH = 30  # a line this short without a full stop heads the paragraph below it

__all__ = ["RulesBackend", "RulesError", "find_all", "load_rules"]


# --- one report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """A proposal and the offset that decides which chunk states it."""

    offset: int
    item: FigureProposal | TextProposal | Stated
    what: str  # figure, shortcoming, plan, meta


def find_figures(text: str, norm: str, rules: Rules, region: str | None) -> list[Found]:
    """Every figure the rules find in the report, first statement of each kept."""
    templates = scope_templates(rules, region)
    all_quantities = quantities(text, norm, rules.quantity)  # left to right
    starts = [q.number.start for q in all_quantities]
    norm = rules_text.mask_titles(norm)  # names in 《》 are no words of the sentence
    found: list[Found] = []
    scopes_stated: dict[tuple[str, float], set[str | None]] = {}
    paragraph: rules_text.PhrasesBefore | None = None
    previous: Span | None = None
    for sentence in rules_text.iter_sentences(norm):
        # a new paragraph when a line break stands between this sentence and the one before;
        # one scan per paragraph, shared by its sentences (a page can be one line of megabytes)
        if paragraph is None or previous is None or "\n" in norm[previous[1] : sentence[0]]:
            para_start = _paragraph_start(norm, previous, sentence)
            para_end = norm.find("\n", sentence[1])
            para_end = len(norm) if para_end < 0 else para_end
            paragraph = rules_text.PhrasesBefore(norm, para_start, para_end)
            carry_start = para_start
        else:  # a topic word carries over from the sentence before (only)
            carry_start = previous[0]
        previous = sentence
        inside = all_quantities[bisect_left(starts, sentence[0]) : bisect_left(starts, sentence[1])]
        sentence_windows = windows(norm, sentence, inside, paragraph, rules, carry_start)
        for new in _sentence_figures(text, norm, rules, sentence_windows, inside, templates):
            figure = new.item
            assert isinstance(figure, FigureProposal)  # _sentence_figures finds figures only
            scopes = scopes_stated.setdefault((figure.indicator, float(figure.value)), set())
            if not _restated(figure.scope, scopes):
                scopes.add(figure.scope)
                found.append(new)
    return found


def _paragraph_start(norm: str, previous: Span | None, sentence: Span) -> int:
    """Where the paragraph of ``sentence`` starts: its line, or the heading line right above
    it (``（三）行政复议`` names the topic of the paragraph below it)."""
    line_start = rules_text.paragraph_start(norm, sentence[0])
    if previous is None or previous[1] - previous[0] > HEADING_LENGTH:
        return line_start
    own_line = not norm[rules_text.paragraph_start(norm, previous[0]) : previous[0]].strip()
    ends_line = norm[previous[1] : sentence[0]].strip() == "" and norm[previous[1]] == "\n"
    return previous[0] if own_line and ends_line else line_start


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
    templates: list[re.Pattern[str]],
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
        figure = FigureProposal(
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
    templates: list[re.Pattern[str]],
) -> tuple[str, str | None, int] | None:
    """(indicator, scope, where the quote must reach) of ``q`` read in window ``w``."""
    scope = scope_of(text, norm, w.own_start, q.number.start, templates)
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
        Found(s, TextProposal(quote=text[s:e]), what)
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
    # ``what`` names the kind of ``item``; the isinstance tests say the same to the type checker.
    stated = {f.item.field: f.item.value for f in mine if isinstance(f.item, Stated)}
    texts = {
        what: [
            _at(f.item, chunk) for f in mine if f.what == what and isinstance(f.item, TextProposal)
        ]
        for what in ("shortcoming", "plan")
    }
    return ChunkAnswer(
        chunk=chunk.index,
        figures=[
            f.item.model_copy(update={"chunk": chunk.index})
            for f in mine
            if isinstance(f.item, FigureProposal)
        ],
        meta=Meta.model_validate(stated) if stated else None,
        shortcomings=texts["shortcoming"],
        plans=texts["plan"],
    )


def _at(item: TextProposal, chunk: Chunk) -> TextProposal:
    return item.model_copy(update={"chunk": chunk.index})
