"""The batch summary page: coverage, failed reports, several-valued cells, links to the views."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fazhi.cli import app
from fazhi.export.summary_html import render_summary
from fazhi.export.tables import ReportEntry
from fazhi.locality import Locality
from fazhi.model import Figure, Meta, Result

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Three corpus reports, one dev report and an empty file, through the real CLI."""
    folder = tmp_path_factory.mktemp("summary")
    reports = folder / "reports"
    reports.mkdir()
    for name in ("taiyuan-2021.txt", "qidong-2024.txt", "sucheng-2020.txt"):
        shutil.copy(REPO / "evals/corpus" / name, reports / name)
    shutil.copy(REPO / "evals/dev/corpus/s1_hongchuanqu_2023.txt", reports)
    (reports / "empty.txt").write_text("", encoding="utf-8")
    journal = folder / "out.jsonl"
    extract = runner.invoke(
        app, ["extract", str(reports), "-o", str(journal), "--backend", "rules"]
    )
    assert extract.exit_code == 1, extract.output  # the empty file failed
    page = folder / "summary.html"
    shown = runner.invoke(app, ["show", str(journal), "-o", str(page)])
    assert shown.exit_code == 0, shown.output
    return page


def test_the_page_is_self_contained_and_names_indicators_in_chinese(batch):
    html = batch.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "办理政协提案数<br><code>oversight.cppcc_proposals</code>" in html
    assert "<th>2020<br><small>1</small></th>" in html  # sucheng is the one report of 2020


def test_failed_reports_and_several_valued_cells_are_listed(batch):
    html = batch.read_text(encoding="utf-8")
    failed = html.split("<h2>Failed and partial reports</h2>")[1].split("</section>")[0]
    assert "empty.txt" in failed and "empty file" in failed
    several = html.split("<h2>Cells with several values")[1].split("</section>")[0]
    assert "太原市" in several and "8, 48, 472" in several and "none chosen" in several
    assert "启东市" in several and "litigation.cases" in several and "chosen 113" in several


def test_links_lead_to_evidence_views_and_their_figures(batch):
    html = batch.read_text(encoding="utf-8")
    links = re.findall(r'href="(summary\.reports/[0-9a-f]{16}\.html)(#f\d+)?"', html)
    assert {page for page, _ in links} and len({page for page, _ in links}) == 4
    for page, anchor in links:
        view = (batch.parent / page).read_text(encoding="utf-8")
        if anchor:
            assert f'id="{anchor[1:]}"' in view
    coverage = html.split("<h2>Coverage")[1]
    assert "⚑" in coverage


def test_text_from_a_report_is_escaped():
    result = Result(
        source="x.txt",
        meta=Meta(region="<script>x</script>区", year=2021),
        figures=[
            Figure(
                indicator="litigation.cases",
                value=1,
                raw="1",
                quote="<b>1</b>",
                span=(0, 8),
                raw_span=(3, 4),
            )
        ],
    )
    entry = ReportEntry(
        result, None, Locality(region_name="<script>x</script>区"), "x.txt", "", None
    )
    html = render_summary([entry], [], {})
    assert "<script>x" not in html and "&lt;script&gt;x" in html


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
@pytest.mark.parametrize("width", [1280, 390])
def test_a_real_browser_lays_it_out_at_desktop_and_phone_width(batch, width, tmp_path):
    shot = tmp_path / f"summary-{width}.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                f"--user-data-dir={profile}",
                f"--window-size={width},900",
                f"--screenshot={shot}",
                batch.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == width  # the PNG is as wide as the window
