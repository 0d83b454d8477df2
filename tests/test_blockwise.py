"""A long report is read one block at a time (for memory: issue 19) -- UTF-8 decoding, the
rules' lines, sentences and title mask: the pieces must be exactly those of reading it whole."""

from __future__ import annotations

import pytest

from fazhi.backends import rules_text

TEXTS = [
    "一、概况\n本年度收到行政复议申请169件。受理138件！\n\n  \n（一）执法\r\n办理案件52件？",
    "\n\n  开头空行。\n  \n末尾没有换行。 ",
    "臺灣區政府報告。\u2028第二行\x0c第三行\n",
    "审查《甲管理制度》《乙办法》等规范性文件14件。\n《未闭合的书名\n》5件《丙》",
    "没有换行的一整行，很长。" * 40,
    "",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("block", [1, 2, 7, 64, rules_text.BLOCK])
def test_line_blocks_tile_the_text_and_end_after_line_breaks(text: str, block: int) -> None:
    spans = list(rules_text.line_blocks(text, block))
    assert "".join(text[s:e] for s, e in spans) == text
    assert all(text[e - 1] == "\n" for _s, e in spans[:-1])


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("block", [1, 7, 64])
def test_sentences_by_blocks_are_the_sentences_of_the_whole_text(text: str, block: int) -> None:
    assert list(rules_text.iter_sentences(text, block)) == rules_text.sentences(text)


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("block", [1, 7, 64])
def test_simplified_by_blocks_is_simplified_whole(text: str, block: int) -> None:
    whole = rules_text.simplified(text, block=len(text) + 1)
    assert rules_text.simplified(text, block) == whole
    assert len(whole) == len(text)


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("block", [1, 7, 64])
def test_titles_masked_by_blocks_are_masked_whole(text: str, block: int) -> None:
    whole = rules_text.mask_titles(text, block=len(text) + 1)
    assert rules_text.mask_titles(text, block) == whole
    assert len(whole) == len(text)
    assert ("《□□□□□》" in whole) == ("《甲管理制度》" in text)


@pytest.mark.parametrize("piece", [1, 2, 3, 5, 1 << 20])
def test_utf8_read_in_pieces_is_the_whole_decoding(piece: int) -> None:
    from fazhi.ingest.decode import _strict_utf8

    data = "法治政府建设年度报告\n收到申请169件 😀 𠀀 é".encode()
    assert _strict_utf8(data, piece) == data.decode("utf-8")
    for broken in (data[:-1], data[:5] + b"\xff" + data[5:]):
        with pytest.raises(UnicodeDecodeError):
            _strict_utf8(broken, piece)
