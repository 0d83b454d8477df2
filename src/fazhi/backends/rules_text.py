"""Text helpers of the rules backend: a same-length simplified-script copy of the report to
match on, sentences and clauses with offsets, and the shortcoming and plan passages.

Every offset here is an offset into the report's own text: the simplified copy has exactly
the report's length, character for character, so a match in the copy is a slice of the source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import opencc

from fazhi.numbers import chinese_int

SENTENCE_ENDS = "。！？!?\n"
CLAUSE_MARKS = "，,；;：:"
_BRACKETS = {"(": ")", "（": "）"}
Span = tuple[int, int]


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """``text`` in simplified script with the same length, offset for offset.

    OpenCC converts phrase by phrase and a few phrases change length; a line where that
    happens is converted character by character instead, keeping any character whose own
    conversion is not a single character.
    """
    converter = _t2s()
    lines = []
    for line in text.splitlines(keepends=True):
        converted = converter.convert(line)
        if len(converted) != len(line):
            converted = "".join(_one_char(converter, ch) for ch in line)
        lines.append(converted)
    return "".join(lines)


def _one_char(converter: opencc.OpenCC, ch: str) -> str:
    converted = converter.convert(ch)
    return converted if len(converted) == 1 else ch


# --- sentences, clauses, brackets ----------------------------------------------------------


def sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans (without their end mark) of ``text[start:end]``; blank ones dropped."""
    return _split(text, start, len(text) if end is None else end, SENTENCE_ENDS)


def clauses(text: str, start: int, end: int) -> list[Span]:
    """Clause spans of one sentence: cut at ，,；;：: but not at a thousands comma (1,234)."""
    return _split(text, start, end, SENTENCE_ENDS + CLAUSE_MARKS)


def _split(text: str, start: int, end: int, marks: str) -> list[Span]:
    spans, begin = [], start
    for i in range(start, end):
        if text[i] in marks and not _digit_comma(text, i):
            spans.append((begin, i))
            begin = i + 1
    spans.append((begin, end))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _digit_comma(text: str, i: int) -> bool:
    return (
        text[i] in ",，"
        and 0 < i < len(text) - 1
        and text[i - 1].isdigit()
        and text[i + 1].isdigit()
    )


def enclosed(text: str, quote_length: int = 20) -> list[bool]:
    """For each offset, whether it sits inside round brackets (annotations like
    ``(含2019年结转结案1件)``) or inside a short quotation (names and slogans like
    ``“最多跑一次”``, ``“7天发四证”``): numbers there are never figures."""
    inside = [False] * len(text)
    for opening, closing, longest in (("(（", ")）", None), ("“「『\"", "”」』\"", quote_length)):
        start = None
        for i, ch in enumerate(text):
            if start is None and ch in opening:
                start = i
            elif start is not None and (ch in closing or ch == "\n"):
                if ch != "\n" and (longest is None or i - start <= longest):
                    inside[start : i + 1] = [True] * (i + 1 - start)
                start = None
    return inside


def body_start(text: str, min_length: int = 50) -> int:
    """Where the report's running text begins: the first line long enough to be a paragraph
    with clauses. Everything before it is the page header (navigation, title, fields)."""
    offset = 0
    for line in text.splitlines(keepends=True):
        if len(line.strip()) >= min_length and any(m in line for m in "，,。"):
            return offset
        offset += len(line)
    return 0


def trim(text: str, span: Span, chars: str = " \t\r\n\u3000、，,；;：:。") -> Span:
    """``span`` without surrounding blanks and punctuation."""
    start, end = span
    while start < end and text[start] in chars:
        start += 1
    while end > start and text[end - 1] in chars:
        end -= 1
    return start, end


# --- shortcomings and plans ----------------------------------------------------------------

_TOP_HEADING = re.compile(r"^[ \t\u3000]*[一二三四五六七八九十]{1,3}、", re.M)
_CN = "[一二三四五六七八九十]{1,3}"
# Enumeration styles: 一是 / （一） / 1.  Each must open a line or follow a sentence end.
_MARKERS = {
    "shi": re.compile(rf"(?:^|(?<=[。；;：:\s]))[ \t\u3000]*({_CN})是", re.M),
    "paren": re.compile(rf"(?:^|(?<=[。：:]))[ \t\u3000]*[（(]({_CN})[）)]", re.M),
    "arabic": re.compile(r"^[ \t\u3000]*(\d{1,2})[.．、](?!\d)", re.M),
}
_LIST_TAIL = re.compile(r"[，,]?\s*等等?\s*$")
_LEADS = ("如", "主要", "具体", "表现", "体现")


