"""The per-chunk answer schema: built from any catalog, compact, capped, checked in context."""

import asyncio
import json

import pytest
from pydantic import ValidationError

from fazhi.catalog import default_catalog, parse_catalog
from fazhi.llm.schema import (
    MAX_FIGURES,
    SCHEMA_FILE,
    answer_model,
    answer_schema,
    checking,
    schema_json,
)
from fazhi.resources import data_file

# A real sentence from kunshan-2021.
SENTENCE = "市政府收到行政复议申请169件,受理138件"
FIGURE = {
    "quote": "受理138件",
    "raw": "138",
    "indicator": "reconsideration.accepted",
    "scope": "市政府",
}


def test_schema_file_is_what_the_catalog_generates():
    committed = data_file("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == schema_json(default_catalog()), (
        "schemas/chunk_answer.schema.json is stale: run python -m fazhi.llm.schema"
    )


def test_indicator_is_an_enum_of_the_catalog_ids_and_objects_are_closed():
    schema = answer_schema(default_catalog())
    figure = schema["$defs"]["FigureReply"]
    assert figure["properties"]["indicator"]["enum"] == list(default_catalog().ids)
    assert figure["additionalProperties"] is False and schema["additionalProperties"] is False
    assert schema["properties"]["figures"]["maxItems"] == MAX_FIGURES
    assert "value" not in figure["properties"]  # value is parsed from raw, never asked for
    assert list(figure["properties"]) == ["quote", "raw", "indicator", "scope"]


def test_any_catalog_of_the_same_shape_gives_a_working_model():
    other = parse_catalog(
        {"g": {"x.count": {"name": "某数", "kind": "count", "definition": "d (某)"}}}
    )
    model = answer_model(other)
    reply = model.model_validate({"figures": [{**FIGURE, "indicator": "x.count"}]})
    assert reply.figures[0].indicator == "x.count"
    with pytest.raises(ValidationError):
        model.model_validate({"figures": [FIGURE]})  # an id of the other catalog


def test_structure_is_enforced_without_a_context():
    model = answer_model(default_catalog())
    with pytest.raises(ValidationError, match="extra"):
        model.model_validate({"figures": [{**FIGURE, "value": 138}]})
    with pytest.raises(ValidationError, match="at most 16"):
        model.model_validate({"figures": [FIGURE] * (MAX_FIGURES + 1)})
    assert model.model_validate_json(json.dumps({"figures": [FIGURE]})).figures[0].raw == "138"


def test_the_active_check_turns_problems_into_located_errors():
    seen = []

    def check(what, item):
        seen.append(what)
        quote = item["quote"] if what == "figure" else item if isinstance(item, str) else ""
        return None if quote and quote in SENTENCE else f"{what} not in the text"

    model = answer_model(default_catalog())
    good = {"figures": [FIGURE], "shortcomings": ["收到行政复议申请169件"]}
    with checking(check):
        assert model.model_validate(good)
    bad = {"figures": [FIGURE, {**FIGURE, "quote": "受理183件"}], "plans": ["明年更好"]}
    with checking(check), pytest.raises(ValidationError) as info:
        model.model_validate(bad)
    assert model.model_validate(bad)  # outside the block only the structure is checked
    locations = {err["loc"] for err in info.value.errors()}
    assert locations == {("figures", 1), ("plans", 0)}
    assert "figure not in the text" in str(info.value)
    assert {"figure", "shortcoming", "plan"} <= set(seen)


def test_concurrent_requests_each_validate_against_their_own_check():
    model = answer_model(default_catalog())

    async def validate(check, delay):
        with checking(check):
            await asyncio.sleep(delay)  # the other task sets its check meanwhile
            try:
                return model.model_validate({"figures": [FIGURE]}) is not None
            except ValidationError:
                return False

    async def both():
        return await asyncio.gather(
            validate(lambda what, item: None, 0.02), validate(lambda what, item: "wrong", 0.0)
        )

    assert asyncio.run(both()) == [True, False]
