"""How the rules backend reads one quantity: its window in the sentence, and the indicator
whose phrases match there best (see ``fazhi.backends.rules`` for the whole procedure).

- the **window** is the number's clause, from the quantity before it to the quantity after it
  (or an enumeration comma, ``、``, after it); a *bare* figure (``参考人数52人``, after a colon)
  may also be read by the clauses before it, back to the last figure of the sentence;
- a **match** needs a ``near`` phrase in the window and, if the rule has any, a ``context``
  phrase; the best match is chosen by: near phrase before the number over after it; context
  in the window, then no context needed, then context earlier in the sentence, then a topic
  word in the sentence or heading right before; a near phrase that is no modifier (not
  followed by 的); the longer near phrase; the nearer context.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from fazhi.backends import rules_text
from fazhi.backends.rules_config import IndicatorRule, Rules
from fazhi.backends.rules_quantities import Quantity
from fazhi.backends.rules_text import Span

# --- matching ------------------------------------------------------------------------------


# A number whose clause before it is at most this long and ends in a label word of
# ``rules.yaml`` ``bare_labels`` (``参考人数52人``, ``全年共6次``) is a bare figure: it is
# labelled by the clauses before it, back to the last figure of the sentence.
BARE_LABEL = 4


@dataclass(frozen=True)
class Window:
    """Where one quantity's triggers are looked for, as offsets into the report."""

    own_start: int  # clause start or the end of the quantity before
    post_end: int  # clause end or the start of the quantity after
    sentence_start: int
    earlier: rules_text.PhrasesBefore  # context and breakdown phrases in the paragraph
    carry_start: int  # topic words from here on carry (the sentence or heading before)
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
    window_end = max(q.number.start, w.post_end)
    candidates = rules.indicators_for(q.form, q.unit)
    if candidates.near_any and not candidates.near_any.search(norm, w.own_start, window_end):
        return None  # no rule's near phrase in the window: most numbers of a report
    for rule in candidates.rules:
        if rule.indicator in excluded:
            continue
        if rule.near_any and not rule.near_any.search(norm, w.own_start, window_end):
            continue  # no near phrase anywhere in the window (most rules for most numbers)
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
        following = pattern.search(norm, after, w.post_end)
        if following and (q.form != "zero" or following.start() == after):
            return (False, False, following.end() - following.start(), following.end())
    return None


def _context(
    norm: str, q: Quantity, w: Window, rule: IndicatorRule, topics: frozenset[str]
) -> tuple[int, int] | None:
    """(level, distance) of the nearest context phrase; None if the rule needs one and none
    is there. Levels: 3 in the number's own window, 2 the rule needs none, 1 earlier in the
    sentence, 0 in the sentence or heading line right before (only the topic words of
    ``rules.yaml`` ``topics`` carry that far: ``（四）12345热线。全年受理…38.6万件``). So a
    clause's own words beat words carried over from the clauses before it."""
    if not rule.context:
        return (2, 0)
    found = []  # (level, distance)
    for pattern in rule.context:
        before = w.earlier.last_end(pattern, q.number.start)
        if before is not None and before > w.carry_start:
            level = 3 if before > w.own_start else 1 if before > w.sentence_start else 0
            if level or pattern.pattern in topics:
                found.append((level, q.number.start - before))
        after = pattern.search(norm, q.end, w.post_end)
        if after:
            found.append((3, after.start() - q.end))
    return max(found, key=lambda c: (c[0], -c[1]), default=None)


def scope_of(
    text: str, norm: str, start: int, end: int, templates: Sequence[re.Pattern[str]]
) -> str | None:
    """The leftmost (then longest) scope phrase in ``norm[start:end]``, as printed."""
    hits = []
    window = norm[start:end]  # a slice: a template's look-behind sees the window only
    for template in templates:
        m = template.search(window)
        if m and m.group():
            hits.append((m.start(), -len(m.group()), start + m.start(), start + m.end()))
    if not hits:
        return None
    _, _, s, e = min(hits)
    return text[s:e]


def scope_templates(rules: Rules, region: str | None) -> list[re.Pattern[str]]:
    """The scope phrases of one report (its region filled in), compiled once for the report."""
    filled = []
    for template in rules.scopes:
        if "{region}" in template:
            if region:
                filled.append(re.compile(template.replace("{region}", re.escape(region))))
        else:
            filled.append(re.compile(template))
    return filled


def windows(
    norm: str,
    sentence: Span,
    qs: list[Quantity],
    earlier: rules_text.PhrasesBefore,
    rules: Rules,
    carry_start: int,
) -> list[Window]:
    """Each quantity's window (see the module docstring, step 2); ``qs`` run left to right.

    Linear in the sentence: a scraped page can be one sentence of megabytes.
    """
    if not qs:
        return []  # most sentences state no quantity: no clauses to cut
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
        windows.append(Window(own_start, post_end, sentence[0], earlier, carry_start, bare))
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
