"""Shortcomings and next year's plans as verbatim passages (spans of the report).

Reports admit problems in a section of their own ("存在的不足和原因", "存在的问题") or in one
sentence near the end ("…但也存在一些问题和不足，主要体现在：A；B；C，等等。"), and lay out
the next year's plan under a heading ("2022年工作打算") or in a sentence ("2022年，我市将…").
One item per enumerated point (一是… / （一）… / 1.…, the point's first sentence), per list
entry when a colon introduces a run-on list, and per sentence when there is neither.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fazhi.backends.rules_text import SENTENCE_ENDS, Span, clauses, sentences, split_at, trim
from fazhi.numbers import chinese_int

_TOP_HEADING = re.compile(r"^[ \t\u3000]*[一二三四五六七八九十]{1,3}、", re.M)
_CN = "[一二三四五六七八九十]{1,3}"
# Enumeration styles: 一是 / （一） / 1. / （1）. Each must open a line or follow a sentence end.
# 一是 may also follow any blank. Its match starts where a blank run starts, or at the numeral
# when a blank is right before it -- never inside a run: trying every position of a run would
# rescan the rest of the run from each one, quadratic in a scraped page's blank filler.
_BLANK = r"[ \t\u3000]"
_SHI_OPENING = rf"(?:(?:^|(?<=[。；;：:\s]))(?<!{_BLANK}){_BLANK}*|(?<={_BLANK}))"
_MARKERS = {
    "shi": re.compile(rf"{_SHI_OPENING}({_CN})是", re.M),
    "paren": re.compile(rf"(?:^|(?<=[。：:]))[ \t\u3000]*[（(]({_CN})[）)]", re.M),
    "arabic": re.compile(r"^[ \t\u3000]*(\d{1,2})[.．、](?!\d)", re.M),
    "paren_arabic": re.compile(r"(?:^|(?<=[。：:]))[ \t\u3000]*[（(](\d{1,2})[）)]", re.M),
}
# A sentence starting so, right after an admission, is its list: "如：A，B，C等。"
_LEADS = ("如", "主要", "具体", "表现", "体现")
_HEADING_LENGTH = 40


@dataclass(frozen=True)
class SectionRules:
    """The phrase lists of ``rules.yaml`` ``sections``, compiled."""

    shortcomings: re.Pattern[str]
    plans_heading: re.Pattern[str]
    plans_opening: Sequence[str]  # templates with {next_year}
    aspects: re.Pattern[str]
    purpose: re.Pattern[str]


# --- shortcomings --------------------------------------------------------------------------


def shortcoming_items(norm: str, rules: SectionRules, begin: int) -> list[Span]:
    """The admitted shortcomings after ``begin``: the list an admission introduces, else the
    points (or sentences) of a section whose heading admits problems."""
    spans = sentences(norm, begin, len(norm))
    admissions = [i for i, (s, e) in enumerate(spans) if rules.shortcomings.search(norm, s, e)]
    for i in admissions:
        items = _introduced_list(norm, spans, i)
        if items:
            return items
    for i in admissions:
        if _is_heading(norm, *spans[i]):
            end = _region_end(norm, spans[i][1])
            items = enumerated_items(norm, spans[i][1], end)
            return items or _prose(norm, rules, spans[i][1], end)
    return []


def _introduced_list(norm: str, spans: list[Span], i: int) -> list[Span]:
    """The items an admission introduces: after its colon, or in the next sentence when that
    one is the list ("如：…") or starts an enumeration ("一是…")."""
    s, e = spans[i]
    end = _region_end(norm, s)
    items = _after_colon(norm, s, e, end)
    if items or i + 1 >= len(spans) or spans[i + 1][0] >= end:
        return items
    ns, ne = spans[i + 1]
    if norm[ns:ne].strip().startswith(_LEADS):
        return _after_colon(norm, ns, ne, end)
    if _starts_enumeration(norm, ns):
        return enumerated_items(norm, ns, end)
    return []


def _after_colon(norm: str, start: int, end: int, region_end: int) -> list[Span]:
    colon = next((i for i in range(start, end) if norm[i] in "：:"), None)
    if colon is None:
        return []
    tail = trim(norm, (colon + 1, end))
    if tail[0] >= tail[1] or _starts_enumeration(norm, tail[0]):
        return enumerated_items(norm, colon + 1, region_end)
    return listed_items(norm, colon + 1, end)


def listed_items(norm: str, start: int, end: int) -> list[Span]:
    """Items of a run-on list "A；B；C，等等": cut at semicolons, or at commas when none."""
    marks = "；;" if any(ch in "；;" for ch in norm[start:end]) else "，,；;"
    items = []
    for s, e in split_at(norm, start, end, marks):
        span = trim(norm, (s, _list_tail_start(norm, s, e)))
        if span[0] < span[1]:
            items.append(span)
    return items


def _list_tail_start(norm: str, start: int, end: int) -> int:
    r"""Where an item's closing "，等等" (or "等") begins, ``end`` if it has none.

    The leftmost start of ``[，,]?\s*等等?\s*$`` in ``norm[start:end]``, found from the end:
    the regex tried every position of a blank run, each time to the end of the run.
    """
    stop = end
    while stop > start and norm[stop - 1].isspace():  # what \s matches
        stop -= 1
    if stop - 1 < start or norm[stop - 1] != "等":
        return end
    etc = stop - 2 if stop - 2 >= start and norm[stop - 2] == "等" else stop - 1
    blanks = etc
    while blanks > start and norm[blanks - 1].isspace():
        blanks -= 1
    return blanks - 1 if blanks > start and norm[blanks - 1] in "，," else blanks


# --- enumerations, headings, sections ------------------------------------------------------


def enumerated_items(norm: str, start: int, end: int) -> list[Span]:
    """The first sentence of each point of the first enumeration in ``norm[start:end]``.

    Only one style counts (the one that starts first) and only while its numbering runs
    1, 2, 3 ...: a nested 一是 inside point 3. is part of point 3, not a point of its own.
    """
    first: re.Match[str] | None = None
    style = ""
    for name, pattern in _MARKERS.items():
        match = pattern.search(norm, start, end)
        if match and (first is None or match.start(1) < first.start(1)):
            first, style = match, name
    if first is None:
        return []
    points: list[re.Match[str]] = []
    for match in _MARKERS[style].finditer(norm, first.start(), end):
        if _ordinal(match.group(1)) == len(points) + 1:
            points.append(match)
    items = []
    for i, match in enumerate(points):
        stop = points[i + 1].start() if i + 1 < len(points) else end
        sentence_end = next((j for j in range(match.end(), stop) if norm[j] in SENTENCE_ENDS), stop)
        span = trim(norm, (match.end(), sentence_end))
        if span[0] < span[1]:
            items.append(span)
    return items


def _ordinal(numeral: str) -> int | None:
    return int(numeral) if numeral.isdigit() else chinese_int(numeral)


def _starts_enumeration(norm: str, pos: int) -> bool:
    return any(pattern.match(norm, pos) for pattern in _MARKERS.values())


def _is_heading(norm: str, start: int, end: int) -> bool:
    """A short line of its own, without clauses: "三、存在的问题", "存在的不足"."""
    line_start = norm.rfind("\n", 0, start) + 1
    line_end = norm.find("\n", end)
    line = norm[line_start : len(norm) if line_end < 0 else line_end].strip()
    return 0 < len(line) <= _HEADING_LENGTH and not any(m in line for m in "，,；;")


def _top_headings(norm: str) -> list[int]:
    return [m.start() for m in _TOP_HEADING.finditer(norm)]


def _region_end(norm: str, start: int) -> int:
    """Where the section holding ``start`` ends: the next top heading (一、…), or the end."""
    heading = _TOP_HEADING.search(norm, start + 1)  # headings never overlap: the next one
    return heading.start() if heading else len(norm)


def _prose(norm: str, rules: SectionRules, start: int, end: int) -> list[Span]:
    """The sentences of running text in ``norm[start:end]`` -- not the admission that opens a
    section, nor page residue (short lines without clauses: signatures, links)."""
    found = []
    for s, e in sentences(norm, start, end):
        running = any(m in norm[s:e] for m in "，,") or (e < len(norm) and norm[e] == "。")
        if running and not rules.shortcomings.search(norm, s, e):
            found.append(trim(norm, (s, e)))
    return found


# --- plans ---------------------------------------------------------------------------------


def _title_end(norm: str, start: int) -> int:
    """End of a heading's title: its line, or its first sentence when a paragraph runs on."""
    stop = min(len(norm), start + _HEADING_LENGTH)
    return next((i for i in range(start, stop) if norm[i] in SENTENCE_ENDS), stop)


