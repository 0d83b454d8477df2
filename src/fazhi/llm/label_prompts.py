"""Label-mode prompts from ``prompts/label.*.md`` and their version.

The system message holds the instructions and the catalog, rendered once per catalog and
byte-identical for every request of every report, so a provider's prompt cache (and a llama.cpp
server's prefix cache) serves it; only the user message -- the marked report text -- changes.
The version hashes the three prompt files, the rendered catalog and the answer schema, and goes
into every cache key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from fazhi.catalog import Catalog
from fazhi.llm.label_schema import label_schema_json
from fazhi.llm.prompts import _template, keywords, prompt_version
from fazhi.resources import data_dir

FILES = ("label.system.md", "label.user.md", "label.reask.md")
_WORDS = re.compile(r"[/,、;；\s]+")


def render_catalog(catalog: Catalog) -> str:
    """The catalog once, compact: one line per id prefix, ``组.：项 名称（别称）；…``.

    The prefix is written once per group (ids are ``组.项``; the model writes the whole id);
    a definition's Chinese wording is added only where it names what the name does not
    (``审结`` and ``庭审旁听`` are spelled by 行政复议审结数 and 旁听庭审场次, ``办结、结案`` are
    not): the name is the definition wherever it is unambiguous, and every token here is paid
    by every request.
    """
    groups: dict[str, list[str]] = {}
    for ind in catalog.indicators.values():
        prefix, _, item = ind.id.rpartition(".")
        words = [w for w in _WORDS.split(keywords(ind)) if w and not set(w) <= set(ind.name)]
        aliases = f"（{'、'.join(dict.fromkeys(words))}）" if words else ""
        groups.setdefault(prefix, []).append(f"{item} {ind.name}{aliases}")
    return "\n".join(f"{prefix}.：" + "；".join(items) for prefix, items in groups.items())


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
    system = _template(system_src).substitute(indicators=render_catalog(catalog))
    version = prompt_version(system_src, user_src, reask_src, system, label_schema_json())
    return LabelPrompts(
        system, _template(user_src).template, _template(reask_src).template, "label-" + version
    )
