"""The HTML view: highlights at the right places, everything escaped, nothing fetched."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fazhi.export import render_view, span_mismatches
from fazhi.ingest import read_source
from fazhi.model import Figure, Meta, Rejection, Result, TextItem
from fazhi.pipeline import extract
from tests.batch_fakes import EchoBackend
from tests.conftest import CORPUS


class _Pieces(HTMLParser):
    """Text of the #text element, and per figure/raw/text-item index the text marked with it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.marked: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.text: list[str] = []
        self.tags: list[str] = []
        self.in_text = 0
        self.current: list[tuple[str, str]] = []
        self.titles: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id") == "text":
            self.in_text = 1
        elif self.in_text and tag != "a":
            self.in_text += 1
            self.current = [
                (k[5:], i) for k, v in attrs.items() if k.startswith("data-") for i in v.split()
            ]
            self.titles.append(attrs.get("title", ""))

    def handle_endtag(self, tag):
        if self.in_text and tag != "a":
            self.in_text -= 1
            self.current = []

    def handle_data(self, data):
        if self.in_text:
            self.text.append(data)
            for key in self.current:
                self.marked[key].append(data)


def _parse(page: str) -> _Pieces:
    parser = _Pieces()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def kunshan() -> tuple[Result, str]:
    source = read_source(CORPUS / "kunshan-2021.txt")
    return extract(source, EchoBackend()), source.text


def test_each_figure_is_highlighted_exactly_at_its_quote(kunshan):
    result, text = kunshan
    assert result.figures and result.shortcomings and result.plans
    pieces = _parse(render_view(result, text))
    for i, figure in enumerate(result.figures):
        assert "".join(pieces.marked["f", str(i)]) == figure.quote == text[slice(*figure.span)]
        assert "".join(pieces.marked["r", str(i)]) == text[slice(*figure.raw_span)]
    for i, item in enumerate(result.shortcomings):
        assert "".join(pieces.marked["s", str(i)]) == item.quote
    for i, item in enumerate(result.plans):
        assert "".join(pieces.marked["p", str(i)]) == item.quote


def test_the_whole_source_text_is_shown_once(kunshan):
    result, text = kunshan
    assert "".join(_parse(render_view(result, text)).text) == text


def test_hover_titles_name_indicator_value_and_scope(kunshan):
    result, text = kunshan
    titles = _parse(render_view(result, text)).titles
    figure = next(f for f in result.figures if f.scope)
    assert any(figure.indicator in t and f"scope: {figure.scope}" in t for t in titles)


def _crafted() -> tuple[Result, str]:
    text = (
        "前言<script>alert(1)</script>。"
        '全年收到行政复议申请169件,审结160件。问题:"基层执法不规范"。'
    )
    quote_a, quote_b = "收到行政复议申请169件", "收到行政复议申请169件,审结160件"
    start = text.index(quote_a)
    problem = "基层执法不规范"
    figures = [
        Figure(
            indicator="reconsideration.received",
            value=169,
            raw="169",
            quote=quote_a,
            scope='"><img src=x onerror=alert(2)>',
            span=(start, start + len(quote_a)),
            raw_span=(text.index("169"), text.index("169") + 3),
        ),
        Figure(
            indicator="reconsideration.concluded",
            value=160,
            raw="160",
            quote=quote_b,
            span=(start, start + len(quote_b)),
            raw_span=(text.index("160"), text.index("160") + 3),
        ),
    ]
    result = Result(
        source="x/<b>bad</b>.txt",
        meta=Meta(region="某<市>"),
        figures=figures,
        verified=True,
        shortcomings=[
            TextItem(quote=problem, span=(text.index(problem), text.index(problem) + len(problem)))
        ],
        rejected=[
            Rejection(
                what="figure",
                code="quote_not_in_source",
                reason="quote <not> found",
                item={"indicator": "litigation.cases", "raw": "<9>", "quote": "<i>x</i>"},
            )
        ],
    )
    return result, text


def test_overlapping_figures_each_read_back_whole():
    result, text = _crafted()
    pieces = _parse(render_view(result, text))
    assert "".join(pieces.marked["f", "0"]) == result.figures[0].quote
    assert "".join(pieces.marked["f", "1"]) == result.figures[1].quote
    assert "".join(pieces.marked["r", "1"]) == "160"


def test_everything_from_report_and_model_is_escaped():
    result, text = _crafted()
    page = render_view(result, text)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img" not in page and "<b>bad" not in page and "<i>x" not in page
    assert "quote &lt;not&gt; found" in page and "某&lt;市&gt;" in page
    assert "".join(_parse(page).text) == text


def test_rejected_proposals_are_listed_with_code_and_reason():
    result, text = _crafted()
    page = render_view(result, text)
    assert "Rejected (1)" in page and "quote_not_in_source" in page


def test_the_page_fetches_nothing():
    result, text = _crafted()
    page = render_view(result, text)
    for needle in ("http://", "https://", "<link", 'src="', "@import"):
        assert needle not in page


def test_span_mismatches_refuse_another_text(kunshan):
    result, text = kunshan
    assert span_mismatches(result, text) == []
    shifted = "\n" + text
    problems = span_mismatches(result, shifted)
    assert len(problems) == len(result.figures) + len(result.shortcomings) + len(result.plans)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_a_real_browser_shows_the_highlights_at_the_quotes(kunshan, tmp_path):
    result, text = kunshan
    page = tmp_path / "view.html"
    page.write_text(render_view(result, text), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    pieces = _parse(proc.stdout)  # the DOM after the browser parsed the page and ran its script
    for i, figure in enumerate(result.figures):
        assert "".join(pieces.marked["f", str(i)]) == figure.quote
    assert "".join(pieces.text) == text
    assert Path(page).stat().st_size > len(text)
