"""``Source`` -> ``[Chunk]``: slices a model can read, cut where the report itself is cut.

A report is split into units -- its lines (paragraphs) -- and consecutive units are packed up to
``size`` characters. Where a chunk must end, the strongest boundary in its second half wins (in
its second to fourth quarter for a boundary that opens a section): a top heading (``一、``)
beats a sub-heading (``（一）``), a numbered item (``1.``), a plain paragraph, an enumeration
inside a paragraph (``二是``), a sentence end, a clause mark. A paragraph longer than ``size`` is
split at sentence ends; a sentence longer than ``1.5 * size`` at clause marks; a clause still
longer than ``size`` (text without punctuation) near ``size``. No cut falls inside a number.

Oversize (documented): headings never end a chunk, they travel with the unit after them. So a
chunk longer than ``size`` is always that one unit -- a paragraph of at most ``size`` or a
sentence of at most ``1.5 * size`` -- with the bare heading(s) glued in front of it, or a
single sentence of at most ``1.5 * size``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fazhi.index import (
    CLOSERS,
    HEADING_MAX,
    SENTENCE_ENDS,
    Heading,
    SourceIndex,
    find_headings,
    heading_level,
    index_of,
    split_after,
    split_sentences,
)
from fazhi.index import lines as _lines
from fazhi.model import Chunk, Source

# The sentence segmenter and the heading grammar live in fazhi.index (one of each for the
# project); they are re-exported here for the callers that cut chunks.
__all__ = [
    "CLOSERS", "DEFAULT_CHUNK_SIZE", "SENTENCE_ENDS", "Heading", "chunk_source",
    "find_headings", "split_sentences",
]  # fmt: skip

# Measured with `/work/venv/bin/python bench/chunk_sizes.py` on the five eval reports (5,181-7,084
# chars each, 160 gold quotes), without overlap:
#   size                     500   1000  1500  2000  3000  4000
#   chunks (all 5 reports)    88     42    28    21    15    11
#   quote in one chunk      100%   100%  100%  100%  100%  100%
#   paragraph in one chunk  86.9%  100%  100%  100%  100%  100%
#   cuts right at a heading   77%    95%  100%  100%  100%  100%
# Cuts fall between sentences and gold quotes are short (<= 43 chars), so containment never
# decides; from 1500 up every cut is at a heading and every quoted paragraph is seen whole.
# 2000 keeps a report to 4-5 calls (5-6 with overlap) while a chunk (~1.3-2k tokens) still
# leaves a small model's context room for the prompt and the answer.
DEFAULT_CHUNK_SIZE = 2000

CLAUSE_MARKS = "；;，,、"
LONG_SENTENCE = 1.5  # a sentence up to this many times ``size`` is never cut
# A chunk ends at its strongest boundary past half of ``size`` -- or past a quarter, if that
# boundary opens a section (一、 or （一）): a section then starts a chunk of its own.
_MIN_FILL, _MIN_FILL_SECTION = 0.5, 0.25

_ENUMERATION = re.compile(r"[一二三四五六七八九十]{1,3}是")
# Boundary strengths: higher is a better place to end a chunk.
_PARAGRAPH, _ENUMERATED, _SENTENCE, _CLAUSE, _HARD = 2, 1, 0, -1, -2
_HEADING_STRENGTH = {1: 6, 2: 5, 3: 4, 4: 3}
_NUMERALS = "0123456789０１２３４５６７８９〇零一二三四五六七八九十百千万亿两"


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    strength: int  # of the boundary in front of this unit


def chunk_source(
    source: Source, size: int = DEFAULT_CHUNK_SIZE, overlap: bool = False
) -> list[Chunk]:
    """Cut ``source.text`` into chunks of at most ``size`` characters (see the module docstring).

    Without ``overlap`` the chunks tile the text: their texts concatenate to ``source.text``.
    With ``overlap`` each chunk but the first starts with the last sentence of the one before
    (when that sentence is at most ``size // 4`` long); to stay within ``size``, the text is then
    packed to ``size - size // 4``. ``headings`` is the path at the chunk's own first character.
    """
    if size < 1:
        raise ValueError(f"chunk size must be positive, got {size}")
    text = source.text
    if not text:
        return []
    repeat = size // 4 if overlap else 0
    source_index = index_of(source)  # the source's one index: headings and numbers
    spans = _pack(text, _units(source_index, size - repeat), size - repeat)
    paths = _heading_paths(source_index.headings, [own_start for own_start, _ in spans])
    chunks = []
    for index, ((own_start, end), path) in enumerate(zip(spans, paths, strict=False)):
        start = own_start
        if repeat and index:
            start = _last_sentence_start(text, spans[index - 1], repeat)
        chunks.append(Chunk(index=index, text=text[start:end], start=start, end=end, headings=path))
    return chunks


def _heading_paths(headings: list[Heading], positions: list[int]) -> list[tuple[str, ...]]:
    """The heading path at each of ``positions`` (ascending), in one pass over the headings:
    a path per chunk from the first heading on would be quadratic in a long report."""
    paths: list[tuple[str, ...]] = []
    path: list[Heading] = []
    passed = 0
    for pos in positions:
        while passed < len(headings) and headings[passed].start <= pos:
            heading = headings[passed]
            path = [h for h in path if h.level < heading.level] + [heading]
            passed += 1
        paths.append(tuple(h.title for h in path))
    return paths


def _units(index: SourceIndex, size: int) -> list[_Unit]:
    """The text as units with the strength of the boundary in front of each."""
    text = index.text
    guard = _NumberGuard(index)
    units: list[_Unit] = []
    for start, end in _lines(text):
        level = heading_level(text[start:end].strip())
        strength = _HEADING_STRENGTH.get(level, _PARAGRAPH)
        if end - start <= size:
            units.append(_Unit(start, end, strength))
        else:
            units.extend(_split_paragraph(text, start, end, strength, size, guard))
    return _glue_headings(text, units)


def _split_paragraph(
    text: str, start: int, end: int, strength: int, size: int, guard: _NumberGuard
) -> list[_Unit]:
    units: list[_Unit] = []
    for s_start, s_end in _shift(split_sentences(text[start:end]), start):
        kind = _ENUMERATED if _ENUMERATION.match(text, s_start) else _SENTENCE
        if s_end - s_start <= size * LONG_SENTENCE:
            units.append(_Unit(s_start, s_end, kind))
            continue
        clauses = _shift(split_after(text[s_start:s_end], CLAUSE_MARKS, CLAUSE_MARKS), s_start)
        for c_index, (c_start, c_end) in enumerate(clauses):
            c_kind = kind if c_index == 0 else _CLAUSE
            units.extend(_hard_split(c_start, c_end, c_kind, size, guard))
    units[0] = _Unit(units[0].start, units[0].end, strength)
    return _drop_unsafe(units, guard)


def _hard_split(start: int, end: int, strength: int, size: int, guard: _NumberGuard) -> list[_Unit]:
    units = []
    while end - start > size:
        cut = _safe_cut(start + size, start, end, guard)
        if cut >= end:
            break
        units.append(_Unit(start, cut, strength))
        start, strength = cut, _HARD
    units.append(_Unit(start, end, strength))
    return units


def _safe_cut(wanted: int, start: int, end: int, guard: _NumberGuard) -> int:
    """The safe cut nearest before ``wanted``, else after it, else ``end`` (no cut)."""
    before = (pos for pos in range(wanted, start, -1) if guard.can_cut(pos))
    after = (pos for pos in range(wanted + 1, end) if guard.can_cut(pos))
    return next(before, None) or next(after, end)


def _drop_unsafe(units: list[_Unit], guard: _NumberGuard) -> list[_Unit]:
    kept: list[_Unit] = []
    for unit in units:
        if kept and not guard.can_cut(unit.start):
            kept[-1] = _Unit(kept[-1].start, unit.end, kept[-1].strength)
        else:
            kept.append(unit)
    return kept


def _glue_headings(text: str, units: list[_Unit]) -> list[_Unit]:
    # A heading alone at the end of a chunk tells the model nothing: it travels with what follows
    # (a run of headings, 一、 then （一） then 1., travels as one).
    glued: list[_Unit] = []
    after_heading = False
    for unit in units:
        if after_heading:
            glued[-1] = _Unit(glued[-1].start, unit.end, glued[-1].strength)
        else:
            glued.append(unit)
        after_heading = _is_bare_heading(text, unit)
    return glued


def _is_bare_heading(text: str, unit: _Unit) -> bool:
    piece = text[unit.start : unit.end].strip()
    short = len(piece) <= HEADING_MAX + 2
    return unit.strength > _PARAGRAPH and short and bool(heading_level(piece))


def _pack(text: str, units: list[_Unit], size: int) -> list[tuple[int, int]]:
    spans = []
    first = 0
    while first < len(units):
        start = units[first].start
        stop = first + 1  # a unit longer than size is a chunk of its own
        while stop < len(units) and units[stop].end - start <= size:
            stop += 1
        if stop < len(units):
            stop = _best_break(units, first, stop, size)
        spans.append((start, units[stop - 1].end))
        first = stop
    return spans


def _best_break(units: list[_Unit], first: int, overflow: int, size: int) -> int:
    """Index of the unit that starts the next chunk: the strongest boundary past its min fill."""
    start = units[first].start

    def filled_enough(k: int) -> bool:
        section = units[k].strength >= _HEADING_STRENGTH[2]
        return units[k].start - start >= size * (_MIN_FILL_SECTION if section else _MIN_FILL)

    candidates = [k for k in range(first + 1, overflow + 1) if filled_enough(k)]
    if not candidates:
        return overflow
    return max(candidates, key=lambda k: (units[k].strength, k))


def _last_sentence_start(text: str, previous: tuple[int, int], limit: int) -> int:
    own_start, end = previous
    sentences = split_sentences(text[own_start:end])
    last_start = own_start + sentences[-1][0]
    return last_start if end - last_start <= limit else end


def _shift(spans: list[tuple[int, int]], offset: int) -> list[tuple[int, int]]:
    return [(start + offset, end + offset) for start, end in spans]


class _NumberGuard:
    """Says whether a cut at a position would split a number (as ``fazhi.numbers`` reads them),
    looked up in the source's index (no set of every position inside a number)."""

    def __init__(self, index: SourceIndex) -> None:
        self._text = index.text
        self._index = index

    def can_cut(self, pos: int) -> bool:
        text = self._text
        if pos <= 0 or pos >= len(text):
            return True
        k = self._index.number_before(pos)
        if k >= 0 and pos < self._index.number_end(k):
            return False
        # find_numbers skips ordinals and runs it does not read as quantities (第十二届, 十九届).
        return not (text[pos - 1] in _NUMERALS and text[pos] in _NUMERALS)
