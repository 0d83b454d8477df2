"""A PDF's text layer -> the report's text, as a reader sees it rather than as it was typeset.

``pdfplumber`` gives lines with their positions; this module

* drops page furniture in a page's first or last two rows, where a wider gap than the line
  pitch sets them apart from the body: page numbers (``— 1 —``, ``- 2 -``, ``第3页``,
  ``第 3 页 共 9 页``, ``3/9``) and running headers or footers -- a line shorter than the
  measure that recurs there (digits aside) on at least half of the pages, and two;
* rejoins wrapped lines: a line that reaches the right margin continues on the next line unless
  that one is indented or opens a heading (``一、``, ``（一）``, ``1.``, as ``fazhi.index``
  reads them). Chinese (and digits) join
  without a space, so no number or word is split across a line; two Latin letters get one.

The right margin is the widest line end, trusted only when at least three lines reach it (a
page of short separate lines is kept line by line). Offsets refer to the joined text, which is
``Source.text``.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from fazhi.index import heading_level
from fazhi.ingest.decode import Undecodable, normalise_newlines

_PAGE_NUMBER = re.compile(
    r"[-—–－―~～\s]*(?:第\s*)?\d{1,4}\s*(?:页|頁)?(?:\s*[/／共]\s*\d{1,4}\s*(?:页|頁)?)?[-—–－―~～\s]*"
)
_FURNITURE_ROWS = 2  # page numbers and running headers live in a page's first or last rows
_APART = 1.5  # ... set apart from the body by a gap this many line pitches wide
_MARGIN_LINES = 3  # lines that must reach the widest line end for it to count as the margin
_SLACK = 2.0  # a wrapped line may stop this many character widths short of the margin
_INDENT = 1.0  # a line starting this many character widths right of the left edge is indented


@dataclass(frozen=True)
class _Line:
    text: str
    x0: float
    x1: float
    top: float
    size: float  # font size of its characters: the width of one Chinese character


def pdf_text(path: Path) -> str:
    """The text of a PDF's text layer (see the module docstring); ``""`` when it has none."""
    import pdfplumber  # only paid for PDF input

    try:
        with pdfplumber.open(path) as pdf:
            pages = [_page_lines(page) for page in pdf.pages]
    except Exception as exc:  # pdfminer raises many unrelated types for broken files
        raise Undecodable(f"not a readable PDF ({type(exc).__name__})") from None
    body = [line for page in _drop_furniture(pages) for line in page]
    return normalise_newlines(_rejoin(body))


def _page_lines(page: object) -> list[_Line]:
    lines = []
    for found in page.extract_text_lines(strip=True, return_chars=True):  # type: ignore[attr-defined]
        text = found["text"]
        if not text.strip():
            continue
        sizes = [c.get("size", 0.0) for c in found.get("chars", [])] or [10.0]
        size = statistics.median(sizes)
        lines.append(_Line(text, found["x0"], found["x1"], found["top"], size))
    return lines


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _drop_furniture(pages: list[list[_Line]]) -> list[list[_Line]]:
    def edges(lines: list[_Line]) -> list[_Line]:
        return _set_apart(lines)

    # A line that fills the measure is body text that happens to repeat, never a running header.
    every = [line for page in pages for line in page]
    right = max((line.x1 for line in every), default=0.0)
    width = statistics.median(line.size for line in every) if every else 0.0

    def short(line: _Line) -> bool:
        return line.x1 < right - _SLACK * width

    recurring = Counter(
        key for page in pages for key in {_key(x.text) for x in edges(page) if short(x)}
    )
    threshold = max(2, len(pages) / 2)

    def furniture(line: _Line) -> bool:
        if _PAGE_NUMBER.fullmatch(line.text):
            return True
        return short(line) and recurring[_key(line.text)] >= threshold

    kept = []
    for page in pages:
        at_edge = {id(line) for line in edges(page)}
        kept.append([x for x in page if id(x) not in at_edge or not furniture(x)])
    return kept


def _set_apart(lines: list[_Line]) -> list[_Line]:
    """The first and last rows of a page (up to two each) that a wider gap than the line pitch
    sets apart from the body: where headers, footers and page numbers sit."""
    if len(lines) < 3:
        return []
    gaps = [b.top - a.top for a, b in zip(lines, lines[1:], strict=False)]
    pitch = statistics.median(gaps)
    apart: list[_Line] = []
    for row in range(min(_FURNITURE_ROWS, len(gaps))):
        if gaps[row] <= _APART * pitch:
            break
        apart.extend(lines[: row + 1])
    for row in range(min(_FURNITURE_ROWS, len(gaps))):
        if gaps[-1 - row] <= _APART * pitch:
            break
        apart.extend(lines[len(lines) - 1 - row :])
    return list({id(line): line for line in apart}.values())


def _rejoin(lines: list[_Line]) -> str:
    if not lines:
        return ""
    left = min(line.x0 for line in lines)
    right = max(line.x1 for line in lines)
    width = statistics.median(line.size for line in lines)
    margin_lines = sum(1 for line in lines if line.x1 >= right - _SLACK * width)
    has_margin = margin_lines >= _MARGIN_LINES
    parts = [lines[0].text]
    for previous, line in zip(lines, lines[1:], strict=False):
        wrapped = has_margin and previous.x1 >= right - _SLACK * width
        new_paragraph = line.x0 > left + _INDENT * width or heading_level(line.text.strip())
        if wrapped and not new_paragraph:
            parts.append(_joiner(previous.text, line.text) + line.text)
        else:
            parts.append("\n" + line.text)
    return "".join(parts)


def _joiner(before: str, after: str) -> str:
    # Latin words wrapped at a space get it back; Chinese and digits never had one.
    latin = re.compile(r"[A-Za-z]")
    return " " if latin.match(before[-1]) and latin.match(after[0]) else ""
