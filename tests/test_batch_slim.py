"""A long batch holds no results (issue 18): the summary's records are the journal lines
without them, ``--csv`` and ``--strict`` read them back from the journal one at a time."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

from typer.testing import CliRunner

from fazhi.backends.rules import RulesBackend
from fazhi.batch import run_batch
from fazhi.cli import app
from fazhi.export import jsonl, latest_records, read_records, write_panel
from tests.batch_fakes import EchoBackend, make_report_folder
from tests.conftest import CORPUS, REPORTS
from tests.test_faults_batch import _distinct_reports


def _corpus_copy(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for name in REPORTS:
        path = folder / f"{name}.txt"
        path.write_bytes((CORPUS / f"{name}.txt").read_bytes())
        paths.append(path)
    return paths


def _journal_results_in_order(journal: Path, paths: list[Path]):
    by_source = {r.source: r.result for r in latest_records(read_records(journal))}
    return [by_source[str(p)] for p in paths if by_source[str(p)] is not None]


def test_the_summary_holds_no_results_fresh_or_resumed(tmp_path):
    paths = _corpus_copy(tmp_path / "reports")
    journal = tmp_path / "out.jsonl"
    run_batch(paths[:2], RulesBackend(), journal)
    summary = run_batch(paths, RulesBackend(), journal, concurrency=3)
    assert summary.progress.skipped == 2 and len(summary.records) == len(paths)
    assert all(r.status == "complete" and r.result is None for r in summary.records)
    results = list(summary.results())
    assert results == _journal_results_in_order(journal, paths)  # input order, none missing
    assert len(results) == len(paths) and all(r.figures for r in results)
    full = list(summary.full_records())
    assert [r.source for r in full] == [r.source for r in summary.records]
    assert [r.model_copy(update={"result": None}) for r in full] == summary.records


def test_a_failed_report_without_result_is_listed_and_yields_nothing(tmp_path):
    reports = make_report_folder(tmp_path / "reports")
    inputs = sorted(reports.rglob("*.txt"))
    summary = run_batch(inputs, EchoBackend(), tmp_path / "out.jsonl")
    failed = [r for r in summary.records if r.status == "failed"]
    assert failed and all(r.error_stage == "read" for r in failed)
    assert len(list(summary.results())) == len(summary.records) - len(failed)


def _held_per_report(count: int, folder: Path) -> tuple[float, float]:
    """(bytes still allocated per report with the summary held, bytes per report that holding
    the journal's full records takes)."""
    paths = _distinct_reports(folder / "in", count, "copy")
    run_batch(paths[:5], RulesBackend(), folder / "warm.jsonl")  # imports, caches: not per report
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        summary = run_batch(paths, RulesBackend(), folder / "out.jsonl", resume=False)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        full = read_records(folder / "out.jsonl")
        with_results = tracemalloc.get_traced_memory()[0] - before - held
    finally:
        tracemalloc.stop()
    assert len(summary.records) == len(full) == count
    return held / count, with_results / count


def test_a_batch_keeps_a_fraction_of_what_its_results_would_take(tmp_path):
    """What stays in memory is a slim record (a few KiB), not the result: a corpus report's
    full record is ~50 KiB held (issue 18: 30,000 of them were 1.7 GB)."""
    held, result = _held_per_report(40, tmp_path)
    assert result > 20_000  # the reports are big enough for the comparison to mean something
    assert held < 0.25 * result, f"{held:.0f} bytes held per report, a full record {result:.0f}"


def test_csv_and_strict_read_the_journal(tmp_path):
    """The CSV is the panel of the results in input order (resumed reports included), and
    --strict sees a rejection the summary's records no longer carry."""
    inputs = _corpus_copy(tmp_path / "reports")
    runner = CliRunner()
    base = ["extract", *map(str, inputs), "-o", str(tmp_path / "out.jsonl"), "--backend", "rules"]
    assert runner.invoke(app, base[:2] + base[-4:]).exit_code == 0  # one report done first
    run = runner.invoke(app, [*base, "--csv", str(tmp_path / "panel.csv")])
    assert run.exit_code == 0, run.output
    expected = tmp_path / "expected.csv"
    write_panel(_journal_results_in_order(tmp_path / "out.jsonl", inputs), expected)
    assert (tmp_path / "panel.csv").read_bytes() == expected.read_bytes()
    assert len(expected.read_text(encoding="utf-8-sig").splitlines()) > len(inputs)


def test_strict_finds_a_rejection_in_the_journal(tmp_path, monkeypatch):
    monkeypatch.setattr(
        "fazhi.cli.extract_cmd.make_backend", lambda *_a, **_k: EchoBackend(invent=True)
    )
    inputs = [str(p) for p in _corpus_copy(tmp_path / "reports")[:2]]
    base = ["extract", *inputs, "-o", str(tmp_path / "out.jsonl")]
    runner = CliRunner()
    plain = runner.invoke(app, base)
    assert plain.exit_code == 0, plain.output
    assert any(r.result and r.result.rejected for r in read_records(tmp_path / "out.jsonl"))
    assert runner.invoke(app, [*base, "--strict"]).exit_code == 1  # resumed: read back


def test_compaction_streams_and_keeps_the_newest_line_per_report(tmp_path):
    paths = _corpus_copy(tmp_path / "reports")
    journal = tmp_path / "out.jsonl"
    run_batch(paths[:2], EchoBackend(raise_on="昆山"), journal)  # kunshan fails first
    first = read_records(journal)
    jsonl.append_locked(journal, first[0])  # the failure again: two lines for one report
    before = read_records(journal)
    assert jsonl.compact(journal) == 1
    assert read_records(journal) == latest_records(before)


def test_results_stay_right_when_another_process_rewrites_the_journal(tmp_path):
    """The offsets are of the file open: a rewrite (another batch compacting) puts a new file
    in its place, lines elsewhere; the results still come in input order, none lost."""
    paths = _corpus_copy(tmp_path / "reports")
    journal = tmp_path / "out.jsonl"
    summary = run_batch(paths, RulesBackend(), journal)
    expected = _journal_results_in_order(journal, paths)
    stream = summary.results()
    first = next(stream)
    jsonl.rewrite(journal, list(reversed(read_records(journal))))
    assert [first, *stream] == expected
    assert list(summary.results()) == expected  # read afresh from the rewritten file
