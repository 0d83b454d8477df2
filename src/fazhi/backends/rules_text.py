"""Text helpers of the rules backend: a same-length simplified-script copy of the report to
match on, and sentences and clauses with offsets.

Every offset here is an offset into the report's own text: the simplified copy has exactly
the report's length, character for character, so a match in the copy is a slice of the source.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from functools import lru_cache

import opencc

from fazhi.index import split_sentences

SENTENCE_ENDS = "。！？!?\n"
CLAUSE_MARKS = "，,；;：:"
_SENTENCE_TAIL = "。！？；!?;｡"
Span = tuple[int, int]
BLOCK = 1 << 16  # characters; a block ends at the first line break after this many


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def simplified(text: str, block: int = BLOCK) -> str:
    """``text`` in simplified script with the same length, offset for offset.

    OpenCC converts phrase by phrase and a few phrases change length; a line where that
    happens is converted character by character instead, keeping any character whose own
    conversion is not a single character.
    """
    converter = _t2s()
    lines = []
    for start, end in line_blocks(text, block):  # not a list of every line of the report at once
        for line in text[start:end].splitlines(keepends=True):
            converted = converter.convert(line)
            if len(converted) != len(line):
                converted = "".join(_one_char(converter, ch) for ch in line)
            lines.append(converted)
    return "".join(lines)


def line_blocks(text: str, size: int = BLOCK) -> Iterator[Span]:
    """Spans tiling ``text``, each ending right after a ``\n`` (the last one at the end).

    Line breaks are cut points of every split here (lines, sentences), so splitting each
    block gives the same pieces as splitting the whole text, without a list of all of them.
    """
    start = 0
    while start < len(text):
        cut = text.find("\n", min(start + size, len(text)) - 1)
        end = len(text) if cut < 0 else cut + 1
        yield start, end
        start = end


def _one_char(converter: opencc.OpenCC, ch: str) -> str:
    converted = converter.convert(ch)
    return converted if len(converted) == 1 else ch


# --- sentences, clauses, brackets ----------------------------------------------------------


def sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of ``text[start:end]`` as the project's one segmenter
    (``fazhi.index.split_sentences``) cuts them, without the end mark, closers and blanks
    after it; blank ones dropped."""
    end = len(text) if end is None else end
    spans = []
    for s, e in split_sentences(text[start:end]):
        s, e = s + start, e + start
        while e > s and (text[e - 1].isspace() or text[e - 1] in _SENTENCE_TAIL):
            e -= 1
        if text[s:e].strip():
            spans.append((s, e))
    return spans


def iter_sentences(text: str, block: int = BLOCK) -> Iterator[Span]:
    """``sentences(text)``, one line block at a time: the same spans (no sentence crosses a
    line break, and what a blank line adds to a sentence is trimmed off again), without a
    list of every sentence of the report held at once."""
    for start, end in line_blocks(text, block):
        yield from sentences(text, start, end)


def clauses(text: str, start: int, end: int) -> list[Span]:
    """Clause spans of one sentence: cut at ，,；;：: but not at a thousands comma (1,234)."""
    return split_at(text, start, end, SENTENCE_ENDS + CLAUSE_MARKS)


def split_at(text: str, start: int, end: int, marks: str) -> list[Span]:
    """Non-blank spans of ``text[start:end]`` between any of ``marks``."""
    spans, begin = [], start
    for mark in _any_of(marks).finditer(text, start, end):
        i = mark.start()
        if not _digit_comma(text, i):
            spans.append((begin, i))
            begin = i + 1
    spans.append((begin, end))
    return [(s, e) for s, e in spans if text[s:e].strip()]


@lru_cache(maxsize=16)
def _any_of(marks: str) -> re.Pattern[str]:
    """One of ``marks`` (a regex scan finds them; a loop over every character is slow)."""
    return re.compile(f"[{re.escape(marks)}]")


def _digit_comma(text: str, i: int) -> bool:
    return (
        text[i] in ",，"
        and 0 < i < len(text) - 1
        and text[i - 1].isdigit()
        and text[i + 1].isdigit()
    )


