"""``--backend auto``: the LLM only with an endpoint AND a model configured, and it says why."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from fazhi.cli.backends import LLMOptions, resolve_name
from tests.conftest import ROOT

# Variables a user may have exported for other tools; none of them names a model.
OPENAI_ONLY = [
    {"OPENAI_API_KEY": "sk-test-not-a-key"},
    {"OPENAI_API_KEY": "sk-test-not-a-key", "OPENAI_BASE_URL": "https://api.example.com/v1"},
    {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_LOG": "debug", "OPENAI_ORG_ID": "org"},
]


# no key, endpoint or fazhi setting of the machine leaks in (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("clean_environment")


def _readme_extract_command() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    install = re.findall(r"```bash\n(.*?)\n```", readme.split("## Two commands", 1)[1], re.S)[0]
    extract = install.split("&&")[-1].strip()
    argv = shlex.split(extract)
    assert argv[0] == ".venv/bin/fazhi"
    return [str(Path(sys.executable).parent / "fazhi"), *argv[1:]]


@pytest.mark.parametrize("exported", OPENAI_ONLY, ids=["key", "key+url", "url+log+org"])
def test_the_readme_command_stays_offline_with_openai_variables_exported(exported, tmp_path):
    (tmp_path / "evals").symlink_to(ROOT / "evals")  # the README runs from the repo's top
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FAZHI_"))}
    proc = subprocess.run(
        _readme_extract_command(),
        capture_output=True,
        text=True,
        env=env | exported,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "kunshan.json").read_text(encoding="utf-8"))
    assert result["backend"] == "rules" and result["figures"]
    assert "backend auto → rules: " in proc.stderr


@pytest.mark.parametrize(
    ("options", "env", "chosen", "why"),
    [
        (LLMOptions(), {}, "rules", "no LLM endpoint and model configured"),
        (LLMOptions(), {"OPENAI_API_KEY": "k"}, "rules", "no LLM endpoint and model"),
        (LLMOptions(base_url="http://127.0.0.1:9/v1"), {}, "rules", "but no model"),
        (LLMOptions(), {"OPENAI_BASE_URL": "http://h/v1"}, "rules", "but no model"),
        (LLMOptions(model="m"), {"OPENAI_API_KEY": "k"}, "rules", "but no endpoint"),
        (LLMOptions(), {"FAZHI_MODEL": "m"}, "rules", "but no endpoint"),
        (LLMOptions(base_url="http://127.0.0.1:9/v1", model="m"), {}, "llm", "configured"),
        (LLMOptions(), {"OPENAI_BASE_URL": "http://h/v1", "FAZHI_MODEL": "m"}, "llm", "'m'"),
    ],
)
def test_auto_needs_an_endpoint_and_a_model(options, env, chosen, why, monkeypatch, capsys):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert resolve_name("auto", options) == chosen
    said = capsys.readouterr().err
    assert said.startswith(f"fazhi: backend auto → {chosen}: ") and why in said


def test_an_explicit_backend_is_taken_as_given_and_silently(capsys):
    assert resolve_name("llm", LLMOptions()) == "llm"
    assert resolve_name("rules", LLMOptions(base_url="http://h/v1", model="m")) == "rules"
    assert capsys.readouterr().err == ""
