"""Render a report's text to a narrow PDF the way a word processor lays it out, for tests.

Paragraphs (the text's lines) are wrapped by width at any character -- Chinese typesetting
breaks lines anywhere, inside numbers too (``4`` at a line end, ``02件`` on the next) -- with a
two-character first-line indent, a running header and a ``— N —`` footer on every page.
"""

from __future__ import annotations

from pathlib import Path

FONT, SIZE = "STSong-Light", 11
LINE_CHARS = 38  # Chinese characters a line holds
HEADER = "某某市人民政府办公室"


def render_pdf(text: str, path: Path, line_chars: int = LINE_CHARS) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    width = line_chars * SIZE
    left, top, rows = 90.0, 780.0, 44
    lines = [line for paragraph in text.splitlines() for line in _wrap(paragraph, width)]
    pdf = canvas.Canvas(str(path))
    for page, start in enumerate(range(0, len(lines), rows), 1):
        pdf.setFont(FONT, 9)
        pdf.drawCentredString(left + width / 2, top + 30, HEADER)
        pdf.drawCentredString(left + width / 2, 40, f"— {page} —")
        pdf.setFont(FONT, SIZE)
        for row, (indent, line) in enumerate(lines[start : start + rows]):
            pdf.drawString(left + indent * SIZE, top - 16 * row, line)
        pdf.showPage()
    pdf.save()
    return path


def _wrap(paragraph: str, width: float) -> list[tuple[int, str]]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    paragraph = paragraph.strip()
    if not paragraph:
        return []
    lines: list[tuple[int, str]] = []
    indent, current, used = 2, "", 2 * SIZE
    for ch in paragraph:
        w = stringWidth(ch, FONT, SIZE)
        if used + w > width and current:
            lines.append((indent, current))
            indent, current, used = 0, "", 0.0
        current += ch
        used += w
    lines.append((indent, current))
    return lines
