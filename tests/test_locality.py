"""Locality names as printed → codes: traditional script, parents, ambiguity, unknown names."""

from __future__ import annotations

import pytest

from fazhi.locality import resolve_locality


def test_traditional_script_becomes_the_simplified_name_and_its_code():
    loc = resolve_locality("宿城區", year=2020)
    assert (loc.region, loc.region_name, loc.adcode) == ("宿城區", "宿城区", "321302")
    assert (loc.province, loc.city, loc.level, loc.status) == (
        "江苏省",
        "宿迁市",
        "county",
        "matched",
    )


@pytest.mark.parametrize("printed", ["西安市阎良区", "阎良区", "陕西省西安市阎良区"])
def test_the_same_district_with_or_without_its_parents_gets_one_code(printed):
    assert resolve_locality(printed, year=2021).adcode == "610114"


def test_a_parent_that_does_not_hold_the_district_is_not_overruled():
    loc = resolve_locality("南京市阎良区", year=2021)
    assert loc.status == "unknown" and loc.adcode is None
    assert loc.region_name == "南京市阎良区" and "not under the parents" in loc.note


def test_a_name_in_several_cities_without_context_stays_ambiguous():
    loc = resolve_locality("鼓楼区", year=2022)
    assert loc.status == "ambiguous" and loc.adcode is None
    assert set(loc.candidates) == {"320106", "320302", "410204", "350102"}
    assert "none of their parents" in loc.note


def test_the_reports_own_context_resolves_an_ambiguous_name():
    context = [("issuer", "鼓楼区人民政府"), ("text", "在徐州市委、市政府的坚强领导下，鼓楼区……")]
    loc = resolve_locality("鼓楼区", year=2022, context=context)
    assert (loc.adcode, loc.city, loc.status) == ("320302", "徐州市", "matched")
    assert "text names 徐州市" in loc.note


def test_context_naming_two_candidate_cities_is_not_a_guess():
    context = [("text", "学习南京市、福州市的经验")]
    loc = resolve_locality("鼓楼区", year=2022, context=context)
    assert loc.status == "ambiguous" and loc.adcode is None and "several" in loc.note


def test_the_issuer_is_trusted_before_the_text():
    context = [("issuer", "福州市鼓楼区人民政府"), ("text", "赴南京市学习")]
    assert resolve_locality("鼓楼区", year=2022, context=context).adcode == "350102"


def test_the_code_of_the_reports_year_is_used():
    # 杭州 江干区 became part of the new 钱塘区/上城区 in 2021
    assert resolve_locality("江干区", year=2020).adcode == "330104"
    assert resolve_locality("江干区", year=2022).status == "unknown"
    assert resolve_locality("钱塘区", year=2022).adcode == "330114"


def test_unknown_and_missing_names_are_said_so():
    assert resolve_locality("泓川区", year=2023).status == "unknown"
    assert resolve_locality("鸿城区", year=2023).status == "unknown"  # not 城区 guessed inside
    missing = resolve_locality(None)
    assert missing.status == "missing" and missing.adcode is None


def test_a_year_outside_the_table_uses_its_nearest_year():
    loc = resolve_locality("昆山市", year=2030)
    assert loc.adcode == "320583" and loc.code_year is not None and loc.code_year < 2030


def test_city_and_province_levels():
    assert resolve_locality("太原市", year=2021).level == "city"
    beijing = resolve_locality("北京市", year=2021)
    assert (beijing.level, beijing.adcode) == ("province", "110000")


def test_a_name_changed_that_year_is_found_in_the_year_before_and_said_so():
    loc = resolve_locality("江干区", year=2021)  # abolished in 2021; the 2020 table has it
    assert (loc.adcode, loc.status, loc.code_year) == ("330104", "matched", 2020)
    assert "2020 table" in loc.note
