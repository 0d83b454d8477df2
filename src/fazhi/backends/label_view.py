"""What a label-mode request shows: a span of the report with its candidates and sentences marked.

Every candidate number (``fazhi.index``) is followed by its id, ``169[n12]件``; every sentence of
a section that may hold shortcomings or plans starts with its id, ``[s40]``. The model answers
with these ids only; the code turns them back into quotes, raws, values and spans.

Two views of a span:

* ``full``: the whole text of the span, marked;
* ``compact`` (the default): the sentences that hold a candidate, the marked sentences, the
  headings, the page header (title, issuer, date lines) and the report's last lines (signature),
  in text order, a ``…`` line where sentences were left out.

Not candidates (the labelling conventions never label them, and marking them costs tokens):
numbers of time units -- years, dates, durations, time limits (``2021年``, ``3月15日``,
``近3年``, ``15个工作日``) --, the parts of ``2022-03-15``,
``13:41`` and codes (``kss622/2022-00020``), ordinals (``第9次``), document numbers
(``〔2022〕7号``) and numbers inside a document's title (``《纲要（2015—2020年）》``: a title
states no statistic, and a sentence kept only for such a number costs its tokens for nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fazhi.backends.rules_text import body_start
from fazhi.index import Candidate, SourceIndex

VIEWS = ("compact", "full")
DEFAULT_VIEW = "compact"
GAP = "…\n"
TAIL_LINES = 3  # the signature and date under it
# Section headings that hold the admitted shortcomings or next year's plans.
_TAIL_SECTION = re.compile(
    r"问题|不足|差距|短板|薄弱|困难|打算|计划|思路|安排|下一步|展望|努力方向"
)
TITLE_CHARS = 80
FALLBACK_SHARE = 0.4  # no such heading: the sentences of the report's last 40% are marked


# Units of time: no indicator counts years, days or hours (the conventions leave out years, dates,
# durations and time limits), so numbers with them are not candidates.
_PERIODS = frozenset(
    {
        "年",
        "个月",
        "個月",
        "月",
        "日",
        "天",
        "周",
        "週",
        "小时",
        "小時",
        "分钟",
        "分鐘",
        "工作日",
        "秒",
        "分",
    }
)


def sentence_id(k: int) -> str:
    return f"s{k}"


def is_candidate(c: Candidate, text: str) -> bool:
    """Whether a number can be a figure at all (see the module docstring)."""
    n, before = c.number, text[c.number.start - 1] if c.number.start else ""
    after = text[c.number.end : c.number.end + 2]
    if (
        before in ("第", "〔", "〕", "[", "［", "【")
        or after[:1] == "号"
        or before.isascii()
        and before.isalpha()
    ):
        return False
    if _joined(text, c.number.start - 2, before) or _joined(text, c.number.end + 1, after[:1]):
        return False  # a part of 2022-03-15, 13:41, 2022/3 or a code like kss622/2022-00020
    if _in_title(text, c.number.start):
        return False
    # years, dates, durations and time limits (2021年, 3月15日, 近3年, 15个工作日)
    return not (n.unit in _PERIODS and not n.percent)


def _in_title(text: str, pos: int) -> bool:
    """Inside ``《…》`` on the same line (a title runs at most ``TITLE_CHARS`` characters)."""
    left = text.rfind("《", max(0, pos - TITLE_CHARS), pos)
    return left >= 0 and text.find("》", left, pos) < 0 and "\n" not in text[left:pos]


def _joined(text: str, digit_at: int, mark: str) -> bool:
    """A date, time or code separator with a digit on its other side."""
    return mark in ("-", "/", ":", "：") and 0 <= digit_at < len(text) and text[digit_at].isdigit()


@dataclass
class View:
    """One request's text and the ids it shows."""

    text: str
    candidates: dict[str, Candidate] = field(default_factory=dict)
    sentences: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> span


