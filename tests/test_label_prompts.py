"""The label-mode fixed prefix: the catalog once and compact, byte-identical for every request."""

from __future__ import annotations

import json
import re

import quicktok

from fazhi.catalog import default_catalog, parse_catalog
from fazhi.llm.label_prompts import load_label_prompts, render_catalog
from fazhi.llm.label_schema import LabelReply, compact

CATALOG = default_catalog()
O200K = quicktok.get_encoding("o200k_base")


def ids_in(listing: str) -> list[str]:
    """Every id a model can read off the listing: ``组.`` + each ``项`` of its line."""
    found = []
    for line in listing.splitlines():
        prefix, _, items = line.partition(".：")
        found += [f"{prefix}.{item.split(' ', 1)[0]}" for item in items.split("；")]
    return found


def test_every_indicator_id_is_listed_once_with_its_name():
    listing = render_catalog(CATALOG)
    assert ids_in(listing) == list(CATALOG.ids)
    assert all(CATALOG[i].name in listing for i in CATALOG.ids)
    assert len(listing.splitlines()) == len({i.rsplit(".", 1)[0] for i in CATALOG.ids})


def test_aliases_only_where_the_name_does_not_already_spell_them():
    catalog = parse_catalog(
        {
            "g": {
                "g.concluded": {"name": "审结数", "kind": "count", "definition": "x (审结/结案)."},
                "g.seen": {"name": "旁听庭审场次", "kind": "count", "definition": "x (庭审旁听)."},
            }
        }
    )
    assert render_catalog(catalog) == "g.：concluded 审结数（结案）；seen 旁听庭审场次"


def test_the_fixed_prefix_is_the_same_for_every_request_and_stays_short():
    prompts = load_label_prompts(CATALOG)
    first, second = prompts.messages("甲[n1]"), prompts.messages("乙[n2]")
    assert first[0] == second[0] and first[1] != second[1]
    # the catalog is sent once: in the system message, not in the schema
    assert prompts.system.count(render_catalog(CATALOG)) == 1
    assert not re.search(r"received|litigation", json.dumps(LabelReply.model_json_schema()))
    # the fixed prefix is paid by every request; an o200k budget keeps it from growing unseen
    # (at 1,101 tokens plus the tools definition it stays above OpenAI's 1,024-token cache minimum)
    assert 1_024 <= len(O200K.encode(prompts.system)) <= 1_200


def test_the_compact_schema_keeps_every_constraint():
    schema = LabelReply.model_json_schema()
    assert "$defs" not in schema and "$ref" not in json.dumps(schema)
    meta = schema["properties"]["meta"]
    assert meta["type"] == ["object", "null"] and meta["additionalProperties"] is False
    assert meta["properties"]["year"] == {"type": ["integer", "null"]}
    assert schema["additionalProperties"] is False and schema["title"] == "LabelReply"
    assert compact({"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}], "$defs": {"A": {}}}) == {
        "anyOf": [{}, {"type": "null"}]
    }  # a union with no single type stays a union
    named = {"properties": {"title": {"type": "string", "title": "Title", "default": None}}}
    assert compact(named) == {"properties": {"title": {"type": "string"}}}  # a field, kept
