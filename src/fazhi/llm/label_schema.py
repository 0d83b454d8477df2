"""The label-mode answer: ids, indicator ids and scopes -- nothing the code already holds.

``{"figures": {"n12": ["reconsideration.received", "市政府"], "n15": ["litigation.lost", null]},
"shortcomings": ["s40", "s41-s43"], "plans": ["s50"], "meta": {...}}``: each labelled candidate
id maps to its indicator id and scope (text of the report, or null).

The schema is deliberately tiny and the same for every catalog: no enum of indicator ids (the
catalog is sent once, in the system prompt, not a second time in the schema), no cap on any list
(a cap that drops items unseen is what this mode exists to avoid; a runaway answer ends at
``max_tokens`` instead, and the backend splits the request and asks again). The model checks
only structure; what the ids mean is checked by the label backend, which re-asks in Chinese.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_FILE = "label_answer.schema.json"


def compact(schema: Any, defs: dict[str, Any] | None = None) -> Any:
    """The same constraints in fewer tokens (every request sends the schema): ``$ref``s
    inlined, ``anyOf: [X, null]`` as ``type: [X, "null"]``, no titles below the top, no
    ``default: null`` (a field left out is null anyway)."""
    if isinstance(schema, list):
        return [compact(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    defs = schema.get("$defs", defs) or {}
    if "$ref" in schema:
        return compact(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    out: dict[str, Any] = {
        k: _compact_properties(v, defs) if k == "properties" else compact(v, defs)
        for k, v in schema.items()
        if k not in ("$defs", "title") and not (k == "default" and v is None)
    }
    options = out.get("anyOf")
    if options and len(options) == 2 and {"type": "null"} in options:
        [other] = [o for o in options if o != {"type": "null"}]
        if isinstance(other, dict) and isinstance(other.get("type"), str):
            del out["anyOf"]
            out = {**other, **out, "type": [other["type"], "null"]}
    return out


def _compact_properties(props: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    # keys here are field names, not keywords: a field called "title" stays
    return {name: compact(sub, defs) for name, sub in props.items()}


_STRICT = ConfigDict(extra="forbid")


class LabelMeta(BaseModel):
    model_config = _STRICT

    region: str | None = None
    issuer: str | None = None
    year: int | None = None
    published: str | None = None


class LabelReply(BaseModel):
    """候选编号→[指标id, 范围或null]；句子编号；meta"""

    model_config = _STRICT

    figures: dict[str, list[str | None]] = Field(default_factory=dict)
    shortcomings: list[str] = Field(default_factory=list)
    plans: list[str] = Field(default_factory=list)
    meta: LabelMeta | None = None

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The compact schema (``compact``); instructor sends this one, as tool or format."""
        full = super().model_json_schema(*args, **kwargs)
        return {**compact(full), "title": full["title"]}  # instructor names the tool after it


def label_schema_json() -> str:
    """The schema as the text of ``schemas/label_answer.schema.json``."""
    return json.dumps(LabelReply.model_json_schema(), ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    """``python -m fazhi.llm.label_schema``: rewrite ``schemas/label_answer.schema.json``."""
    from fazhi.resources import data_file

    target = data_file("schemas", SCHEMA_FILE)
    target.write_text(label_schema_json(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
