"""ingest: every supported file kind becomes the same checkable text; a bad file, one clear line."""

from __future__ import annotations

import hashlib
import sys
import unicodedata

import pytest

from fazhi.ingest import (
    IngestError,
    NotAReportError,
    decode_bytes,
    read_source,
    write_text_beside,
)
from fazhi.ingest.decode import _SURELY_PRINTABLE, _printable_ratio
from tests.conftest import CORPUS, REPORTS, gold_json, report_text

TRADITIONAL = {"sucheng-2020"}


def _shown(text: str) -> str:
    """The corpus text as ingest shows it (no invisible residue in these files: unchanged)."""
    return text


def _gold_quotes(stem: str) -> list[str]:
    gold = gold_json(stem)
    return [f["quote"] for f in gold["figures"]] + gold["shortcomings"] + gold["plans"]


@pytest.mark.parametrize("stem", REPORTS)
def test_utf8_report_is_read_verbatim_and_every_gold_quote_occurs(stem):
    source = read_source(CORPUS / f"{stem}.txt")
    raw = (CORPUS / f"{stem}.txt").read_bytes()
    assert source.text == _shown(report_text(stem))
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
    assert source.text == _shown(text)
    assert source.encoding == encoding
    assert all(q in source.text for q in _gold_quotes(stem))


def test_plain_gbk_bytes_are_reported_as_gb18030_their_superset(tmp_path):
    text = report_text("qidong-2024")  # encodes cleanly in GBK
    path = tmp_path / "qidong.txt"
    path.write_bytes(text.encode("gbk", errors="strict"))
    source = read_source(path)
    assert (source.text, source.encoding) == (_shown(text), "gb18030")


def test_bom_is_dropped_and_crlf_becomes_lf(tmp_path):
    text = report_text("kunshan-2021")
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    source = read_source(path)
    assert source.text == _shown(text)
    assert source.encoding == "utf-8-sig"


def test_utf16_with_bom(tmp_path):
    text = report_text("sucheng-2020")
    path = tmp_path / "u16.txt"
    path.write_bytes(text.encode("utf-16"))  # Python writes the BOM
    assert read_source(path).text == _shown(text)
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
    sheet = tmp_path / "report.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    message = _one_line_error(sheet)
    assert ".xlsx" in message and ".txt" in message and ".docx" in message
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


# --- page residue, damaged and foreign text (sentences written for these tests) --------------

REPORT = "2023年，某某区坚持依法行政。全年办理行政复议案件169件，纠错率40.8%。\n"


def _txt(tmp_path, text: str, name: str = "r.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("printed", "shown"),
    [
        ("办理行政复议案件1\u200b69件", "办理行政复议案件169件"),
        ("纠错率40.\u200d8%", "纠错率40.8%"),
        ("依\u00ad法\u2060行\ufeff政", "依法行政"),
        ("受理1\u00a0234件，法\u00a0治政府", "受理1234件，法治政府"),
        ("某某區(qū)政府和某某县（xiàn）政府", "某某區政府和某某县政府"),
        ("\u2f08民政府依法行政", "人民政府依法行政"),  # Kangxi radical 人
        ("\uf967行政机关", "不行政机关"),  # CJK compatibility ideograph 不
    ],
)
def test_page_residue_is_removed_so_numbers_and_words_are_whole(tmp_path, printed, shown):
    source = read_source(_txt(tmp_path, f"{REPORT}{printed}\n"))
    assert source.text == f"{REPORT}{shown}\n"
    assert source.warnings  # what was removed is said


def test_ordinary_parentheses_and_spaces_are_kept(tmp_path):
    text = f"{REPORT}发布（2023）号文件 (a) 某某区 政府\u3000依法\n"
    source = read_source(_txt(tmp_path, text))
    assert source.text == text and source.warnings == ()


