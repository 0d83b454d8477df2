"""``fazhi verify`` end to end: exit codes 0/1/2, the summary on stderr, the JSON it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fazhi.cli import app
from fazhi.model import Result
from tests.conftest import CORPUS, GOLD, gold_json

runner = CliRunner()
KUNSHAN_GOLD = GOLD / "kunshan-2021.json"
KUNSHAN_TXT = CORPUS / "kunshan-2021.txt"


def _run(*args: str | Path):
    return runner.invoke(app, ["verify", *map(str, args)])


def _planted(tmp_path: Path) -> Path:
    gold = gold_json("kunshan-2021")
    gold["figures"][7]["value"] = 168  # 市政府收到行政复议申请169件
    path = tmp_path / "planted.json"
    path.write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    return path


def test_gold_file_verifies_with_exit_0_and_json_on_stdout():
    result = _run(KUNSHAN_GOLD, "--source", KUNSHAN_TXT, "--json")
    assert result.exit_code == 0, result.stderr
    checked = Result.model_validate_json(result.stdout)
    assert checked.verified and len(checked.figures) == len(gold_json("kunshan-2021")["figures"])
    assert all(f.span is not None for f in checked.figures)
    assert "rejected: 0" in result.stderr


def test_planted_error_exits_1_with_one_line_per_rejection(tmp_path):
    out = tmp_path / "checked.json"
    result = _run(_planted(tmp_path), "-s", KUNSHAN_TXT, "-o", out)
    assert result.exit_code == 1
    assert result.stdout == ""  # no --json: the JSON goes only to the file
    lines = [line for line in result.stderr.splitlines() if "value_mismatch" in line]
    assert len(lines) == 1 and "reconsideration.received" in lines[0]
    written = Result.model_validate_json(out.read_text(encoding="utf-8"))
    assert [r.code for r in written.rejected] == ["value_mismatch"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a result"),
        ('{"figures": [], "figrues": []}', "unknown field"),
        ('{"figures": [{"indicator": "x"}]}', "figures.0"),
    ],
)
def test_malformed_result_file_exits_2_with_one_line(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    result = _run(bad, "--source", KUNSHAN_TXT)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("missing", ["result", "source"])
def test_missing_file_exits_2_with_one_line(tmp_path, missing):
    absent = tmp_path / "absent.txt"
    args = (absent, KUNSHAN_TXT) if missing == "result" else (KUNSHAN_GOLD, absent)
    result = _run(args[0], "--source", args[1])
    assert result.exit_code == 2
    assert str(absent) in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_help_carries_an_example():
    result = _run("--help")
    assert result.exit_code == 0 and "fazhi verify evals/gold/" in result.stdout
