"""Prompt rendering from ``prompts/`` and the prompt version that keys every cache entry.

The prompts are short on purpose: the catalog is rendered one line per indicator (id, name and
the Chinese keywords of its definition), the chunk follows, and there are no example passages
-- a peer tool's long few-shot examples cost nine times the report's own tokens and made small
models echo the examples' numbers into every report.

The system message is identical for every chunk of every report, so a llama.cpp server reuses
its cached prefix and only the chunk is processed per call.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from fazhi.catalog import Catalog, Indicator
from fazhi.resources import data_dir

SYSTEM_FILE = "extract.system.md"
USER_FILE = "extract.user.md"

_COMMENT = re.compile(r"<!--.*?-->\n?", re.S)
# A parenthesised run in a definition that holds Chinese: "(收到/收案 申请)" -> "收到/收案 申请".
_KEYWORDS = re.compile(r"[(（]([^()（）]*[\u4e00-\u9fff][^()（）]*)[)）]")


def keywords(indicator: Indicator) -> str:
    """The Chinese wording a definition quotes, e.g. ``审结/办结/结案`` (empty if none)."""
    return "；".join(m.strip() for m in _KEYWORDS.findall(indicator.definition))


def render_indicators(catalog: Catalog) -> str:
    """One compact line per indicator: ``- id：名称；关键词``."""
    lines = []
    for ind in catalog.indicators.values():
        hint = keywords(ind)
        lines.append(f"- {ind.id}：{ind.name}" + (f"；{hint}" if hint else ""))
    return "\n".join(lines)


def _template(text: str) -> Template:
    return Template(_COMMENT.sub("", text).strip())


@dataclass(frozen=True)
class PromptSet:
    """The rendered system message and the user template for one catalog."""

    system: str
    user_template: str
    version: str

    def messages(self, text: str, headings: tuple[str, ...] = ()) -> list[dict[str, str]]:
        user = Template(self.user_template).substitute(
            text=text, headings=" > ".join(headings) if headings else "（无）"
        )
        # One trailing newline of the chunk says nothing to the model; the quote-style
        # recordings in cassettes/ were sent without it (instructor's templating dropped it).
        user = user.removesuffix("\n")
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def prompt_version(*parts: str) -> str:
    """A short content hash of its parts (prompt files, rendered catalog, schema JSON)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def load_prompts(catalog: Catalog, schema_text: str, folder: Path | None = None) -> PromptSet:
    """Read ``extract.system.md`` and ``extract.user.md`` and render them for ``catalog``.

    ``schema_text`` (the answer schema's JSON) goes into the version, so a schema change
    invalidates cached answers just as a prompt change does.
    """
    folder = folder or data_dir("prompts")
    system_src = (folder / SYSTEM_FILE).read_text(encoding="utf-8")
    user_src = (folder / USER_FILE).read_text(encoding="utf-8")
    system = _template(system_src).substitute(indicators=render_indicators(catalog))
    user_template = _template(user_src).template
    version = prompt_version(system_src, user_src, system, schema_text)
    return PromptSet(system, user_template, version)


def schema_prompt_text(mode: str, schema: dict[str, Any]) -> str:
    """The answer schema as the prompt carries it in an instructor ``mode`` ("" when it does not).

    JSON and MD_JSON append the indented schema to the system message; TOOLS sends it as a
    function definition, which hosted APIs count as prompt tokens. JSON_SCHEMA sends it as
    ``response_format``: llama.cpp turns that into a grammar and counts none of it (the recorded
    calls in cassettes/ fit the messages alone); whether a hosted API counts it is not measured.
    """
    if mode in ("JSON", "MD_JSON"):
        return json.dumps(schema, ensure_ascii=False, indent=2)
    if mode == "TOOLS":
        return json.dumps(schema, ensure_ascii=False)
    return ""
