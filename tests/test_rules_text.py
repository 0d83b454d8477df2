"""rules_text.enclosed: which offsets sit inside brackets, titles and short quotations."""

from __future__ import annotations

import pytest

from fazhi.backends.rules_text import QUOTE_LENGTH, clauses, enclosed, split_at


def _inside(text: str) -> str:
    """The enclosed characters of ``text``, the others as ``.``."""
    marks = enclosed(text)
    return "".join(ch if marks[i] else "." for i, ch in enumerate(text))


@pytest.mark.parametrize(
    ("text", "inside"),
    [
        ("受理(含结转1件)12件", ".." + "(含结转1件)" + "..."),
        ("《规划（2021-2025年）》印发", "《规划（2021-2025年）》.."),  # a bracket inside a title
        ("开展“最多跑一次”改革", "..“最多跑一次”.."),
        ("括号（未闭合\n次日3件", "." * 11),  # a line break ends an unclosed pair
        ("（甲（乙）丙）", "（甲（乙）.."),  # pairs do not nest: the first closer ends it
        ("共3件（未闭合", "." * 7),  # never closed: nothing is inside
        ('他说"好"', '.."好"'),  # the same mark opens and closes
    ],
)
def test_enclosed_marks_brackets_titles_and_quotes(text, inside):
    assert _inside(text) == inside


def test_a_long_quotation_is_speech_not_a_name():
    short, long = "“" + "甲" * (QUOTE_LENGTH - 1) + "”", "“" + "甲" * QUOTE_LENGTH + "”"
    assert set(enclosed(short)) == {1}
    assert set(enclosed(long)) == {0}
    # what follows the long quotation is read afresh
    assert _inside(long + "“零败诉”") == "." * len(long) + "“零败诉”"


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("受理12件，办结1,234件；其中调解3件", ["受理12件", "办结1,234件", "其中调解3件"]),
        ("共5，3件", ["共5，3件"]),  # any comma between digits joins them here
        ("甲，，乙：\n", ["甲", "乙"]),  # blank pieces dropped
        ("", []),
    ],
)
def test_clauses_cut_at_marks_but_not_at_a_thousands_comma(text, pieces):
    assert [text[s:e] for s, e in clauses(text, 0, len(text))] == pieces


def test_split_at_reads_only_its_range():
    text = "甲、乙、丙、丁"
    assert [text[s:e] for s, e in split_at(text, 2, 5, "、")] == ["乙", "丙"]
