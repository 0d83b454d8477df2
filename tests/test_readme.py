"""The README's example output is what the README's first command really produces."""

import json
import re

from fazhi.backends.rules import RulesBackend
from fazhi.ingest import read_source
from fazhi.pipeline import extract
from tests.conftest import CORPUS, ROOT


def test_readme_example_figure_is_real_output():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = json.loads(re.search(r"```json\n(.*?)```", readme, re.S).group(1))
    result = extract(read_source(CORPUS / "kunshan-2021.txt"), RulesBackend())
    produced = [f.model_dump(mode="json") for f in result.figures]
    assert example in produced


def _two_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)\n```", section, re.S)]


def test_readme_first_command_is_the_bundled_offline_extraction():
    install, tests = _two_commands()
    assert "\n" not in install  # one line a user can paste
    assert "fazhi extract evals/corpus/kunshan-2021.txt" in install
    assert "-c constraints.txt" in install  # pinned versions, the same as CI's
    assert "--upgrade" not in install  # the interpreter's bundled pip must be enough
    assert tests == ".venv/bin/pytest"


def test_ci_runs_both_readme_commands_verbatim():
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for command in _two_commands():
        assert command in ci_lines, f"{command!r} is not a line of .ci/run"
    assert not any("pip install" in line and "--upgrade" in line for line in ci_lines)


def test_constraints_pin_every_dependency_exactly():
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pins = [line for line in lines if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[^\s=]+", pin) for pin in pins)
    pinned = {re.split(r"==", pin)[0].lower().replace("_", "-") for pin in pins}
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.findall(r'^\s*"([A-Za-z0-9_.\-]+)[\[<>=!~]', pyproject, re.M)
    missing = {name.lower().replace("_", "-") for name in declared} - pinned
    assert not missing, f"declared in pyproject.toml but not pinned: {sorted(missing)}"
