"""fazhi.index: one segmenter, one heading grammar, every number a candidate, compact."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from fazhi import chunking, index
from fazhi.backends import rules_text
from fazhi.index import (
    SourceIndex,
    candidate_id,
    candidate_number,
    index_of,
    index_text,
    split_sentences,
)
from fazhi.model import Source
from fazhi.numbers import find_numbers
from tests.conftest import REPORTS, report_text


def test_one_segmenter_and_one_heading_grammar():
    assert chunking.split_sentences is index.split_sentences
    assert chunking.find_headings is index.find_headings
    text = report_text(REPORTS[0])
    starts = {s for s, _ in split_sentences(text)}
    for start, end in rules_text.sentences(text):
        # the rules backend's sentences are the segmenter's, less their end mark and blanks
        assert text[start:end].strip()
        owner = max(s for s in starts if s <= start)
        assert text[owner:start].strip() == ""
        assert text[end:].lstrip(" \t\u3000")[:1] in ("", *"。！？!?｡\n", *"“”")


def test_sentences_tile_the_text_and_semicolons_stay_inside():
    text = "一是完善制度；二是加强监督。三、工作打算\n明年将继续推进！"
    spans = split_sentences(text)
    assert "".join(text[s:e] for s, e in spans) == text
    assert [text[s:e] for s, e in spans] == [
        "一是完善制度；二是加强监督。",
        "三、工作打算\n",
        "明年将继续推进！",
    ]


SENTENCE_MARKS = (index.SENTENCE_ENDS + "\n", index.CLOSERS + index.SENTENCE_ENDS)


@pytest.mark.parametrize(
    ("text", "marks", "pieces"),
    [
        ("", SENTENCE_MARKS, []),
        ("甲。！”乙", SENTENCE_MARKS, ["甲。！”", "乙"]),  # marks and closers run on
        ("甲。\n乙\n\n  \n丙", SENTENCE_MARKS, ["甲。\n", "乙\n\n  \n", "丙"]),  # blanks join
        ("  \n甲", SENTENCE_MARKS, ["  \n", "甲"]),  # a blank start has nothing to join
        ("a，\nb", ("，", "，\n"), ["a，\n", "b"]),  # a line break trails, then ends the span
        ("a，，\n\nb", ("，", "，\n"), ["a，，\n", "\nb"]),  # ... at once: one line break
        ("a\nb，c", ("，,、：:", "，,、：:"), ["a\nb，", "c"]),  # not a mark here: no cut
    ],
)
def test_split_after_cuts_after_marks_and_their_trailing_characters(text, marks, pieces):
    spans = index.split_after(text, *marks)
    assert [text[s:e] for s, e in spans] == pieces
    assert "".join(pieces) == text


@pytest.mark.parametrize("stem", REPORTS)
def test_candidates_are_every_number_in_text_order(stem):
    text = report_text(stem)
    built = SourceIndex(text)
    numbers = find_numbers(text)
    assert built.number_count == len(numbers)
    candidates = built.candidates_in(0, len(text))
    assert [c.number for c in candidates] == numbers
    assert [c.id for c in candidates] == [candidate_id(k) for k in range(len(numbers))]
    for c in candidates:
        start, end = c.clause
        assert start <= c.number.start and c.number.end <= end
        sentence = built.sentence_span(c.sentence)
        assert sentence[0] <= start and end <= sentence[1]
        assert end - start <= index.CLAUSE_MAX + len(c.number.raw)


def test_numbers_found_in_blocks_equal_the_whole_text(monkeypatch):
    text = "\n".join(report_text(stem) for stem in REPORTS)
    monkeypatch.setattr(index, "_BLOCK", 500)  # many blocks, each cut after a newline
    assert [SourceIndex(text).number(k) for k in range(len(find_numbers(text)))] == find_numbers(
        text
    )


def test_clause_is_cut_at_clause_marks_not_thousands_commas():
    text = "全年共办理案件1,234件，其中胜诉61件。"
    built = SourceIndex(text)
    clauses = [text[slice(*c.clause)] for c in built.candidates_in(0, len(text))]
    assert clauses == ["全年共办理案件1,234件", "其中胜诉61件"]


def test_zero_in_quotation_marks_is_a_candidate():
    text = "行政诉讼案件保持“零败诉”，全年“零投诉”。"
    built = SourceIndex(text)
    found = built.candidates_in(0, len(text))
    assert [(c.number.raw, c.number.value) for c in found] == [("零", 0), ("零", 0)]
    assert text[slice(*found[0].clause)] == "行政诉讼案件保持“零败诉”"


def test_sections_run_to_the_next_heading_of_their_level():
    text = (
        "一、工作成效\n（一）复议\n收到申请10件。\n（二）诉讼\n应诉5件。\n"
        "二、存在的不足\n问题在于。\n"
    )
    built = SourceIndex(text)
    sections = {h.title: text[s:e] for h, (s, e) in built.sections()}
    assert (
        sections["一、工作成效"].startswith("一、工作成效")
        and "（二）诉讼" in sections["一、工作成效"]
    )
    assert "二、" not in sections["一、工作成效"]
    assert sections["（一）复议"] == "（一）复议\n收到申请10件。\n"
    assert sections["二、存在的不足"] == "二、存在的不足\n问题在于。\n"


def test_candidate_ids_round_trip():
    assert candidate_number(candidate_id(17)) == 17
    assert candidate_number("n3 ") == 3
    assert candidate_number("17") is None and candidate_number("s3") is None


def test_index_is_built_once_per_source_and_per_text():
    source = Source(text=report_text(REPORTS[0]))
    assert index_of(source) is index_of(source)
    text = source.text[:500]
    assert index_text(text) is index_text(text)


def test_squeezed_copy_maps_back_to_source_offsets():
    text = "收到 申请\n 169 件"
    squeezed, positions = SourceIndex(text).squeezed
    assert squeezed == "收到申请169件"
    assert "".join(text[p] for p in positions) == squeezed


def test_memory_per_source_character_is_at_most_16_bytes():
    text = "\n".join(report_text(stem) for stem in REPORTS) * 8  # ~250k characters
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        built = SourceIndex(text)
        built.squeezed  # noqa: B018 -- the lazy parts count too
        built.printed_raws  # noqa: B018
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held / len(text) <= 16, f"{held / len(text):.1f} bytes per character"


def test_verify_holds_no_cache_keyed_on_whole_texts():
    from fazhi import verify

    cached = [
        n
        for n, f in vars(verify).items()
        if hasattr(f, "cache_info") and f.__module__ == verify.__name__
    ]
    assert not cached
    big = "收到行政复议申请169件。" * 20_000
    assert verify.locate("申请169件", big) == (6, 12)
    index.index_text("another text")  # the next look-up replaces the last kept index
    assert all(held.text is not big for held in index._LAST)
