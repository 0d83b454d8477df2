"""ingest: every supported file kind becomes the same checkable text; a bad file, one clear line."""

from __future__ import annotations

import hashlib

import pytest

from fazhi.ingest import IngestError, decode_bytes, read_source, write_text_beside
from tests.conftest import CORPUS, REPORTS, gold_json, report_text

TRADITIONAL = {"sucheng-2020"}


def _gold_quotes(stem: str) -> list[str]:
    gold = gold_json(stem)
    return [f["quote"] for f in gold["figures"]] + gold["shortcomings"] + gold["plans"]


@pytest.mark.parametrize("stem", REPORTS)
def test_utf8_report_is_read_verbatim_and_every_gold_quote_occurs(stem):
    source = read_source(CORPUS / f"{stem}.txt")
    raw = (CORPUS / f"{stem}.txt").read_bytes()
    assert source.text == report_text(stem)
    assert (source.encoding, source.kind) == ("utf-8", "txt")
    assert source.sha256 == hashlib.sha256(raw).hexdigest()
    missing = [q for q in _gold_quotes(stem) if q not in source.text]
    assert not missing


@pytest.mark.parametrize("stem", REPORTS)
def test_legacy_chinese_encodings_decode_to_the_utf8_text(stem, tmp_path):
    # Simplified reports are saved as GB18030 (GBK's superset: some carry U+00A0, which GBK lacks);
    # the traditional one as Big5, as a Taiwanese or Hong Kong site would serve it.
    text = report_text(stem)
    encoding = "big5" if stem in TRADITIONAL else "gb18030"
    path = tmp_path / f"{stem}.txt"
    path.write_bytes(text.encode(encoding, errors="strict"))
    source = read_source(path)
    assert source.text == text
    assert source.encoding == encoding
    assert all(q in source.text for q in _gold_quotes(stem))


def test_plain_gbk_bytes_are_reported_as_gb18030_their_superset(tmp_path):
    text = report_text("qidong-2024")  # encodes cleanly in GBK
    path = tmp_path / "qidong.txt"
    path.write_bytes(text.encode("gbk", errors="strict"))
    source = read_source(path)
    assert (source.text, source.encoding) == (text, "gb18030")


def test_bom_is_dropped_and_crlf_becomes_lf(tmp_path):
    text = report_text("kunshan-2021")
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    source = read_source(path)
    assert source.text == text
    assert source.encoding == "utf-8-sig"


def test_utf16_with_bom(tmp_path):
    text = report_text("sucheng-2020")
    path = tmp_path / "u16.txt"
    path.write_bytes(text.encode("utf-16"))  # Python writes the BOM
    assert read_source(path).text == text
    assert read_source(path).encoding == "utf-16"


def test_lone_cr_line_endings(tmp_path):
    path = tmp_path / "mac.txt"
    path.write_bytes("一、总体情况\r全年办理复议案件169件。\r".encode("gb18030"))
    assert read_source(path).text == "一、总体情况\n全年办理复议案件169件。\n"


def test_short_legacy_snippets_decode(tmp_path):
    # Detection on a single sentence is the hard case for statistics.
    assert decode_bytes("市政府收到行政复议申请169件".encode("gb18030")) == (
        "市政府收到行政复议申请169件",
        "gb18030",
    )
    assert decode_bytes("市政府收到行政復議申請169件".encode("big5")) == (
        "市政府收到行政復議申請169件",
        "big5",
    )


def test_web_residue_passes_through_untouched(tmp_path):
    # sucheng's header is a scraped table with pipes and '??'; it must stay where it was.
    text = report_text("sucheng-2020")
    head = text.splitlines()[1]
    assert "??" in head and head.startswith("|")
    assert read_source(CORPUS / "sucheng-2020.txt").text.splitlines()[1] == head


