"""Label-mode prompts from ``prompts/label.*.md`` and their version.

The system message holds the instructions and the catalog, rendered once per catalog and
byte-identical for every request of every report, so a provider's prompt cache (and a llama.cpp
server's prefix cache) serves it; only the user message -- the marked report text -- changes.
The version hashes the three prompt files, the rendered catalog and the answer schema, and goes
into every cache key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

from fazhi.catalog import Catalog
from fazhi.llm.label_schema import label_schema_json
from fazhi.llm.prompts import _template, prompt_version, render_indicators
from fazhi.resources import data_dir

FILES = ("label.system.md", "label.user.md", "label.reask.md")


@dataclass(frozen=True)
class LabelPrompts:
    system: str
    user_template: str
    reask_template: str
    version: str

    def messages(self, marked_text: str) -> list[dict[str, str]]:
        user = Template(self.user_template).substitute(text=marked_text)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]

    def reask(self, problems: list[str]) -> str:
        lines = "\n".join(f"- {p}" for p in problems)
        return Template(self.reask_template).substitute(problems=lines)


def load_label_prompts(catalog: Catalog, folder: Path | None = None) -> LabelPrompts:
    folder = folder or data_dir("prompts")
    system_src, user_src, reask_src = (
        (folder / name).read_text(encoding="utf-8") for name in FILES
    )
    system = _template(system_src).substitute(indicators=render_indicators(catalog))
    version = prompt_version(system_src, user_src, reask_src, system, label_schema_json())
    return LabelPrompts(
        system, _template(user_src).template, _template(reask_src).template, "label-" + version
    )
