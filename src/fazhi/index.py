"""One index per source, built once and shared: sentences, headings, sections and candidates.

``index_of(source)`` returns the ``SourceIndex`` of a ``Source`` (built on first use, kept as
long as the source object lives). It holds

* the project's one sentence segmenter (``split_sentences``) and its sentences of the text;
* the project's one heading grammar (``find_headings``: ``一、``, ``（一）``, ``1.``, ``（1）``)
  and the sections the headings open;
* every number ``fazhi.numbers.find_numbers`` finds, as a *candidate* with a short stable id
  (``n0``, ``n1`` ... in text order), its clause and its sentence;
* the whitespace-free copy of the text the verifier locates quotes in.

Memory matters (a scraped page can be megabytes): spans and values live in flat ``array``s, a
``Candidate`` or ``Number`` object is built only when asked for, the squeezed copy only when a
quote is first located. ``bench/index_memory.py`` measures the bytes per source character.
"""

from __future__ import annotations

import re
import weakref
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property, lru_cache

from fazhi.model import Source, Span
from fazhi.numbers import Number, find_numbers

SENTENCE_ENDS = "。！？!?｡"  # not ；: a semicolon joins the parts of one sentence (一是…；二是…)
CLOSERS = "”’」』）)】》〕\"'"
CLAUSE_MARKS = "，,、：:"
CLAUSE_MAX = 80  # a clause without punctuation is cut to this many characters around its number
HEADING_MAX = 40  # heading titles are trimmed to this many characters
_BLANK, _NON_BLANK = re.compile(r"\s+"), re.compile(r"\S+")
_BLOCK = 1 << 16  # find_numbers runs on blocks this long, cut after a newline (peak memory)

HEADING_PATTERNS = (  # (level, pattern at the start of a stripped line)
    (1, re.compile(r"[一二三四五六七八九十]{1,3}、")),
    (2, re.compile(r"[（(][一二三四五六七八九十]{1,3}[）)]")),
    (3, re.compile(r"\d{1,2}\s*[.．、](?!\d)")),
    (4, re.compile(r"[（(]\d{1,2}[）)]")),
)


# --- the one segmenter and the one heading grammar ------------------------------------------


def split_sentences(text: str) -> list[Span]:
    """Sentence spans that tile ``text``: each ends after ``。！？`` (half-width too) or ``\\n``.

    Closing quotes and brackets stay with their sentence; whitespace-only pieces join the
    sentence before them.
    """
    return split_after(text, SENTENCE_ENDS + "\n", CLOSERS + SENTENCE_ENDS)


def split_after(text: str, marks: str, trailing: str) -> list[Span]:
    """Spans tiling ``text``, each ending after a mark (plus any ``trailing`` characters; a
    ``\\n`` ends a span at once, whether as the mark or among the trailing characters)."""
    ends = [m.end() for m in _mark_run(marks, trailing).finditer(text)]
    if text and (not ends or ends[-1] < len(text)):
        ends.append(len(text))
    merged: list[Span] = []
    start = 0
    for end in ends:
        if merged and not text[start:end].strip():
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
        start = end
    return merged


@lru_cache(maxsize=16)
def _mark_run(marks: str, trailing: str) -> re.Pattern[str]:
    """A mark with the trailing characters after it, as one pattern (the segmenter runs on
    every text: one regex scan, not a Python loop over its characters)."""
    alternatives = ["\n"] if "\n" in marks else []
    others, tail = marks.replace("\n", ""), trailing.replace("\n", "")
    if others:
        run = f"[{re.escape(others)}]" + (f"[{re.escape(tail)}]*" if tail else "")
        alternatives.append(run + ("\n?" if "\n" in trailing else ""))
    return re.compile("|".join(alternatives) or "(?!)")


@dataclass(frozen=True)
class Heading:
    """A heading line of the report: ``start``/``end`` span the whole line (without ``\\n``)."""

    level: int  # 1 = 一、  2 = （一）  3 = 1. / 1、  4 = （1）
    title: str
    start: int
    end: int


def heading_level(stripped: str) -> int:
    """The heading level a stripped line opens with (0: not a heading)."""
    return next((level for level, pattern in HEADING_PATTERNS if pattern.match(stripped)), 0)


def lines(text: str) -> list[Span]:
    """Line spans including their ``\\n``; blank lines join the line before them."""
    spans: list[Span] = []
    start = 0
    for line in text.splitlines(keepends=True):
        end = start + len(line)
        if spans and not line.strip():
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        start = end
    return spans


