"""Settings are checked the same whichever source gives them: flag, environment or fazhi.toml."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fazhi.cli import app
from fazhi.cli.config import EXTRACT_SETTINGS, ConfigError, settle
from tests.conftest import CORPUS

KUNSHAN = str(CORPUS / "kunshan-2021.txt")

# (setting, bad value as text, as TOML, words of the one error line)
BAD = [
    ("chunk_size", "1", "1", "must be at least 200"),
    ("chunk_size", "0", "0", "must be at least 200"),
    ("timeout", "nan", "nan", "must be a finite number"),
    ("timeout", "inf", "inf", "must be a finite number"),
    ("timeout", "0", "0.0", "must be greater than 0"),
    ("timeout", "-5", "-5.0", "must be greater than 0"),
    ("max_reasks", "-1", "-1", "must be at least 0"),
    ("concurrency", "0", "0", "must be at least 1"),
    ("price_in", "-0.5", "-0.5", "must be at least 0"),
    ("base_url", "localhost:8080", '"localhost:8080"', "not an http(s) URL"),
    ("base_url", "http://[::1/v1", '"http://[::1/v1"', "not a URL"),
    ("base_url", "http://host:port/v1", '"http://host:port/v1"', "not a URL"),
]
SOURCES = ("flag", "env", "toml")


# no key, endpoint or fazhi setting of the machine leaks in (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("clean_environment")


def _give(source: str, name: str, text: str, toml: str, monkeypatch, tmp_path) -> list[str]:
    """Set ``name`` from ``source``; returns the extra command-line arguments."""
    if source == "flag":
        return [f"--{name.replace('_', '-')}={text}"]
    if source == "env":
        monkeypatch.setenv(EXTRACT_SETTINGS[name].env, text)
    else:
        (tmp_path / "fazhi.toml").write_text(f"[extract]\n{name} = {toml}\n", encoding="utf-8")
    return []


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(("name", "text", "toml", "words"), BAD)
def test_a_bad_setting_is_one_line_and_exit_2_from_any_source(
    source, name, text, toml, words, monkeypatch, tmp_path
):
    extra = _give(source, name, text, toml, monkeypatch, tmp_path)
    result = CliRunner().invoke(app, ["extract", KUNSHAN, "--backend", "rules", *extra])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fazhi extract: "), result.stderr
    assert words in lines[0]
    where = {"flag": "--" + name.replace("_", "-"), "env": "$", "toml": "fazhi.toml"}[source]
    assert where in lines[0]  # the user learns which source to fix
    assert not (tmp_path / "kunshan.json").exists()


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("chunk_size", "200", 200),
        ("timeout", "0.5", 0.5),
        ("timeout", "600", 600.0),
        ("max_reasks", "0", 0),
        ("concurrency", "1", 1),
        ("base_url", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
    ],
)
def test_values_on_the_bounds_pass_from_every_source(name, text, expected):
    setting = EXTRACT_SETTINGS[name]
    toml_value = expected if not isinstance(expected, str) else text
    from_flag = settle({name: expected}, EXTRACT_SETTINGS, {}, {})[name]
    from_env = settle({}, EXTRACT_SETTINGS, {}, {setting.env: text})[name]
    from_file = settle({}, EXTRACT_SETTINGS, {name: toml_value}, {})[name]
    assert from_flag == from_env == from_file == expected


def test_defaults_are_inside_their_own_bounds():
    defaults = {name: s.default for name, s in EXTRACT_SETTINGS.items()}
    assert settle(defaults, EXTRACT_SETTINGS, {}, {}) == defaults  # given as flags: checked


def test_settle_reports_the_first_bad_value_as_a_config_error():
    with pytest.raises(ConfigError, match=r"\$FAZHI_CHUNK_SIZE='1'|\$FAZHI_CHUNK_SIZE=1"):
        settle({}, EXTRACT_SETTINGS, {}, {"FAZHI_CHUNK_SIZE": "1"})