def plan_start(norm: str, rules: SectionRules, begin: int, year: int | None) -> int | None:
    """Where next year's plan starts: a top heading naming plans, or an opening sentence
    ("下一步，我市将…", "2022年，我市将…"), whichever comes first after ``begin``."""
    candidates = []
    for heading in _top_headings(norm):
        title_end = _title_end(norm, heading)
        if heading >= begin and rules.plans_heading.search(norm, heading, title_end):
            candidates.append(title_end)
    next_year = str(year + 1) if year else r"\d{4}"
    openings = [re.compile(t.replace("{next_year}", next_year)) for t in rules.plans_opening]
    for s, e in sentences(norm, begin, len(norm)):
        if any(p.search(norm[s:e]) for p in openings):
            candidates.append(s)
            break
    return min(candidates) if candidates else None


def plan_items(norm: str, rules: SectionRules, start: int) -> list[Span]:
    """The plan's enumerated points; without an enumeration, its sentences -- or, when the plan
    is one sentence, the fields of work it names after 将 ("在A、B等方面" split into A, B)."""
    end = _region_end(norm, start)
    items = enumerated_items(norm, start, end)
    if items:
        return items
    prose = _prose(norm, rules, start, end)
    return _clause_items(norm, rules, prose[0]) if len(prose) == 1 else prose


def _clause_items(norm: str, rules: SectionRules, sentence: Span) -> list[Span]:
    s, e = sentence
    verb = re.compile(r"(?:将|要|继续)").search(norm, s, e)
    items: list[Span] = []
    for cs, ce in clauses(norm, verb.end() if verb else s, e):
        cs, ce = trim(norm, (cs, ce))
        if rules.purpose.match(norm, cs, ce):
            break
        aspects = rules.aspects.search(norm, cs, ce)
        if aspects:
            parts = split_at(norm, aspects.start(1), aspects.end(1), "、")
            items.extend(trim(norm, part) for part in parts)
        elif cs < ce:
            items.append((cs, ce))
    return [span for span in items if span[0] < span[1]]
