"""The label-mode answer: ids, indicator ids and scopes -- nothing the code already holds.

``{"figures": [{"id": "n12", "indicator": "reconsideration.received", "scope": "市政府"}],
"shortcomings": ["s40", "s41-s43"], "plans": ["s50"], "meta": {...}}``

The schema is deliberately tiny and the same for every catalog: no enum of indicator ids (the
catalog is sent once, in the system prompt, not a second time in the schema), no ``maxItems``
(a cap that drops items unseen is what this mode exists to avoid; a runaway answer ends at
``max_tokens`` instead, and the backend splits the request and asks again). The model checks
only structure; what the ids mean is checked by the label backend, which re-asks in Chinese.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_FILE = "label_answer.schema.json"


def _drop_property_titles(schema: dict[str, Any]) -> None:
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


_STRICT = ConfigDict(extra="forbid", json_schema_extra=_drop_property_titles)


class LabelFigure(BaseModel):
    model_config = _STRICT

    id: str = Field(max_length=12)
    indicator: str = Field(max_length=60)
    scope: str | None = Field(default=None, max_length=40)


class LabelMeta(BaseModel):
    model_config = _STRICT

    region: str | None = Field(default=None, max_length=40)
    issuer: str | None = Field(default=None, max_length=40)
    year: int | None = None
    published: str | None = Field(default=None, max_length=10)


class LabelReply(BaseModel):
    model_config = _STRICT

    figures: list[LabelFigure] = Field(default_factory=list)
    shortcomings: list[str] = Field(default_factory=list)
    plans: list[str] = Field(default_factory=list)
    meta: LabelMeta | None = None


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