def test_a_report_with_a_cut_last_character_is_read_with_a_warning(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_bytes(REPORT.encode("utf-8") + "依法".encode()[:-1])
    source = read_source(path)
    assert source.encoding == "utf-8" and source.text.startswith(REPORT)
    assert any("cut off" in w for w in source.warnings)


def test_a_report_with_one_corrupt_byte_is_read_not_called_binary(tmp_path):
    data = bytearray((REPORT * 20).encode("utf-8"))
    data[100] = 0xFF
    path = tmp_path / "corrupt.txt"
    path.write_bytes(bytes(data))
    source = read_source(path)
    assert source.encoding == "utf-8" and source.text.count("\ufffd") == 1
    assert any("1 undecodable" in w for w in source.warnings)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read(tmp_path, codec):
    path = tmp_path / "u16.txt"
    path.write_bytes((REPORT * 5).encode(codec))
    source = read_source(path)
    assert (source.text, source.encoding) == (REPORT * 5, codec)


@pytest.mark.parametrize(
    ("wrong", "right", "shown"),
    [
        ("cp1252", "utf-8", "utf-8 text that was decoded as cp1252"),
        ("latin-1", "gb18030", "gb18030"),
    ],
)
def test_mojibake_is_an_error_naming_what_happened(tmp_path, wrong, right, shown):
    garbled = (REPORT * 5).encode(right).decode(wrong, errors="ignore")
    path = _txt(tmp_path, garbled)
    with pytest.raises(NotAReportError) as info:
        read_source(path)
    assert "mojibake" in str(info.value) and shown in str(info.value)
    assert "\n" not in str(info.value)


def test_text_that_is_not_a_chinese_report_is_an_error_not_an_empty_result(tmp_path):
    english = _txt(tmp_path, "Minutes of the garden club. We planted 12 roses.\n" * 5, "en.txt")
    assert "not Chinese text" in _one_line_error(english)
    note = _txt(tmp_path, "明天去超市买菜，记得给妈妈打电话。周末和朋友去爬山。\n", "note.txt")
    assert "does not read as a government report" in _one_line_error(note)


def test_docx_is_read_paragraphs_and_tables_in_order(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("某某区2023年法治政府建设年度报告")
    document.add_paragraph("全年办理行政复议案件169件。")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "败诉率", "4.1%"
    document.add_paragraph("某某区人民政府")
    path = tmp_path / "report.docx"
    document.save(str(path))
    source = read_source(path)
    assert source.kind == "docx" and source.encoding == ""
    assert source.text == (
        "某某区2023年法治政府建设年度报告\n全年办理行政复议案件169件。\n败诉率\t4.1%\n某某区人民政府"
    )


def test_old_doc_gets_a_one_line_error_saying_how_to_convert(tmp_path):
    path = tmp_path / "report.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0 old word")
    message = _one_line_error(path)
    assert "convert" in message and "libreoffice --headless --convert-to docx" in message
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a docx")
    assert "not a readable .docx" in _one_line_error(broken)


def test_a_dangling_link_is_named_as_such(tmp_path):
    link = tmp_path / "gone.txt"
    link.symlink_to(tmp_path / "nowhere.txt")
    assert "dangling symbolic link" in _one_line_error(link)


# --- PDFs as word processors lay them out -----------------------------------------------------


def test_a_wrapped_pdf_rejoins_numbers_and_words_and_drops_page_furniture(tmp_path):
    from tests.pdf_render import HEADER, render_pdf

    # Made so that the wrap falls inside a number: 4 | 02件 at a 38-character line.
    first = "某某区2023年法治政府建设年度报告"
    body = (
        "全年共办理人大代表议案建议和政协委员提案，其中人大代表议案建议402件、政协委员提案156件。"
    )
    paragraphs = [first, body] + ["依法行政工作稳步推进，行政执法更加规范。" * 3] * 60
    source = read_source(render_pdf("\n".join(paragraphs), tmp_path / "r.pdf"))
    assert source.kind == "pdf"
    assert source.text.split("\n") == paragraphs  # one line per paragraph, nothing split
    assert "— 1 —" not in source.text and HEADER not in source.text


def _pdf_and_text_scores(stem: str, tmp_path) -> tuple[float, float]:
    from fazhi.backends.rules import RulesBackend
    from fazhi.evaluate import score_report
    from fazhi.model import GoldReport
    from fazhi.pipeline import extract
    from tests.pdf_render import render_pdf

    backend, gold = RulesBackend(), GoldReport.model_validate(gold_json(stem))
    text = read_source(CORPUS / f"{stem}.txt")
    pdf = read_source(render_pdf(text.text, tmp_path / f"{stem}.pdf"))
    return tuple(  # type: ignore[return-value]
        score_report(stem, gold, extract(s, backend)).figures.f1 for s in (text, pdf)
    )


@pytest.mark.parametrize("stem", REPORTS)
def test_every_corpus_report_as_a_narrow_pdf_scores_as_its_text(stem, tmp_path):
    # About a second a report (render, read, extract twice): fast enough to run always.
    text_f1, pdf_f1 = _pdf_and_text_scores(stem, tmp_path)
    assert abs(text_f1 - pdf_f1) <= 0.02, (text_f1, pdf_f1)


def test_the_result_names_the_encoding_and_kind(tmp_path):
    from fazhi.backends.rules import RulesBackend
    from fazhi.pipeline import extract_file

    path = tmp_path / "gb.txt"
    path.write_bytes(report_text("qidong-2024").encode("gb18030"))
    _, result = extract_file(path, RulesBackend())
    assert (result.encoding, result.kind, result.warnings) == ("gb18030", "txt", [])
    dirty = _txt(tmp_path, f"{REPORT}受理1\u200b69件\n", "dirty.txt")
    _, result = extract_file(dirty, RulesBackend())
    assert (result.encoding, result.kind) == ("utf-8", "txt")
    assert result.warnings and "invisible" in result.warnings[0]
    assert "encoding" in result.model_dump(mode="json")


@pytest.mark.parametrize(
    ("line", "furniture"),
    [
        ("— 1 —", True),
        ("- 2 -", True),
        ("第3页", True),
        ("第 3 页 共 9 页", True),
        ("3/9", True),
        ("12", True),
        ("2021年", False),
        ("1.提升依法行政能力", False),
        ("共办理案件3件", False),
    ],
)
def test_page_number_lines(line, furniture):
    from fazhi.ingest.pdf import _PAGE_NUMBER

    assert bool(_PAGE_NUMBER.fullmatch(line)) is furniture


def test_a_personal_note_in_a_folder_is_not_taken_as_a_report(tmp_path):
    from typer.testing import CliRunner

    from fazhi.cli import app

    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "kunshan.txt").write_bytes((CORPUS / "kunshan-2021.txt").read_bytes())
    _txt(folder, "明天去超市买菜，记得给妈妈打电话。周末和朋友去爬山。\n", "note.txt")
    out = tmp_path / "out.jsonl"
    run = CliRunner().invoke(app, ["extract", str(folder), "-o", str(out), "--backend", "rules"])
    assert run.exit_code == 1  # a file in the batch is not a report: named, the rest written
    assert "note.txt" in run.stderr and "does not read as a government report" in run.stderr
    records = [line for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(records) == 2


@pytest.mark.parametrize("stem", REPORTS)
def test_every_corpus_report_as_mojibake_is_named_and_as_bomless_utf16_is_read(stem, tmp_path):
    text = report_text(stem)
    routes = [("cp1252", "utf-8"), ("latin-1", "utf-8"), ("latin-1", "gb18030")]
    for wrong, right in routes:
        garbled = text.encode(right).decode(wrong, errors="ignore")
        with pytest.raises(IngestError, match="mojibake"):
            read_source(_txt(tmp_path, garbled, f"{wrong}-{right}.txt"))
    for codec in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{codec}.txt"
        path.write_bytes(text.encode(codec))
        assert (read_source(path).text, read_source(path).encoding) == (text, codec)


def test_zero_width_characters_in_an_html_page_are_removed_too(tmp_path):
    page = (
        "<html><body><article><p>某某区人民政府依法行政，全年办理行政复议案件1&#8203;69件，"
        "纠错率40.&#8288;8%。</p></article></body></html>"
    )
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    source = read_source(path)
    assert "169件" in source.text and "40.8%" in source.text
    assert not any(ch in source.text for ch in "\u200b\u2060")


def test_the_printable_shortcut_holds_no_control_private_or_unassigned_character():
    skipped = [chr(c) for c in range(sys.maxunicode + 1) if _SURELY_PRINTABLE.fullmatch(chr(c))]
    assert len(skipped) > 20_000  # the ideographs are in it
    counted = [ch for ch in skipped if unicodedata.category(ch) in ("Cc", "Co", "Cn")]
    assert set(counted) <= set("\n\t\f\v")  # the controls a text may hold


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("", 1.0),
        ("法治\n政府", 1.0),
        ("法治\x00\x01", 0.5),
        ("ab\r\n", 0.75),
        ("\ue000政府\uffff", 0.5),
    ],
)
def test_printable_ratio_counts_control_private_and_unassigned(text, ratio):
    assert _printable_ratio(text) == ratio
