"""chunking: chunks tile the report, follow its headings and never cut a sentence or a number."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fazhi.chunking import (
    DEFAULT_CHUNK_SIZE,
    HEADING_MAX,
    LONG_SENTENCE,
    chunk_source,
    find_headings,
    split_sentences,
)
from fazhi.model import Source
from fazhi.numbers import find_numbers
from tests.conftest import REPORTS, gold_json, report_text

SIZES = (100, 500, 1000, DEFAULT_CHUNK_SIZE)


def _source(stem: str) -> Source:
    return Source(text=report_text(stem), path=f"{stem}.txt")


def _boundaries(chunks) -> list[int]:
    return [c.end for c in chunks[:-1]]


def _sentence_ends(text: str) -> set[int]:
    return {end for _, end in split_sentences(text)}


def _is_bare_heading(line: str) -> bool:
    return bool(find_headings(line)) and len(line.strip()) <= HEADING_MAX + 2


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("stem", REPORTS)
def test_chunks_tile_the_text_in_order(stem, size):
    source = _source(stem)
    chunks = chunk_source(source, size)
    assert "".join(c.text for c in chunks) == source.text
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].start == 0 and chunks[-1].end == len(source.text)
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.end == after.start
    for chunk in chunks:
        assert chunk.text == source.text[chunk.start : chunk.end] and chunk.text


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("stem", REPORTS)
def test_chunks_longer_than_size_are_one_unit(stem, size):
    # The documented oversize case: one paragraph (or one sentence up to 1.5 * size), possibly
    # after the bare headings glued in front of it.
    for chunk in chunk_source(_source(stem), size):
        if len(chunk.text) <= size:
            continue
        pieces = [chunk.text[s:e] for s, e in split_sentences(chunk.text)]
        while pieces and _is_bare_heading(pieces[0]):  # a heading line or inline heading sentence
            pieces.pop(0)
        rest = "".join(pieces)
        assert rest, chunk.text
        one_sentence = len([s for s in split_sentences(rest) if rest[s[0] : s[1]].strip()]) == 1
        assert len(rest) <= size or (one_sentence and len(rest) <= size * LONG_SENTENCE), chunk.text


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("stem", REPORTS)
def test_no_cut_inside_a_number_or_a_sentence(stem, size):
    source = _source(stem)
    text = source.text
    numbers = find_numbers(text)
    sentences = split_sentences(text)
    for cut in _boundaries(chunk_source(source, size)):
        assert not [n.raw for n in numbers if n.start < cut < n.end]
        ((start, end),) = [(s, e) for s, e in sentences if s < cut <= e]
        # Only a sentence longer than 1.5 * size may be cut (at a clause mark).
        assert cut == end or end - start > size * LONG_SENTENCE, text[cut - 20 : cut + 20]
        if cut != end:
            assert text[cut - 1] in "，,、"


@pytest.mark.parametrize("stem", REPORTS)
def test_at_the_default_size_every_cut_is_between_paragraphs(stem):
    text = report_text(stem)
    for cut in _boundaries(chunk_source(_source(stem))):
        assert text[cut - 1] == "\n"


@pytest.mark.parametrize("size", (100, 500))
@pytest.mark.parametrize("stem", REPORTS)
def test_no_chunk_ends_on_a_bare_heading(stem, size):
    for chunk in chunk_source(_source(stem), size)[:-1]:
        pieces = [chunk.text[s:e] for s, e in split_sentences(chunk.text)]
        assert not _is_bare_heading(pieces[-1]), chunk.text[-60:]


def _gold_spans(stem: str) -> list[tuple[int, int]]:
    gold = gold_json(stem)
    text = report_text(stem)
    quotes = [f["quote"] for f in gold["figures"]] + gold["shortcomings"] + gold["plans"]
    return [(text.index(q), text.index(q) + len(q)) for q in quotes]


def test_every_gold_quote_lies_inside_one_chunk_at_the_default_size():
    # Measured by bench/chunk_sizes.py: 160/160 gold quotes at every size from 500 to 4000.
    for stem in REPORTS:
        chunks = chunk_source(_source(stem))
        for start, end in _gold_spans(stem):
            quote = report_text(stem)[start:end]
            assert any(c.start <= start and end <= c.end for c in chunks), quote


def test_kunshan_section_two_heading_path():
    text = report_text("kunshan-2021")
    section = text.index("二、深化改革创新")
    section_end = text.index("三、坚持依法决策")
    chunks = chunk_source(_source("kunshan-2021"), 500)
    inside = [c for c in chunks if section <= c.start < section_end]
    assert len(inside) >= 3  # the section is one ~1,200-char paragraph cut at its sentences
    for chunk in inside:
        assert chunk.headings == ("二、深化改革创新,依法全面履行政府职能",)
    assert inside[0].start == section  # the section starts a chunk of its own


def test_nested_heading_paths_and_their_reset():
    text = report_text("qidong-2024")
    starts = {c.start: c.headings for c in chunk_source(_source("qidong-2024"), 300)}
    assert starts[text.index("7.筑牢法治屏障")] == (
        "一、推进法治政府建设的主要做法及成效",
        "(三)持续推进机制建设,依法行政能力水平不断提高",
        "7.筑牢法治屏障,强化行政执法监督质效",
    )
    # A new top heading drops the sub-headings and the numbered item of the section before.
    assert starts[text.index("四、2025年推进法治政府建设的工作安排")] == (
        "四、2025年推进法治政府建设的工作安排",
    )


def test_traditional_and_indented_headings():
    sucheng = find_headings(report_text("sucheng-2020"))
    assert [h.title for h in sucheng if h.level == 1] == [
        "一、黨政主要負責人切實履行第一責任,高位推進法治政府建設",
        "二、推進法治政府建設主要舉措和工作成效",
        "三、法治政府建設存在的不足和原因",
        "四、下一年度推進法治政府建設的主要安排",
    ]
    assert sum(h.level == 2 for h in sucheng) == 7
    taiyuan = find_headings(report_text("taiyuan-2021"))  # lines indented with spaces
    assert [h.title[:2] for h in taiyuan if h.level == 1] == ["一、", "二、", "三、"]
    assert sum(h.level == 2 for h in taiyuan) == 6
    assert all(len(h.title) <= HEADING_MAX for h in sucheng + taiyuan)
    text = report_text("taiyuan-2021")
    for heading in taiyuan:  # start/end span exactly the heading's line
        line = text[heading.start : heading.end]
        assert "\n" not in line and line.strip().startswith(heading.title)
        assert text[heading.start - 1] == "\n" and text[heading.end] == "\n"


def test_heading_title_is_the_first_sentence_of_an_inline_heading():
    (heading,) = [
        h for h in find_headings(report_text("kunshan-2021")) if h.title.startswith("五、")
    ]
    assert heading.title == "五、服务发展大局,依法妥善化解社会矛盾纠纷"


def test_sucheng_numbered_item_path():
    text = report_text("sucheng-2020")
    pos = text.index("4.建立健全應急管理機制體制")
    chunk = next(c for c in chunk_source(_source("sucheng-2020"), 300) if c.start == pos)
    assert chunk.headings == (
        "二、推進法治政府建設主要舉措和工作成效",
        "(一)依法全面履行政府職能,提高政務服務水平",
        "4.建立健全應急管理機制體制",
    )


@pytest.mark.parametrize("size", (500, DEFAULT_CHUNK_SIZE))
@pytest.mark.parametrize("stem", REPORTS)
def test_overlap_repeats_exactly_the_last_sentence(stem, size):
    source = _source(stem)
    chunks = chunk_source(source, size, overlap=True)
    repeated = 0
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start <= before.end
        if after.start == before.end:  # the last sentence was too long to repeat
            continue
        repeated += 1
        overlap = source.text[after.start : before.end]
        assert len([s for s in split_sentences(overlap) if overlap[s[0] : s[1]].strip()]) == 1
        assert before.text.endswith(overlap) and after.text.startswith(overlap)
        assert after.start in _sentence_ends(source.text) or after.start == 0
    assert repeated >= len(chunks) // 2
    pairs = zip(chunks, chunks[1:], strict=False)
    own_parts = [chunks[0].text] + [source.text[b.end : a.end] for b, a in pairs]
    assert "".join(own_parts) == source.text


def test_overlap_chunks_stay_within_size():
    for stem in REPORTS:
        assert max(len(c.text) for c in chunk_source(_source(stem), 1000, overlap=True)) <= 1000


def test_empty_and_blank_text():
    assert chunk_source(Source(text="")) == []
    (only,) = chunk_source(Source(text="\n\n  \n"))
    assert (only.start, only.end, only.headings) == (0, 5, ())


def test_text_without_punctuation_is_cut_at_size_but_not_inside_numbers():
    # No sentence or clause mark at all: hard cuts at ``size``, moved off numbers.
    text = "全年办理行政复议案件1234567件涉及金额98765.43万元" * 40
    chunks = chunk_source(Source(text=text), 100)
    assert "".join(c.text for c in chunks) == text
    assert all(len(c.text) <= 100 for c in chunks)
    numbers = find_numbers(text)
    for cut in _boundaries(chunks):
        assert not [n.raw for n in numbers if n.start < cut < n.end]
        assert not (text[cut - 1].isdigit() and (text[cut].isdigit() or text[cut] == "."))


@pytest.mark.parametrize(("number", "before"), [("44. 5%", 97), ("十九", 99)])
def test_a_hard_cut_moves_off_a_number(number, before):
    # Without punctuation the cut wants to fall at ``size`` = 100: here, inside a number
    # ("44. |5%" as find_numbers reads it; "十|九" of 十九届, which find_numbers skips).
    text = "法" * before + number + "届" + "法" * 200
    chunks = chunk_source(Source(text=text), 100)
    assert "".join(c.text for c in chunks) == text
    assert any(number in c.text for c in chunks)


def test_one_giant_sentence_is_cut_at_clause_marks():
    clause = "全市办理行政复议案件1,234件"
    text = "，".join([clause] * 60) + "。"
    chunks = chunk_source(Source(text=text), 200)
    assert "".join(c.text for c in chunks) == text
    assert len(chunks) > 1 and all(len(c.text) <= 200 for c in chunks)
    for cut in _boundaries(chunks):
        assert text[cut - 1] == "，"  # never the "," inside 1,234


def test_a_sentence_up_to_one_and_a_half_sizes_is_kept_whole():
    sentence = "，".join(["依法全面履行政府职能"] * 13) + "。"  # 143 chars
    text = "一、总体情况\n" + sentence + "\n" + "二、存在不足。" * 3
    chunks = chunk_source(Source(text=text), 100)
    assert any(sentence in c.text for c in chunks)


def test_enumeration_is_a_preferred_cut_inside_a_long_paragraph():
    # kunshan's sections are single paragraphs of 一是...二是...; cuts should land before 一是/二是.
    text = report_text("kunshan-2021")
    cuts = _boundaries(chunk_source(_source("kunshan-2021"), 500))
    inside_paragraphs = [c for c in cuts if text[c - 1] != "\n"]
    assert inside_paragraphs
    enumerated = [c for c in inside_paragraphs if text[c + 1] == "是"]
    assert len(enumerated) >= len(inside_paragraphs) // 2


def test_split_sentences_tiles_and_keeps_closing_quotes():
    text = "开展“法治宣传月”活动。”累计办理12件！\n\n下一步？继续推进"
    spans = split_sentences(text)
    assert "".join(text[s:e] for s, e in spans) == text
    assert [text[s:e] for s, e in spans] == [
        "开展“法治宣传月”活动。”",
        "累计办理12件！\n\n",
        "下一步？",
        "继续推进",
    ]


def test_size_must_be_positive():
    with pytest.raises(ValueError):
        chunk_source(Source(text="法治"), 0)


_PIECES = [s for stem in REPORTS for s in report_text(stem).splitlines() if s.strip()][:200]


@settings(max_examples=60, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=8),
    separators=st.lists(
        st.sampled_from(["\n", "\n\n", "", "。", "，", " "]), min_size=8, max_size=8
    ),
    size=st.integers(min_value=20, max_value=600),
    overlap=st.booleans(),
)
def test_any_mix_of_report_lines_tiles_and_keeps_numbers_whole(pieces, separators, size, overlap):
    text = "".join(p + s for p, s in zip(pieces, separators, strict=False))
    chunks = chunk_source(Source(text=text), size, overlap=overlap)
    own = [chunks[0].text] + [text[b.end : a.end] for b, a in zip(chunks, chunks[1:], strict=False)]
    assert "".join(own) == text
    numbers = find_numbers(text)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert not [n.raw for n in numbers if n.start < chunk.end < n.end]


@pytest.mark.parametrize("number", ["40.8%", "50余", "2193万", "3.48亿", "1,234"])
def test_a_hard_cut_next_to_any_character_of_a_number_never_splits_it(number):
    # The cut wants to fall at ``size`` = 100, i.e. at every position from just before the
    # number to just after it in turn: the guard must hold at both ends (an off-by-one that
    # lets ``40.8|%`` or ``50|余`` through fails here).
    for before in range(100 - len(number) - 1, 101):
        text = "法" * before + number + "人" + "法" * 150
        chunks = chunk_source(Source(text=text), 100)
        assert "".join(c.text for c in chunks) == text
        assert any(number in c.text for c in chunks), (before, [c.text[-8:] for c in chunks])
