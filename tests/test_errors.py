"""One error contract for every command: a ``FazhiError`` is one line on stderr and exit 2."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fazhi
from fazhi.cli import app
from fazhi.errors import FazhiError
from tests.conftest import CORPUS, GOLD, ROOT

KUNSHAN = str(CORPUS / "kunshan-2021.txt")
HOSTED = "https://api.example.com/v1"
LOOPBACK = "http://127.0.0.1:9/v1"  # never reached: every case fails before a request


# no key, endpoint or fazhi setting of the machine leaks in (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("clean_environment")


def _broken_gold(folder: Path) -> list[str]:
    gold = folder / "gold"
    gold.mkdir()
    (gold / "kunshan-2021.json").write_bytes(b'{"figures": [')
    return ["--gold", str(gold), "--corpus", str(CORPUS)]


def _bad_toml(folder: Path) -> list[str]:
    (folder / "fazhi.toml").write_text('[extract\nbackend = "rules"\n', encoding="utf-8")
    return []


def _bad_result(folder: Path) -> list[str]:
    (folder / "r.json").write_text("not json", encoding="utf-8")
    return [str(folder / "r.json"), "--source", KUNSHAN]


# (command line, what makes it bad, words the one line must contain)
CASES = {
    "extract-missing-key": (
        ["extract", KUNSHAN, "--backend", "llm", "--base-url", HOSTED, "--model", "m"],
        None,
        "OPENAI_API_KEY is not set",
    ),
    "extract-bad-mode": (
        ["extract", KUNSHAN, "--backend", "llm", "--base-url", LOOPBACK, "--model", "m"]
        + ["--mode", "nonsense"],
        None,
        "unknown instructor mode",
    ),
    "extract-base-url-not-a-url": (
        ["extract", KUNSHAN, "--backend", "llm", "--base-url", "localhost:8080", "--model", "m"],
        None,
        "not an http(s) URL",
    ),
    "extract-bad-toml": (["extract", KUNSHAN], _bad_toml, "not valid TOML"),
    "extract-no-inputs": (["extract", "no-such-report.txt"], None, "no such file"),
    "eval-unreadable-gold": (["eval", "--backend", "rules"], _broken_gold, "cannot read"),
    "eval-missing-key": (
        ["eval", "--backend", "llm", "--model", "m", "--base-url", HOSTED, "--gold", str(GOLD)],
        None,
        "OPENAI_API_KEY is not set",
    ),
    "verify-unreadable-result": (["verify"], _bad_result, "not valid JSON"),
    "verify-unwritable-output": (
        ["verify", str(GOLD / "kunshan-2021.json"), "--source", KUNSHAN, "-o", "/"],
        None,
        "cannot write /",
    ),
    "eval-unwritable-out": (
        ["eval", "--predictions", str(GOLD), "--gold", str(GOLD), "--out", "/"],
        None,
        "cannot write /",
    ),
    "show-missing-result": (["show", "missing.json"], None, "no such file"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_user_error_is_one_line_and_exit_2(case, tmp_path):
    argv, make_bad, words = CASES[case]
    argv = argv[:1] + (make_bad(tmp_path) if make_bad else []) + argv[1:]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no exception escaped the CLI
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith(f"fazhi {argv[0]}: ")]
    assert errors == lines[-1:], result.stderr  # one error line, the last thing said
    assert words in errors[0]
    assert "Traceback" not in result.output
    # Only what a command reports before it fails may come first (verify's summary).
    assert len(lines) == 1 or case.startswith("verify-unwritable")


def test_the_installed_command_prints_no_traceback(tmp_path):
    fazhi_script = Path(sys.executable).parent / "fazhi"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FAZHI_"))}
    proc = subprocess.run(
        [str(fazhi_script), "extract", KUNSHAN, "--backend", "llm", "--base-url", HOSTED]
        + ["--model", "m"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "fazhi extract: OPENAI_API_KEY is not set: the endpoint api.example.com needs an API key"
    ]


def test_fazhi_debug_keeps_the_traceback(monkeypatch):
    monkeypatch.setenv("FAZHI_DEBUG", "1")
    result = CliRunner().invoke(app, ["extract", "no-such-report.txt"])
    assert isinstance(result.exception, FazhiError)


def test_every_user_facing_error_class_derives_from_fazhi_error():
    """Every ``class ...Error`` in the package is a FazhiError, except the listed internal ones."""
    internal = {"_Undecodable", "FigureError", "IndicatorErrors"}  # a helper and two data models
    found = {}
    for path in sorted((ROOT / "src" / "fazhi").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT / "src").with_suffix("").parts)
        module = module.removesuffix(".__init__")
        if module in ("fazhi.llm.recording",):  # imports vcrpy, a test-only dependency
            continue
        mod = __import__(module, fromlist=["_"])
        for name, obj in vars(mod).items():
            if inspect.isclass(obj) and obj.__module__ == module and name.endswith("Error"):
                found[name] = obj
    assert {"IngestError", "LLMConfigError", "ConfigError", "NoInputsError"} <= set(found)
    strays = {n for n, c in found.items() if n not in internal and not issubclass(c, FazhiError)}
    assert not strays, f"derive these from fazhi.errors.FazhiError: {sorted(strays)}"
    assert fazhi.errors.FazhiError is FazhiError