class PhrasesBefore:
    """The last match of a phrase before an offset, in one sentence, for every number of it.

    ``last_end(p, end)`` is the end of the last match of ``p.finditer(text, start, end)`` --
    the same answer, without rescanning the sentence from its start for each number (a
    scraped page can be one sentence of megabytes). The sentence is scanned once per phrase;
    only a match cut by ``end`` is looked at again. That is exact for phrases whose match does
    not depend on what follows it (no ``$``, ``\\b`` or lookahead), as trigger phrases are.
    """

    def __init__(self, text: str, start: int, end: int):
        self.text, self.start, self.end = text, start, end
        self._matches: dict[re.Pattern[str], tuple[list[int], list[int]]] = {}

    def last_end(self, pattern: re.Pattern[str], end: int) -> int | None:
        starts, ends = self._scan(pattern)
        k = bisect_right(ends, end)  # the matches that end by ``end`` are the same either way
        last = ends[k - 1] if k else None
        if k < len(starts) and starts[k] < end:  # the next one is cut: a shorter one may fit
            cut = [m.end() for m in pattern.finditer(self.text, starts[k], end)]
            last = cut[-1] if cut else last
        return last

    def _scan(self, pattern: re.Pattern[str]) -> tuple[list[int], list[int]]:
        if pattern not in self._matches:
            found = [m.span() for m in pattern.finditer(self.text, self.start, self.end)]
            self._matches[pattern] = ([s for s, _ in found], [e for _, e in found])
        return self._matches[pattern]


def enclosed(text: str) -> bytearray:
    """For each offset, whether (1) or not (0) it sits inside round brackets (annotations like
    ``(含2019年结转结案1件)``), inside a title (``《…2021-2025年…》``) or inside a short
    quotation (names and slogans like ``“最多跑一次”``, ``“7天发四证”``): numbers there are
    never figures."""
    inside = bytearray(len(text))  # one byte an offset; a list of bools costs eight
    for opening, closing, longest in _ENCLOSURES:
        # from an opening mark to the first closing mark or line break (marks opened inside
        # are part of it); two searches a pair, so the text is read once per kind of pair
        start = opening.search(text)
        while start is not None:
            end = closing.search(text, start.end())
            if end is None:
                break  # never closed: nothing after it is inside this kind of pair
            first, last = start.start(), end.start()
            if text[last] != "\n" and (longest is None or last - first <= longest):
                inside[first : last + 1] = b"\x01" * (last + 1 - first)
            start = opening.search(text, last + 1)
    return inside


QUOTE_LENGTH = 20  # a quotation longer than this is speech, not a name or a slogan
_ENCLOSURES = tuple(
    (re.compile(f"[{re.escape(opening)}]"), re.compile(f"[{re.escape(closing)}\n]"), longest)
    for opening, closing, longest in (
        ("(（", ")）", None),
        ("《〈", "》〉", None),
        ('“「『"', '”」』"', QUOTE_LENGTH),
    )
)


TITLE_FILL = "□"


def mask_titles(text: str, block: int = BLOCK) -> str:
    """``text`` with the inside of every 《…》 title replaced by ``TITLE_FILL``, same length.

    A list of names (``共审查《A管理制度》《B办法》等规范性文件14件``) stands between a verb
    and its number; the words inside the names (制度, 复议, 规范性文件 …) are not words of the
    sentence and must neither trigger, give context nor block.
    """
    # a title never spans a line break: masking block by block gives the same text, without
    # a list of pieces of the whole report next to the masked copy
    return "".join([_TITLE.sub(_masked, text[s:e]) for s, e in line_blocks(text, block)])


_TITLE = re.compile(r"《[^》\n]*》")


def _masked(title: re.Match[str]) -> str:
    return "《" + TITLE_FILL * (len(title.group()) - 2) + "》"


def paragraph_start(text: str, offset: int) -> int:
    """Start of the line (a report's paragraph) holding ``offset``."""
    return text.rfind("\n", 0, offset) + 1


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
