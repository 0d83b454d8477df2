"""Prompt rendering from prompts/ and the prompt version that keys the cache."""

import json
import shutil

from fazhi.catalog import default_catalog, parse_catalog
from fazhi.llm.prompts import SYSTEM_FILE, USER_FILE, keywords, load_prompts, render_indicators
from fazhi.llm.schema import schema_json
from fazhi.resources import data_dir
from tests.conftest import REPORTS, gold_json

CATALOG = default_catalog()
SCHEMA = schema_json(CATALOG)


def test_every_indicator_is_listed_once_with_its_chinese_keywords():
    listing = render_indicators(CATALOG).splitlines()
    assert len(listing) == len(CATALOG.ids)
    assert listing[0] == "- reconsideration.received：收到行政复议申请数；收到/收案 申请"
    assert (
        keywords(CATALOG["major_decisions.legality_reviews"]) == ""
    )  # no Chinese in its definition


def test_messages_carry_the_rules_the_catalog_and_the_chunk():
    prompts = load_prompts(CATALOG, SCHEMA)
    system, user = prompts.messages("受理138件", ("四、行政复议",))
    assert system["role"] == "system" and user["role"] == "user"
    assert "逐字复制" in system["content"] and "不计算" in system["content"]
    assert "litigation.head_appearance_rate" in system["content"]
    assert "<!--" not in system["content"]  # the version comment is not sent
    assert user["content"].endswith("受理138件") and "四、行政复议" in user["content"]


def test_the_prompt_is_compact_and_holds_no_report_passages():
    system = load_prompts(CATALOG, SCHEMA).system
    assert len(system) < 3500
    for stem in REPORTS:
        for figure in gold_json(stem)["figures"]:
            assert figure["quote"] not in system


def _copy_prompts(tmp_path):
    folder = tmp_path / "prompts"
    shutil.copytree(data_dir("prompts"), folder)
    return folder


def test_version_changes_with_a_prompt_file_the_schema_or_the_catalog(tmp_path):
    folder = _copy_prompts(tmp_path)
    base = load_prompts(CATALOG, SCHEMA, folder).version
    assert load_prompts(CATALOG, SCHEMA, folder).version == base  # deterministic

    (folder / USER_FILE).write_text(
        (folder / USER_FILE).read_text() + "\n请认真。", encoding="utf-8"
    )
    assert load_prompts(CATALOG, SCHEMA, folder).version != base

    assert load_prompts(CATALOG, SCHEMA + " ", data_dir("prompts")).version != base

    other = parse_catalog({"g": {"x.count": {"name": "某数", "kind": "count", "definition": "d"}}})
    assert load_prompts(other, SCHEMA, data_dir("prompts")).version != base


def test_version_line_in_the_file_counts_even_though_it_is_not_sent(tmp_path):
    folder = _copy_prompts(tmp_path)
    before = load_prompts(CATALOG, SCHEMA, folder)
    text = (folder / SYSTEM_FILE).read_text(encoding="utf-8")
    (folder / SYSTEM_FILE).write_text(text.replace(" v1.", " v2.", 1), encoding="utf-8")
    after = load_prompts(CATALOG, SCHEMA, folder)
    assert after.system == before.system and after.version != before.version


def test_the_schema_is_prompt_text_only_in_modes_that_send_it_with_the_messages():
    from fazhi.llm.prompts import schema_prompt_text
    from fazhi.llm.schema import answer_schema

    schema = answer_schema(CATALOG)
    assert schema_prompt_text("JSON_SCHEMA", schema) == ""  # a grammar on llama.cpp, not prompt
    as_tool, in_system = schema_prompt_text("TOOLS", schema), schema_prompt_text("JSON", schema)
    assert json.loads(as_tool) == json.loads(in_system) == schema
    assert (
        "\n" not in as_tool
        and in_system == schema_prompt_text("MD_JSON", schema)
        and "\n  " in in_system
    )
