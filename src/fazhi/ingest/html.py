"""An HTML page -> the report body as text (trafilatura, with an lxml fallback)."""

from __future__ import annotations

import re

from fazhi.ingest.decode import GB_SUBSETS, canonical, decode_bytes, normalise_newlines

_HTML_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_BLOCK_TAGS = {
    "p", "div", "br", "li", "tr", "table", "section", "article", "h1", "h2", "h3", "h4", "h5",
    "h6", "blockquote", "pre", "td", "th", "ul", "ol", "dd", "dt",
}  # fmt: skip


def html_text(data: bytes) -> tuple[str, str]:
    """``(body text, encoding)`` of an HTML page's bytes."""
    html, encoding = _decode_html(data)
    import trafilatura  # heavy import, only paid for HTML input

    body = trafilatura.extract(
        html, favor_recall=True, include_comments=False, include_tables=True, deduplicate=False
    )
    if not body or not body.strip():
        body = _lxml_body_text(html)
    return normalise_newlines(body), encoding


def _decode_html(data: bytes) -> tuple[str, str]:
    # A page's own <meta charset> beats statistics, as long as it decodes the bytes cleanly.
    declared = _HTML_CHARSET.search(data[:4096])
    if declared:
        name = canonical(declared.group(1).decode("ascii"))
        if name in GB_SUBSETS:
            name = "gb18030"
        try:
            return data.decode(name), name
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_bytes(data)


def _lxml_body_text(html: str) -> str:
    import lxml.html

    try:
        root = lxml.html.document_fromstring(html)
    except Exception:  # lxml raises several types for garbage markup; any of them means no text
        return ""
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
    body = root.find("body")
    text = (body if body is not None else root).text_content()
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