def marked_sentences(index: SourceIndex) -> set[int]:
    """Indexes of the sentences a model may name as shortcomings or plans."""
    spans = [span for heading, span in index.sections() if _TAIL_SECTION.search(heading.title)]
    if not spans:
        spans = [(int(len(index.text) * (1 - FALLBACK_SHARE)), len(index.text))]
    return {k for start, end in spans for k in index.sentences_between(start, end)}


@dataclass(frozen=True)
class Layout:
    """What a source's views share: the marked sentences and the always-shown zones."""

    marked: frozenset[int]
    header_end: int
    tail_start: int

    @classmethod
    def of(cls, index: SourceIndex) -> Layout:
        text = index.text
        tail_start = len(text)
        for _ in range(TAIL_LINES):
            tail_start = text.rfind("\n", 0, max(tail_start - 1, 0)) + 1
            if tail_start == 0:
                break
        return cls(frozenset(marked_sentences(index)), body_start(text), tail_start)


@dataclass(frozen=True)
class Part:
    """What one request asks about: a span, and (after a split) only some of its candidates."""

    start: int
    end: int
    only: frozenset[str] | None = None  # candidate ids to mark; None: all
    sentences: bool = True  # mark the tail sentences (only one part of a split asks for them)


def render(
    index: SourceIndex, layout: Layout, start: int, end: int, view: str, part: Part | None = None
) -> View:
    """The marked text of ``index.text[start:end]`` in ``view`` (``part`` narrows the marks)."""
    text = index.text
    headings = {h.start for h in index.headings}
    shown = View("")
    parts: list[str] = []
    gap = False
    for k in index.sentences_between(start, end):
        s_start, s_end = index.sentence_span(k)
        s_start, s_end = max(s_start, start), min(s_end, end)
        found = [c for c in index.candidates_in(s_start, s_end) if is_candidate(c, text)]
        if part is not None and part.only is not None:
            found = [c for c in found if c.id in part.only]
        heading = _opens_heading(text, s_start, headings)
        marked = k in layout.marked and not heading  # a heading is no shortcoming or plan
        marked = marked and (part is None or part.sentences)
        always = s_start < layout.header_end or s_end > layout.tail_start
        keep = view == "full" or found or marked or always or heading
        if not keep:
            gap = True
            continue
        if gap and parts:
            parts.append(GAP)
        gap = False
        parts.append(_marked_text(text, s_start, s_end, found, sentence_id(k) if marked else None))
        shown.candidates.update((c.id, c) for c in found)
        if marked:
            shown.sentences[sentence_id(k)] = (s_start, s_end)
    shown.text = "".join(parts)
    return shown


def _opens_heading(text: str, pos: int, headings: set[int]) -> bool:
    while pos < len(text) and text[pos] in " \t\u3000\n":
        pos += 1
    return pos in headings


def _marked_text(text: str, start: int, end: int, found: list[Candidate], sid: str | None) -> str:
    pieces = [f"[{sid}]"] if sid else []
    pos = start
    for c in found:
        pieces += [text[pos : c.number.end], f"[{c.id}]"]
        pos = c.number.end
    pieces.append(text[pos:end])
    return "".join(pieces)


def split(index: SourceIndex, part: Part, shown: View) -> list[Part]:
    """A part whose answer was cut off, in two: at the sentence boundary nearest its middle, or,
    within one sentence, its candidates in two halves (the text stays whole, so every clause
    keeps its number). One part back when there is nothing left to split."""
    inner = [
        s
        for k in index.sentences_between(part.start, part.end)
        if part.start < (s := index.sentence_span(k)[0]) < part.end
    ]
    if inner:
        cut = min(inner, key=lambda s: abs(s - (part.start + part.end) / 2))
        return [
            Part(part.start, cut, part.only, part.sentences),
            Part(cut, part.end, part.only, part.sentences),
        ]
    ids = sorted(shown.candidates, key=lambda cid: shown.candidates[cid].number.start)
    if len(ids) < 2:
        return [part]
    half = len(ids) // 2
    return [
        Part(part.start, part.end, frozenset(ids[:half]), part.sentences),
        Part(part.start, part.end, frozenset(ids[half:]), False),
    ]
