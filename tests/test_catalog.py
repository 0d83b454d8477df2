import pytest

from fazhi.catalog import CatalogError, default_catalog, parse_catalog
from tests.conftest import REPORTS, gold_json


def test_catalog_loads_all_groups_and_kinds():
    cat = default_catalog()
    assert len(cat.ids) == 49
    assert cat["litigation.head_appearance_rate"].kind == "percent"
    assert cat["enforcement.lenient_amount"].kind == "money"
    assert cat.group_of("reconsideration.received") == "reconsideration"


@pytest.mark.parametrize("stem", REPORTS)
def test_every_gold_indicator_is_in_the_catalog(stem):
    cat = default_catalog()
    for fig in gold_json(stem)["figures"]:
        assert fig["indicator"] in cat


def test_bad_catalogs_are_refused():
    with pytest.raises(CatalogError):
        parse_catalog({})
    with pytest.raises(CatalogError):
        parse_catalog({"g": {"a.b": {"name": "x", "kind": "weight", "definition": "d"}}})
    with pytest.raises(CatalogError):
        parse_catalog({"g": {"a.b": {"name": "x"}}})
