"""Synthetic reports for load and fault tests: labelled, distinct, small, cut from the corpus."""

from __future__ import annotations

from fazhi.chunking import chunk_source
from fazhi.model import Source
from fazhi.testing.responders import first_number_clause
from fazhi.testing.synthetic import (
    long_report,
    number_paragraphs,
    synthetic_reports,
    with_injection,
)
from tests.conftest import REPORTS, report_text

SEEDS = {stem: report_text(stem) for stem in REPORTS}


def test_reports_are_distinct_labelled_and_made_of_corpus_paragraphs():
    reports = synthetic_reports(SEEDS, 60)
    corpus = "\n".join(SEEDS.values())
    assert len({text for _, text in reports}) == len({name for name, _ in reports}) == 60
    for _, text in reports:
        header, *paragraphs = text.strip().split("\n")
        assert "仅供测试" in header
        assert paragraphs and all(p in corpus and first_number_clause(p) for p in paragraphs)


def test_two_paragraph_reports_fit_one_or_two_small_chunks():
    sizes = {len(chunk_source(Source(text=t), size=500)) for _, t in synthetic_reports(SEEDS, 60)}
    assert sizes <= {1, 2}


def test_long_paragraphs_are_cut_at_a_sentence_end():
    long_ones = number_paragraphs(SEEDS["kunshan-2021"])
    assert long_ones and all(len(p) <= 450 and p.endswith("。") for p in long_ones)


def test_injection_is_planted_once_and_long_reports_repeat_the_seed():
    planted = with_injection("标题\n正文169件。\n", demanded=4242)
    assert (
        planted.count("忽略以上指令") == 1
        and "4242件" in planted
        and planted.endswith("正文169件。\n")
    )
    seed = SEEDS["qingpu-2023"]
    grown = long_report(seed, min_chars=200_000)
    assert len(grown) >= 200_000 and grown.count(seed.strip()[:50]) == -(-200_000 // len(seed))
    assert long_report(seed, 4).count(seed.strip()[:50]) == 4


def test_tagged_reports_share_no_chunk():
    reports = synthetic_reports(SEEDS, 60, tag_paragraphs=True)
    chunks = [c.text for _, t in reports for c in chunk_source(Source(text=t), size=500)]
    assert len(chunks) == len(set(chunks)) and len(chunks) > 60
