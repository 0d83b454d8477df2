"""`fazhi eval` and `fazhi show` from a folder that is not the repository."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from fazhi.cli import app

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_eval_defaults_to_the_bundled_gold_and_corpus_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "scores" / "rules.json"
    result = runner.invoke(app, ["eval", "--backend", "rules", "--out", str(out)])
    assert result.exit_code == 0, result.output
    scores = json.loads(out.read_text(encoding="utf-8"))
    assert scores["figures"]["f1"] > 0.9
    assert not (REPO / "src" / "fazhi" / "evals").exists()  # nothing written into the package


def test_show_picks_a_report_of_a_journal_by_its_written_source_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reports = Path("reports")
    reports.mkdir()
    shutil.copy(REPO / "evals/corpus/kunshan-2021.txt", reports / "kunshan-2021.txt")
    shutil.copy(REPO / "evals/corpus/qingpu-2023.txt", reports / "qingpu-2023.txt")
    Path("run").mkdir()
    assert runner.invoke(app, ["extract", "reports", "-o", "run/out.jsonl"]).exit_code == 0
    shutil.rmtree(reports)  # the journal names reports/…: gone, the written texts remain
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    page = elsewhere / "kunshan.html"
    shown = runner.invoke(app, ["show", "../run/out.jsonl", "--pick", "kunshan", "-o", str(page)])
    assert shown.exit_code == 0, shown.output
    assert "市政府收到行政复议申请" in page.read_text(encoding="utf-8")
    summary = runner.invoke(app, ["show", "../run/out.jsonl", "-o", "summary.html"])
    assert summary.exit_code == 0 and "2 evidence views" in summary.output
