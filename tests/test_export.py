"""The batch journal (JSONL) and the long CSV panel."""

from __future__ import annotations

import pytest

from fazhi.catalog import default_catalog
from fazhi.export import (
    PANEL_COLUMNS,
    ReportRecord,
    append_record,
    latest_records,
    panel_rows,
    read_records,
    repair,
    rewrite,
    write_panel,
)
from fazhi.ingest import read_source
from fazhi.model import Result
from fazhi.pipeline import extract
from tests.batch_fakes import EchoBackend
from tests.conftest import CORPUS

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def results() -> list[Result]:
    backend = EchoBackend()
    return [
        extract(read_source(CORPUS / f"{stem}.txt"), backend)
        for stem in ("kunshan-2021", "qidong-2024")
    ]


def _record(result: Result, status: str = "complete", sha: str | None = None) -> ReportRecord:
    return ReportRecord(
        source=result.source,
        source_sha256=sha or result.source_sha256,
        backend="echo",
        model="gold-echo",
        prompt_version="test-1",
        status=status,
        error=None if status == "complete" else "boom",
        result=result,
    )


def _write(path, records) -> None:
    with path.open("a", encoding="utf-8") as handle:
        for record in records:
            append_record(handle, record)


def test_journal_round_trips_records_with_their_results(tmp_path, results):
    journal = tmp_path / "out.jsonl"
    _write(journal, [_record(r) for r in results])
    back = read_records(journal)
    assert [r.result for r in back] == results
    assert journal.read_text(encoding="utf-8").count("\n") == len(results)
    assert "昆山市" in journal.read_text(encoding="utf-8")  # Chinese readable, not \\u-escaped


def test_a_torn_last_line_is_ignored_then_cut_off(tmp_path, results):
    journal = tmp_path / "out.jsonl"
    _write(journal, [_record(r) for r in results])
    whole = journal.read_bytes()
    journal.write_bytes(whole + whole[:57])  # a write interrupted mid-line
    assert len(read_records(journal)) == len(results)
    assert repair(journal) == 57
    assert journal.read_bytes() == whole
    assert repair(journal) == 0


def test_repair_drops_a_garbled_last_line_even_with_its_newline(tmp_path, results):
    journal = tmp_path / "out.jsonl"
    _write(journal, [_record(results[0])])
    whole = journal.read_bytes()
    journal.write_bytes(whole + b'{"source": "x", "status": \n')
    assert repair(journal) > 0
    assert journal.read_bytes() == whole


def test_latest_record_per_identity_wins_in_first_seen_order(results):
    kunshan, qidong = results
    failed = _record(kunshan, status="failed")
    redone = _record(kunshan)
    latest = latest_records([failed, _record(qidong), redone])
    assert [r.source for r in latest] == [kunshan.source, qidong.source]
    assert latest[0].status == "complete"


def test_a_newer_result_for_the_same_path_supersedes_an_older_one(results):
    kunshan, qidong = results
    before_edit = _record(kunshan, sha="1" * 64)
    after_edit = _record(kunshan, sha="2" * 64)
    renamed_copy = _record(qidong, sha="1" * 64)  # another path with the old bytes: its own
    latest = latest_records([before_edit, _record(qidong), after_edit, renamed_copy])
    assert [(r.source, r.source_sha256) for r in latest] == [
        (kunshan.source, "2" * 64),
        (qidong.source, "1" * 64),
    ]
    another_model = after_edit.model_copy(update={"model": "other"})
    assert len(latest_records([before_edit, another_model])) == 2  # other runs are kept


def test_rewrite_replaces_the_journal_whole(tmp_path, results):
    journal = tmp_path / "out.jsonl"
    _write(journal, [_record(r, status="failed") for r in results])
    rewrite(journal, [_record(results[1])])
    kept = [(r.source, r.status) for r in read_records(journal)]
    assert kept == [(results[1].source, "complete")]
    # no temporary file left behind; the lock file stays (deleting it would race a waiter)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "out.jsonl.lock"]


def test_panel_has_one_row_per_figure_with_catalog_group_and_kind(results):
    catalog = default_catalog()
    rows = list(panel_rows(results, catalog))
    assert len(rows) == sum(len(r.figures) for r in results) > 0
    for row in rows:
        assert tuple(row) == PANEL_COLUMNS
        assert row["group"] == catalog[row["indicator"]].group
        assert row["kind"] == catalog[row["indicator"]].kind


def test_pandas_reads_the_panel_as_is_with_the_right_dtypes(tmp_path, results):
    path = tmp_path / "panel.csv"
    assert write_panel(results, path) == sum(len(r.figures) for r in results)
    frame = pd.read_csv(path)
    assert list(frame.columns) == list(PANEL_COLUMNS)
    assert frame["value"].dtype == "float64"
    assert frame["year"].dtype == "int64"
    assert frame["approx"].dtype == "bool"
    assert frame["span_start"].dtype == "int64" and frame["span_end"].dtype == "int64"
    figures = [f for r in results for f in r.figures]
    assert frame["value"].tolist() == [float(f.value) for f in figures]
    assert frame["quote"].tolist() == [f.quote for f in figures]
    assert set(frame["year"]) == {r.meta.year for r in results}


def test_panel_quotes_sit_at_their_spans_in_the_source(tmp_path, results):
    path = tmp_path / "panel.csv"
    write_panel(results, path)
    frame = pd.read_csv(path)
    texts = {r.source: read_source(r.source).text for r in results}
    for row in frame.itertuples():
        assert texts[row.source][row.span_start : row.span_end] == row.quote


def test_a_report_without_year_leaves_the_cell_empty(tmp_path, results):
    no_year = results[0].model_copy(
        update={"meta": results[0].meta.model_copy(update={"year": None})}
    )
    path = tmp_path / "panel.csv"
    write_panel([no_year, results[1]], path)
    frame = pd.read_csv(path, dtype={"year": "Int64"})
    assert frame["year"].isna().sum() == len(no_year.figures)
    assert frame["year"].dropna().unique().tolist() == [results[1].meta.year]


def test_every_panel_row_carries_its_reports_status(tmp_path, results):
    partial = results[0].model_copy(update={"status": "partial", "failed_chunks": [2]})
    path = tmp_path / "panel.csv"
    write_panel([partial, *results[1:]], path)
    frame = pd.read_csv(path)
    by_source = frame.groupby("source")["status"].agg(set).to_dict()
    assert by_source[partial.source] == {"partial"}
    assert all(by_source[r.source] == {"complete"} for r in results[1:])