def _one_line_error(path) -> str:
    with pytest.raises(IngestError) as info:
        read_source(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_missing_file(tmp_path):
    assert "no such file" in _one_line_error(tmp_path / "nope.txt")


def test_directory(tmp_path):
    folder = tmp_path / "reports.txt"
    folder.mkdir()
    assert "directory" in _one_line_error(folder)


def test_empty_and_whitespace_only_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert "empty" in _one_line_error(empty)
    blank = tmp_path / "blank.txt"
    blank.write_bytes("\r\n\u3000 \n".encode("utf-8"))
    assert "empty" in _one_line_error(blank)


def test_binary_files(tmp_path):
    with_nul = tmp_path / "image.txt"
    with_nul.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    assert "binary" in _one_line_error(with_nul)
    noise = tmp_path / "noise.txt"
    # Deterministic high-entropy bytes without NUL: what a zip or image renamed .txt looks like.
    noise.write_bytes(bytes((i * 97 + 13) % 255 + 1 for i in range(3000)))
    assert "binary" in _one_line_error(noise)
    control = tmp_path / "control.txt"
    control.write_bytes(bytes(range(1, 9)) * 200 + "法治".encode())
    assert "binary" in _one_line_error(control)


def test_unsupported_extension(tmp_path):
    doc = tmp_path / "report.docx"
    doc.write_bytes(b"PK\x03\x04")
    message = _one_line_error(doc)
    assert ".docx" in message and ".txt" in message
    bare = tmp_path / "README"
    bare.write_text("法治政府", encoding="utf-8")
    assert "no extension" in _one_line_error(bare)


def test_path_with_newline_still_gives_one_line(tmp_path):
    odd = tmp_path / "two\nlines.txt"
    with pytest.raises(IngestError) as info:
        read_source(odd)
    assert "\n" not in str(info.value)


def _report_paragraphs(stem: str, prefixes: tuple[str, ...]) -> list[str]:
    return [line for line in report_text(stem).splitlines() if line.startswith(prefixes)]


def _page(paragraphs: list[str], charset: str = "utf-8") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html><head><meta charset="{charset}">
<title>昆山市2021年法治政府建设年度报告</title><script>var nav = "首页";</script></head><body>
<div class="nav"><ul><li><a href="/">网站首页</a></li><li><a href="/xxgk">信息公开栏目</a></li>
<li><a href="/hdjl">互动交流平台</a></li></ul></div>
<div class="content"><h1>昆山市2021年法治政府建设年度报告</h1>{body}
<p>昆山市人民政府</p><p>2022年3月15日</p></div>
<div class="footer"><p>版权所有:昆山市人民政府办公室</p><a href="/map">网站地图导航</a></div>
</body></html>"""


def test_html_body_survives_and_navigation_does_not(tmp_path):
    paragraphs = _report_paragraphs("kunshan-2021", ("2021年,昆山", "五、"))
    assert len(paragraphs) == 2
    path = tmp_path / "report.html"
    path.write_text(_page(paragraphs), encoding="utf-8")
    source = read_source(path)
    assert source.kind == "html" and source.encoding == "utf-8"
    for paragraph in paragraphs:  # each paragraph kept whole, on its own line
        assert paragraph in source.text.split("\n")
    assert "昆山市人民政府" in source.text and "2022年3月15日" in source.text
    for residue in ("网站首页", "信息公开栏目", "网站地图导航", "var nav"):
        assert residue not in source.text
    quotes = [q for q in _gold_quotes("kunshan-2021") if any(q in p for p in paragraphs)]
    assert quotes and all(q in source.text for q in quotes)


def test_html_in_gbk_page_uses_its_declared_charset(tmp_path):
    paragraphs = _report_paragraphs("qidong-2024", ("1.提升依法行政",))
    path = tmp_path / "report.htm"
    path.write_bytes(_page(paragraphs, charset="gb2312").encode("gb18030"))
    source = read_source(path)
    assert source.encoding == "gb18030"
    assert paragraphs[0] in source.text


def test_html_without_extractable_body_falls_back_to_lxml(tmp_path):
    # trafilatura discards a page whose only text sits in <footer> (it returns None here);
    # the lxml fallback must still return that text, one block per line.
    page = "<html><body><footer><p>行政复议申请169件</p><p>同比增长40.8%</p></footer></body></html>"
    path = tmp_path / "footer-only.html"
    path.write_text(page, encoding="utf-8")
    assert read_source(path).text == "行政复议申请169件\n同比增长40.8%"


def test_html_with_no_text(tmp_path):
    path = tmp_path / "blank.html"
    path.write_text("<html><body><script>x=1</script></body></html>", encoding="utf-8")
    assert "no text" in _one_line_error(path)


def _pdf_with_text(path, pages: list[list[str]]) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path))
    for lines in pages:
        pdf.setFont("STSong-Light", 11)
        for row, line in enumerate(lines):
            pdf.drawString(40, 800 - 16 * row, line)
        pdf.showPage()
    pdf.save()


def test_pdf_text_layer_is_read_page_by_page(tmp_path):
    quote = next(q for q in _gold_quotes("kunshan-2021") if "169" in q)
    path = tmp_path / "report.pdf"
    _pdf_with_text(path, [[quote, "同比增长40.8%。"], ["昆山市人民政府", "2022年3月15日"]])
    source = read_source(path)
    assert source.kind == "pdf"
    assert source.text == f"{quote}\n同比增长40.8%。\n昆山市人民政府\n2022年3月15日"
    assert source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_pdf_without_text_layer(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 300, 400, fill=1)  # what a scanned page is to a text extractor: no glyphs
    pdf.save()
    assert "scanned PDF? no text layer" in _one_line_error(path)


def test_broken_pdf(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"this is not a pdf at all")
    assert "PDF" in _one_line_error(path)


def test_write_text_beside(tmp_path):
    source = read_source(CORPUS / "taiyuan-2021.txt")
    written = write_text_beside(source, tmp_path / "result.json")
    assert written == tmp_path / "result.source.txt"
    assert written.read_bytes() == source.text.encode("utf-8")
