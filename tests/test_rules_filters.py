"""The rules backend's shortcuts change no reading: the near-phrase filter and the indicator
rules looked up per form and measure word."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from fazhi.backends.rules import find_all
from fazhi.backends.rules_config import Rules, default_rules_path, load_rules, parse_rules
from fazhi.catalog import default_catalog

EVALS = Path(__file__).resolve().parents[1] / "evals"
TEXTS = sorted(EVALS.glob("**/corpus/*.txt"))


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(default_rules_path(), default_catalog())


def _unfiltered(rules: Rules) -> Rules:
    """The same rules with no near-phrase filter: every phrase searched on its own."""
    plain = tuple(dataclasses.replace(r, near_any=None) for r in rules.indicators)
    return dataclasses.replace(rules, indicators=plain, _by_quantity={})


def test_most_rules_have_a_near_filter(rules):
    assert sum(r.near_any is not None for r in rules.indicators) >= len(rules.indicators) * 0.8


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_the_near_filter_changes_no_reading(rules, path):
    text = path.read_text(encoding="utf-8")
    assert find_all(text, rules) == find_all(text, _unfiltered(rules))


@pytest.mark.parametrize(
    "phrase",
    [
        "受理(?!率)",  # 受理 at a window's end could be 受理率 in a wider one
        "受理(?=率)",
        "受理$",
        "(受理)\\1",  # a group by number: joined with other phrases it would be renumbered
        "(?P<verb>受理)(?P=verb)",
    ],
)
def test_a_phrase_that_looks_ahead_or_refers_to_a_group_gets_no_filter(phrase):
    data = yaml.safe_load(default_rules_path().read_text(encoding="utf-8"))
    first = next(iter(data["indicators"]))
    spec = data["indicators"][first]
    spec = spec[0] if isinstance(spec, list) else spec
    data["indicators"][first] = {**spec, "near": [phrase, "收到"]}
    parsed = parse_rules(data, default_catalog())
    rule = next(r for r in parsed.indicators if r.indicator == first)
    assert rule.near_any is None
    # nor has any form and unit whose rules include it
    for unit in rule.units:
        assert parsed.indicators_for("count", unit).near_any is None
    others = [r for r in parsed.indicators if r.indicator != first]
    assert all(r.near_any is not None for r in others if "(?!" not in str(r.near))


def test_indicators_for_keeps_file_order_and_fits_form_and_unit(rules):
    for form, unit in [("count", "件"), ("count", "人次"), ("percent", None), ("zero", None)]:
        chosen = rules.indicators_for(form, unit).rules
        assert chosen, (form, unit)
        order = [rules.indicators.index(r) for r in chosen]
        assert order == sorted(order)
        if form == "percent":
            assert {r.kind for r in chosen} == {"percent"}
        if form == "count":
            assert all(unit in r.units for r in chosen)
    nothing = rules.indicators_for("count", "no such unit")
    assert nothing.rules == () and nothing.near_any is None