def find_headings(text: str) -> list[Heading]:
    """The report's heading lines: ``一、``, ``（一）``/``(一)``, ``1.``/``1、``, ``（1）``."""
    found = []
    for start, end in lines(text):
        line = text[start:end].split("\n", 1)[0]
        level = heading_level(line.strip())
        if level:
            found.append(Heading(level, _title(line), start, start + len(line)))
    return found


def _title(line: str) -> str:
    stripped = line.strip()
    first_start, first_end = split_sentences(stripped)[0]
    return stripped[first_start:first_end].rstrip(SENTENCE_ENDS + " \n")[:HEADING_MAX].strip()


# --- candidates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A number of the source a model may label: ``id`` is short and stable for the text."""

    id: str
    number: Number
    clause: Span  # the clause around the number (the quote a label turns into)
    sentence: int  # index into ``SourceIndex.sentence_spans``


def candidate_id(k: int) -> str:
    return f"n{k}"


def candidate_number(candidate_id_text: str) -> int | None:
    """``"n12"`` -> 12; ``None`` for anything that is not a candidate id."""
    match = re.fullmatch(r"\s*n(\d{1,7})\s*", candidate_id_text)
    return int(match.group(1)) if match else None


class _NumberTable:
    """``find_numbers(text)`` in flat arrays: about 22 bytes a number instead of ~200."""

    def __init__(self, text: str) -> None:
        self.starts, self.ends = array("i"), array("i")
        self.values = array("d")
        self.flags = array("B")  # bit 0 percent, bit 1 approx, bit 2 value is an int
        self.units = array("B")  # index into self.unit_names (0: no unit)
        self.unit_names: list[str | None] = [None]
        self.big_ints: dict[int, int] = {}  # ints a float64 cannot hold exactly
        for offset, block in _blocks(text):
            for n in find_numbers(block):
                self._add(n, offset)

    def _add(self, n: Number, offset: int) -> None:
        k = len(self.starts)
        self.starts.append(n.start + offset)
        self.ends.append(n.end + offset)
        self.values.append(float(n.value))
        is_int = isinstance(n.value, int)
        if is_int and float(n.value) != n.value:
            self.big_ints[k] = int(n.value)
        self.flags.append(int(n.percent) | int(n.approx) << 1 | int(is_int) << 2)
        if n.unit not in self.unit_names:
            self.unit_names.append(n.unit)
        self.units.append(self.unit_names.index(n.unit))

    def number(self, k: int, text: str) -> Number:
        start, end, flags = self.starts[k], self.ends[k], self.flags[k]
        value: int | float = self.values[k]
        if flags & 4:
            value = self.big_ints.get(k, int(value))
        return Number(
            value=value,
            raw=text[start:end],
            start=start,
            end=end,
            unit=self.unit_names[self.units[k]],
            percent=bool(flags & 1),
            approx=bool(flags & 2),
        )


def _blocks(text: str) -> list[tuple[int, str]]:
    # find_numbers reads nothing across a newline (its look-behinds see one character, and a
    # newline is in none of their sets), so blocks cut after a newline give the same numbers.
    blocks, start = [], 0
    while start < len(text):
        cut = text.find("\n", start + _BLOCK) + 1 or len(text)
        blocks.append((start, text[start:cut]))
        start = cut
    return blocks


# --- the index ------------------------------------------------------------------------------


