"""`fazhi panel`: the tables from a journal, and one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from fazhi.cli import app
from fazhi.export import read_records

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_panel_writes_csv_and_parquet_from_a_batch(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in ("kunshan-2021.txt", "sucheng-2020.txt"):
        shutil.copy(REPO / "evals/corpus" / name, reports / name)
    journal = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["extract", str(reports), "-o", str(journal)]).exit_code == 0
    assert len(list((tmp_path / "out.sources").glob("*.txt"))) == 2
    result = runner.invoke(app, ["panel", str(journal), "-o", str(tmp_path / "t"), "--parquet"])
    assert result.exit_code == 0, result.output
    for name in ("panel_wide", "panel_long", "reports", "text_items"):
        csv = pd.read_csv(tmp_path / "t" / f"{name}.csv")
        assert len(csv) == len(pd.read_parquet(tmp_path / "t" / f"{name}.parquet"))
    wide = pd.read_csv(tmp_path / "t" / "panel_wide.csv")
    assert sorted(wide["panel_key"]) == ["adcode:320583", "adcode:321302"]
    # a batch over the same folder must not take the written texts for reports
    again = tmp_path / "again.jsonl"
    assert runner.invoke(app, ["extract", str(tmp_path), "-o", str(again)]).exit_code == 0
    sources = [r.source for r in read_records(again)]
    assert len(sources) == 2 and not any(".sources" in s for s in sources), sources


def test_a_missing_journal_is_one_line_and_exit_2(tmp_path):
    result = runner.invoke(app, ["panel", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path)])
    assert result.exit_code == 2 and "no such file" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_journal_without_records_is_refused(tmp_path):
    journal = tmp_path / "out.jsonl"
    journal.write_text("not json\n", encoding="utf-8")
    result = runner.invoke(app, ["panel", str(journal), "-o", str(tmp_path / "t")])
    assert result.exit_code == 2 and "no report records" in result.output


def test_sources_dir_can_be_chosen_for_the_batch_and_the_panel(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    shutil.copy(REPO / "evals/corpus/qingpu-2023.txt", reports)
    shutil.copy(REPO / "evals/corpus/qidong-2024.txt", reports)
    journal, texts = tmp_path / "out.jsonl", tmp_path / "texts"
    extract = runner.invoke(
        app, ["extract", str(reports), "-o", str(journal), "--sources", str(texts)]
    )
    assert extract.exit_code == 0, extract.output
    assert len(list(texts.glob("*.txt"))) == 2 and not (tmp_path / "out.sources").exists()
    tables = tmp_path / "t"
    panel = runner.invoke(app, ["panel", str(journal), "-o", str(tables), "--sources", str(texts)])
    assert panel.exit_code == 0 and "no source text" not in panel.output
    long = pd.read_csv(tables / "panel_long.csv")
    assert long["source_text"].str.startswith("../texts/").all()
    without = runner.invoke(app, ["panel", str(journal), "-o", str(tmp_path / "u")])
    assert "2 reports have no source text" in without.output  # said, not silently blank
