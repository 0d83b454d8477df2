"""--hybrid-prefer / FAZHI_HYBRID_PREFER / fazhi.toml: who wins hybrid's disagreements."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from fazhi.cli import app
from fazhi.cli.backends import BackendChoiceError, LLMOptions, make_backend
from fazhi.cli.config import EXTRACT_SETTINGS, settle
from fazhi.cli.extract_cmd import _build_backend

OPTS = {"model": "m", "base_url": "http://127.0.0.1:9/v1"}


def _backend(flag=None, environ=None, file_values=None):
    flags = {"backend": "hybrid", **OPTS, "hybrid_prefer": flag}
    settings = settle(flags, EXTRACT_SETTINGS, file_values or {}, environ or {})
    return _build_backend(settings, no_cache=True, reports=1)


def test_auto_is_the_default_and_flag_env_and_file_choose_in_that_order():
    assert _backend().prefer == "auto"
    assert _backend(file_values={"hybrid_prefer": "rules"}).prefer == "rules"
    env = {"FAZHI_HYBRID_PREFER": "llm"}
    assert _backend(environ=env, file_values={"hybrid_prefer": "rules"}).prefer == "llm"
    assert _backend("rules", environ=env).prefer == "rules"


def test_an_unknown_preference_is_one_line_for_the_user():
    with pytest.raises(BackendChoiceError, match="unknown hybrid preference 'model'; choose one"):
        make_backend("hybrid", LLMOptions(**OPTS, hybrid_prefer="model"), announce=False)


def test_extract_refuses_an_unknown_preference_with_exit_2(tmp_path):
    report = tmp_path / "r.txt"
    report.write_text("全年收到行政复议申请169件。", encoding="utf-8")
    args = ["extract", str(report), "--backend", "hybrid", "--model", "m", "--base-url",
            OPTS["base_url"], "--hybrid-prefer", "model"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "unknown hybrid preference 'model'" in result.output


def test_help_says_what_each_preference_does():
    result = CliRunner().invoke(app, ["extract", "--help"], env={"COLUMNS": "200"})
    text = re.sub(r"\s+", " ", re.sub(r"\x1b\[[0-9;]*m", "", result.output))
    text = text.replace("│", "").replace(" ", "")
    for said in ("--hybrid-prefer", "auto(default):themodel", "llm:alwaysthemodel",
                 "rules:alwaystherules", "FAZHI_HYBRID_PREFER"):  # fmt: skip
        assert said in text