class SourceIndex:
    """Everything the stages look up in one source text (see the module docstring)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._sentence_starts = array("i", (s for s, _ in split_sentences(text)))
        self._numbers = _NumberTable(text)
        self.headings: list[Heading] = find_headings(text)

    # sentences
    def __len__(self) -> int:
        return len(self.text)

    @property
    def sentence_count(self) -> int:
        return len(self._sentence_starts)

    def sentence_span(self, k: int) -> Span:
        starts = self._sentence_starts
        return starts[k], (starts[k + 1] if k + 1 < len(starts) else len(self.text))

    def sentence_spans(self, start: int = 0, end: int | None = None) -> list[Span]:
        """The sentences that overlap ``[start, end)``, as spans (whole sentences)."""
        end = len(self.text) if end is None else end
        first = max(bisect_right(self._sentence_starts, start) - 1, 0)
        spans = []
        for k in range(first, self.sentence_count):
            span = self.sentence_span(k)
            if span[0] >= end:
                break
            spans.append(span)
        return spans

    def sentence_at(self, pos: int) -> int:
        """Index of the sentence holding offset ``pos``."""
        return max(bisect_right(self._sentence_starts, pos) - 1, 0)

    def sentences_between(self, start: int, end: int) -> range:
        """Indexes of the sentences that overlap ``[start, end)``."""
        if start >= end or not self.sentence_count:
            return range(0)
        return range(self.sentence_at(start), self.sentence_at(end - 1) + 1)

    # sections
    def sections(self) -> list[tuple[Heading, Span]]:
        """Each heading with the span of its section: up to the next heading of its level or
        higher (or the end of the text)."""
        found = []
        for i, heading in enumerate(self.headings):
            later = (h.start for h in self.headings[i + 1 :] if h.level <= heading.level)
            found.append((heading, (heading.start, next(later, len(self.text)))))
        return found

    # numbers and candidates
    @property
    def number_count(self) -> int:
        return len(self._numbers.starts)

    def number(self, k: int) -> Number:
        return self._numbers.number(k, self.text)

    def number_before(self, pos: int) -> int:
        """Index of the last number starting before ``pos`` (-1 if none)."""
        return bisect_left(self._numbers.starts, pos) - 1

    def number_end(self, k: int) -> int:
        """Where number ``k`` ends (without building its ``Number``)."""
        return self._numbers.ends[k]

    def numbers_starting_in(self, start: int, end: int) -> range:
        """Indexes of the numbers that start inside ``[start, end)``, left to right."""
        starts = self._numbers.starts
        return range(bisect_left(starts, start), bisect_left(starts, end))

    def candidate(self, k: int) -> Candidate:
        number = self.number(k)
        return Candidate(
            candidate_id(k), number, self.clause_of(number), self.sentence_at(number.start)
        )

    def candidates_in(self, start: int, end: int) -> list[Candidate]:
        """The candidates whose number lies inside ``[start, end)``."""
        return [
            c
            for c in (self.candidate(k) for k in self.numbers_starting_in(start, end))
            if c.number.end <= end
        ]

    def clause_of(self, number: Number) -> Span:
        """The clause around a number: between clause or sentence marks (a thousands comma is
        not one), at most ``CLAUSE_MAX`` characters, trimmed of blanks."""
        text, marks = self.text, CLAUSE_MARKS + SENTENCE_ENDS + "\n；;"
        sentence = self.sentence_span(self.sentence_at(number.start))
        lo = max(sentence[0], number.start - CLAUSE_MAX // 2)
        hi = min(sentence[1], number.end + CLAUSE_MAX // 2)
        start = number.start
        while start > lo and not _is_mark(text, start - 1, marks):
            start -= 1
        end = number.end
        while end < hi and not _is_mark(text, end, marks):
            end += 1
        while start < number.start and text[start].isspace():
            start += 1
        while end > number.end and text[end - 1].isspace():
            end -= 1
        return start, end

    # what the verifier looks up
    @cached_property
    def squeezed(self) -> tuple[str, array]:
        """The text without whitespace, and the source offset of each of its characters."""
        # re's \s is str.isspace; runs keep the peak low (no list of one-character strings)
        positions = array("i")
        for run in _NON_BLANK.finditer(self.text):
            positions.extend(range(run.start(), run.end()))
        return _BLANK.sub("", self.text), positions

    @cached_property
    def printed_raws(self) -> frozenset[str]:
        """Every number's ``raw`` as printed, without whitespace."""
        text, table = self.text, self._numbers
        return frozenset(
            "".join(text[s:e].split()) for s, e in zip(table.starts, table.ends, strict=True)
        )


def _is_mark(text: str, i: int, marks: str) -> bool:
    if text[i] not in marks:
        return False
    # 1,234: a comma between digits is a thousands separator, not a clause mark
    return not (
        text[i] in ",，"
        and 0 < i < len(text) - 1
        and text[i - 1].isdigit()
        and text[i + 1].isdigit()
    )


_INDEXES: weakref.WeakKeyDictionary[Source, SourceIndex] = weakref.WeakKeyDictionary()
# Indexes by the identity of their text, while anything holds them (a source, a caller).
_BY_TEXT: weakref.WeakValueDictionary[int, SourceIndex] = weakref.WeakValueDictionary()
_LAST: list[SourceIndex] = []  # the last bare text indexed, kept so repeated checks reuse it


def index_of(source: Source) -> SourceIndex:
    """The index of ``source``, built on first use and kept while the source object lives."""
    found = _INDEXES.get(source)
    if found is None or found.text is not source.text:
        found = index_text(source.text)
        _INDEXES[source] = found
    return found


def index_text(text: str) -> SourceIndex:
    """The index of a text: the one a live source or caller already holds for this very string,
    else a new one. Only the last such text's index is kept beyond its users -- unlike a cache
    keyed on whole texts, a one-off look-up in a huge text holds at most one compact index."""
    found = _BY_TEXT.get(id(text))
    if found is not None and found.text is text:
        return found
    found = SourceIndex(text)
    _BY_TEXT[id(text)] = found
    _LAST[:] = [found]
    return found
