"""The panel tables: cells, the choice rule, flags, rows without region or year, source texts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fazhi.backends.rules import RulesBackend
from fazhi.batch import run_batch
from fazhi.export import read_records
from fazhi.export.panel import build_tables, write_tables
from fazhi.export.tables import default_sources_dir, report_entries
from fazhi.model import Figure, Meta, Result

REPO = Path(__file__).resolve().parents[1]


def _result(region, year, figures, source="r.txt", sha="ab" * 32):
    return Result(
        source=source,
        source_sha256=sha,
        backend="rules",
        meta=Meta(region=region, year=year),
        figures=[
            Figure(
                indicator=i,
                value=v,
                raw=str(v),
                quote=f"q{v}",
                scope=s,
                span=(0, 1),
                raw_span=(0, 1),
            )
            for i, v, s in figures
        ],
    )


def _long(results):
    return build_tables(report_entries(results))["panel_long"][0]


def _wide(results):
    return build_tables(report_entries(results))["panel_wide"][0]


def test_a_sub_scope_value_is_kept_but_the_whole_locality_value_is_chosen():
    result = _result(
        "启东市", 2024, [("litigation.cases", 60, "市政府"), ("litigation.cases", 113, None)]
    )
    rows = _long([result])
    chosen = [r for r in rows if r["chosen"]]
    assert [r["value"] for r in chosen] == [113.0]
    assert all(r["cell_values"] == 2 for r in rows)
    (wide,) = _wide([result])
    assert wide["litigation.cases"] == 113.0 and wide["litigation.cases__values"] == 2
    assert wide["multi_valued"] == "litigation.cases"
    assert wide["adcode"] == "320681"


def test_several_whole_locality_values_choose_nothing_and_say_why():
    figures = [("oversight.cppcc_proposals", v, None) for v in (8, 48, 472)]
    rows = _long([_result("太原市", 2021, figures)])
    assert not any(r["chosen"] for r in rows)
    assert "3 different whole-locality values (8, 48, 472)" in rows[0]["reason"]
    (wide,) = _wide([_result("太原市", 2021, figures)])
    assert wide["oversight.cppcc_proposals"] is None
    assert wide["oversight.cppcc_proposals__values"] == 3


def test_a_repeated_value_is_one_value():
    figures = [("litigation.cases", 50, None), ("litigation.cases", 50, "全区")]
    (wide,) = _wide([_result("宿城區", 2020, figures)])
    assert (wide["litigation.cases"], wide["litigation.cases__values"]) == (50.0, 1)
    assert wide["multi_valued"] is None


def test_two_reports_of_one_locality_and_year_share_a_cell_across_scripts():
    a = _result("宿城區", 2020, [("litigation.cases", 50, None)], "a.txt", "aa" * 32)
    b = _result("宿城区", 2020, [("litigation.cases", 51, None)], "b.txt", "bb" * 32)
    (wide,) = _wide([a, b])
    assert wide["panel_key"] == "adcode:321302" and wide["reports"] == 2
    assert wide["region"] == "宿城区; 宿城區"
    assert wide["litigation.cases"] is None and wide["litigation.cases__values"] == 2


def test_the_wide_panel_names_its_reports_apart_from_the_long_panels_labellers():
    a = _result("宿城區", 2020, [("litigation.cases", 50, None)], "a.txt", "aa" * 32)
    b = _result("宿城区", 2020, [("litigation.cases", 51, None)], "b.txt", "bb" * 32)
    a.figures[0].sources = ["rules"]
    tables = build_tables(report_entries([a, b]))
    (wide,) = tables["panel_wide"][0]
    assert wide["report_files"] == "a.txt; b.txt" and "sources" not in wide
    long = tables["panel_long"][0]
    assert {row["sources"] for row in long} == {"rules", ""}  # the labellers of each figure


def test_rows_without_year_or_region_are_kept_apart_and_flagged():
    no_year_a = _result("昆山市", None, [("litigation.cases", 1, None)], "a.txt", "aa" * 32)
    no_year_b = _result("昆山市", None, [("litigation.cases", 2, None)], "b.txt", "bb" * 32)
    no_region = _result(None, 2021, [("litigation.cases", 3, None)], "c.txt", "cc" * 32)
    wide = _wide([no_year_a, no_year_b, no_region])
    assert len(wide) == 3  # never merged into one cell
    flags = sorted(w["flags"] for w in wide)
    assert flags == ["no_region", "no_year", "no_year"]
    assert {w["panel_key"] for w in wide} == {"adcode:320583", "file:c.txt"}
    assert all(w["litigation.cases__values"] == 1 for w in wide)


def test_missing_year_stays_a_nullable_integer(tmp_path):
    results = [
        _result("昆山市", None, [("litigation.cases", 1, None)], "a.txt", "aa" * 32),
        _result("昆山市", 2021, [("litigation.cases", 2, None)], "b.txt", "bb" * 32),
    ]
    write_tables(report_entries(results), tmp_path, parquet=True)
    for name in ("panel_wide", "panel_long"):
        frame = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert str(frame["year"].dtype) == "Int64" and frame["year"].isna().sum() == 1
        csv = pd.read_csv(tmp_path / f"{name}.csv", dtype={"year": "Int64"})
        assert sorted(csv["year"].dropna().tolist()) == [2021]


def test_an_ambiguous_region_gets_no_code_and_a_flag():
    (wide,) = _wide([_result("鼓楼区", 2022, [("litigation.cases", 5, None)])])
    assert wide["adcode"] is None and wide["locality_status"] == "ambiguous"
    assert wide["flags"] == "region_ambiguous" and wide["panel_key"] == "file:r.txt"
    assert wide["region_name"] == "鼓楼区"


def test_two_ambiguous_reports_of_one_name_and_year_are_not_merged():
    a = _result("鼓楼区", 2022, [("litigation.cases", 5, None)], "nanjing.txt", "aa" * 32)
    b = _result("鼓楼区", 2022, [("litigation.cases", 7, None)], "fuzhou.txt", "bb" * 32)
    wide = _wide([a, b])
    assert len(wide) == 2 and all(w["litigation.cases__values"] == 1 for w in wide)


@pytest.fixture(scope="module")
def corpus_batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    reports = sorted((REPO / "evals/corpus").glob("*.txt")) + sorted(
        (REPO / "evals/dev/corpus").glob("*.txt")
    )
    journal = out / "out.jsonl"
    run_batch(reports, RulesBackend(), journal)
    tables = out / "tables"
    write_tables(
        report_entries(read_records(journal), default_sources_dir(journal)), tables, parquet=True
    )
    return journal, tables


def test_the_corpus_panel_flags_the_known_multi_valued_cells(corpus_batch):
    _, tables = corpus_batch
    wide = pd.read_csv(tables / "panel_wide.csv", dtype={"year": "Int64"})
    taiyuan = wide[wide["region_name"] == "太原市"].iloc[0]
    assert taiyuan["oversight.cppcc_proposals__values"] == 3
    assert "oversight.cppcc_proposals" in taiyuan["multi_valued"]
    qidong = wide[wide["region_name"] == "启东市"].iloc[0]
    assert qidong["litigation.cases__values"] == 2
    long = pd.read_parquet(tables / "panel_long.parquet")
    cells = long.groupby(["panel_key", "year", "indicator"])["value"].nunique()
    assert (cells > 1).sum() == (
        long.groupby(["panel_key", "year", "indicator"])["cell_values"].first() > 1
    ).sum()


def test_every_figure_of_a_real_locality_has_a_code(corpus_batch):
    _, tables = corpus_batch
    long = pd.read_parquet(tables / "panel_long.parquet")
    assert str(long["adcode"].dtype) == "string"
    real = long[long["source"].str.contains("evals/corpus/")]
    assert real["adcode"].notna().all()
    assert set(real["adcode"]) == {"320583", "320681", "310118", "321302", "140100"}
    invented = long[long["source"].str.contains("evals/dev/")]
    assert invented["adcode"].isna().all()
    assert set(invented["locality_status"]) == {"unknown"}


def test_offsets_resolve_against_the_written_source_texts(corpus_batch):
    _, tables = corpus_batch
    long = pd.read_csv(tables / "panel_long.csv")
    items = pd.read_csv(tables / "text_items.csv")
    for frame in (long, items):
        assert frame["source_text"].notna().all()
        for row in frame.itertuples():
            text = (tables / row.source_text).read_text(encoding="utf-8")
            assert text[row.span_start : row.span_end] == row.quote


def test_polars_reads_every_table_as_is(corpus_batch):
    pl = pytest.importorskip("polars")
    _, tables = corpus_batch
    for name in ("panel_wide", "panel_long", "reports", "text_items"):
        from_csv = pl.read_csv(tables / f"{name}.csv")
        from_parquet = pl.read_parquet(tables / f"{name}.parquet")
        assert from_csv.shape == from_parquet.shape and from_csv.columns[0] != ""
        assert from_parquet.schema["year"] == pl.Int64


def test_the_reports_table_has_one_row_per_report_with_counts(corpus_batch):
    _, tables = corpus_batch
    reports = pd.read_csv(tables / "reports.csv")
    assert len(reports) == 8 and (reports["status"] == "complete").all()
    sucheng = reports[reports["source"].str.contains("sucheng")].iloc[0]
    assert (sucheng["meta_region"], sucheng["region_name"]) == ("宿城區", "宿城区")
    assert sucheng["figures"] == 23 and sucheng["conflicts"] >= 1