@dataclass(frozen=True)
class SectionRules:
    """The phrase lists of ``rules.yaml`` ``sections``, compiled."""

    shortcomings: re.Pattern[str]
    plans_heading: re.Pattern[str]
    plans_opening: Sequence[str]  # templates with {next_year}
    aspects: re.Pattern[str]
    purpose: re.Pattern[str]


def _top_headings(norm: str) -> list[int]:
    return [m.start() for m in _TOP_HEADING.finditer(norm)]


def _region_end(norm: str, start: int, limit: int | None = None) -> int:
    ends = [h for h in _top_headings(norm) if h > start] + [len(norm)]
    end = min(ends)
    return min(end, limit) if limit is not None and limit > start else end


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
    points, expected = [], 1
    for match in _MARKERS[style].finditer(norm, first.start(), end):
        if _ordinal(match.group(1)) != expected:
            continue
        points.append(match)
        expected += 1
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


def listed_items(norm: str, start: int, end: int) -> list[Span]:
    """Items of a run-on list "A；B；C，等等": cut at semicolons, or at commas when none."""
    marks = "；;" if any(ch in "；;" for ch in norm[start:end]) else "，,；;"
    items = []
    for s, e in _split(norm, start, end, marks):
        tail = _LIST_TAIL.search(norm, s, e)
        span = trim(norm, (s, tail.start() if tail else e))
        if span[0] < span[1]:
            items.append(span)
    return items


def shortcoming_items(norm: str, rules: SectionRules, begin: int, limit: int | None) -> list[Span]:
    """The admitted shortcomings: the list or enumeration after the first sentence that admits
    problems and introduces them (with a colon, or followed by "如：…")."""
    spans = sentences(norm, begin, len(norm))
    for index, (s, e) in enumerate(spans):
        if not rules.shortcomings.search(norm, s, e):
            continue
        region_end = _region_end(norm, s, limit)
        for cand_start, cand_end in spans[index : index + 2]:
            if cand_start >= region_end:
                break
            if (cand_start, cand_end) != (s, e) and not norm[cand_start:cand_end].strip().startswith(_LEADS):
                break
            items = _introduced_items(norm, cand_start, cand_end, region_end)
            if items:
                return items
    return []


def _introduced_items(norm: str, start: int, end: int, region_end: int) -> list[Span]:
    colon = next((i for i in range(start, end) if norm[i] in "：:"), None)
    if colon is None:
        return []
    tail = trim(norm, (colon + 1, end))
    if tail[0] >= tail[1] or any(p.match(norm, tail[0]) for p in _MARKERS.values()):
        return enumerated_items(norm, colon + 1, region_end)
    return listed_items(norm, colon + 1, end)


def _title_end(norm: str, start: int, longest: int = 40) -> int:
    """End of a heading's title: its line, or its first sentence when a paragraph runs on."""
    stop = min(len(norm), start + longest)
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
    """The plan's enumerated points; without an enumeration, the fields of work named in its
    opening sentence (what follows 将, with "在A、B等方面" split into A and B)."""
    end = _region_end(norm, start)
    items = enumerated_items(norm, start, end)
    if items:
        return items
    first = sentences(norm, start, end)
    return _clause_items(norm, rules, first[0]) if first else []


def _clause_items(norm: str, rules: SectionRules, sentence: Span) -> list[Span]:
    s, e = sentence
    verb = re.compile(r"(?:将|要|继续)").search(norm, s, e)
    items = []
    for cs, ce in clauses(norm, verb.end() if verb else s, e):
        cs, ce = trim(norm, (cs, ce))
        if rules.purpose.match(norm, cs, ce):
            break
        aspects = rules.aspects.search(norm, cs, ce)
        if aspects:
            parts = _split(norm, aspects.start(1), aspects.end(1), "、")
            items.extend(trim(norm, part) for part in parts)
        elif cs < ce:
            items.append((cs, ce))
    return [span for span in items if span[0] < span[1]]
