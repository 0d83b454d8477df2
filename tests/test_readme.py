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


def test_readme_first_command_is_the_bundled_offline_extraction():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    assert "fazhi extract evals/corpus/kunshan-2021.txt" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].strip() in ci  # CI runs the README's test command
