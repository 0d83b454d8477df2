"""The batch: inputs, bad reports recorded, resume, torn journal, concurrency, dry-run estimate."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from fazhi.batch import (
    NoInputsError,
    estimate_batch,
    extract_report,
    file_sha256,
    find_inputs,
    plan_batch,
    prompt_overhead_tokens,
    run_batch,
)
from fazhi.export import read_records
from fazhi.model import ChunkAnswer
from fazhi.text import TOKENS_PER_ASCII_CHAR, TOKENS_PER_NON_ASCII_CHAR
from tests.batch_fakes import (
    BAD,
    EchoBackend,
    RulesNamedEcho,
    SelfEstimatingEcho,
    make_report_folder,
)
from tests.conftest import REPORTS


@pytest.fixture
def reports(tmp_path) -> Path:
    return make_report_folder(tmp_path / "reports")


def _by_name(records) -> dict[str, object]:
    return {Path(r.source).name: r for r in records}


def test_find_inputs_walks_folders_and_globs(reports):
    found = find_inputs([str(reports)])
    names = sorted(p.name for p in found)
    assert names == sorted([f"{s}.txt" for s in REPORTS] + ["kunshan-gbk.txt", *BAD])
    assert find_inputs([str(reports / "more" / "*.txt")]) == sorted(
        (reports / "more").glob("*.txt")
    )
    assert find_inputs([str(reports / "**" / "qidong*")]) == [
        next(reports.rglob("qidong-2024.txt"))
    ]
    explicit = reports / "notes.xlsx"
    assert find_inputs([str(explicit), str(explicit)]) == [
        explicit
    ]  # explicit files as given, once


@pytest.mark.parametrize("argument", ["missing.txt", "*.nothing", "emptydir"])
def test_an_argument_naming_no_report_is_an_error(tmp_path, argument):
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(NoInputsError) as err:
        find_inputs([str(tmp_path / argument)])
    assert "\n" not in str(err.value) and argument in str(err.value)


def test_a_batch_records_bad_reports_and_goes_on(reports, tmp_path):
    backend = EchoBackend()
    journal = tmp_path / "out.jsonl"
    summary = run_batch(find_inputs([str(reports)]), backend, journal, concurrency=3)
    records = _by_name(summary.full_records())
    good = [f"{s}.txt" for s in REPORTS] + ["kunshan-gbk.txt"]
    assert {n for n, r in records.items() if r.status == "complete"} == set(good)
    for name in BAD:
        record = records[name]
        assert record.status == "failed" and record.error_stage == "read" and record.result is None
        assert name in record.error and "\n" not in record.error
    figures = {
        name: [(f.indicator, f.value) for f in records[name].result.figures]
        for name in ("kunshan-gbk.txt", "kunshan-2021.txt")
    }
    assert figures["kunshan-gbk.txt"] == figures["kunshan-2021.txt"] != []
    assert (summary.progress.complete, summary.progress.failed) == (len(good), len(BAD))
    assert _by_name(read_records(journal)).keys() == records.keys()
    assert backend.report_calls == len(good)  # unreadable files never reach the backend


def test_rerunning_skips_what_is_done_and_retries_what_failed(reports, tmp_path):
    journal = tmp_path / "out.jsonl"
    inputs = find_inputs([str(reports)])
    first = EchoBackend(raise_on="启东")
    run_batch(inputs, first, journal)
    assert _by_name(read_records(journal))["qidong-2024.txt"].error_stage == "extract"
    second = EchoBackend()
    summary = run_batch(inputs, second, journal)
    assert second.report_calls == 1  # only qidong, the one that failed in the backend
    assert summary.progress.skipped == len(REPORTS)  # the other four and the GBK copy
    assert _by_name(summary.records)["qidong-2024.txt"].status == "complete"
    lines = read_records(journal)
    assert len(lines) == len(inputs)  # the failed line was replaced, not kept beside the new one
    third = EchoBackend()
    run_batch(inputs, third, journal)
    assert third.report_calls == 0


def test_another_model_or_prompt_version_is_new_work(reports, tmp_path):
    journal = tmp_path / "out.jsonl"
    inputs = [reports / "kunshan-2021.txt"]
    run_batch(inputs, EchoBackend(), journal)
    newer = EchoBackend()
    newer.prompt_version = "test-2"
    run_batch(inputs, newer, journal)
    assert newer.report_calls == 1
    assert len(read_records(journal)) == 2


def test_a_rerun_with_another_model_is_new_work(reports, tmp_path):
    """Fails if the resume key drops the model."""
    journal = tmp_path / "out.jsonl"
    inputs = [reports / "kunshan-2021.txt"]
    run_batch(inputs, EchoBackend(), journal)
    other = EchoBackend()
    other.model = "another-model"
    run_batch(inputs, other, journal)
    assert other.report_calls == 1
    assert sorted(r.model for r in read_records(journal)) == ["another-model", "gold-echo"]


def test_an_edited_report_is_run_again_and_its_newest_result_supersedes(reports, tmp_path):
    """Fails if the resume key is the path instead of the bytes."""
    journal = tmp_path / "out.jsonl"
    report = reports / "kunshan-2021.txt"
    run_batch([report], EchoBackend(), journal)
    report.write_text(report.read_text(encoding="utf-8") + "\n（修订）\n", encoding="utf-8")
    after_edit = EchoBackend()
    run_batch([report], after_edit, journal)
    assert after_edit.report_calls == 1
    (kept,) = read_records(journal)  # one line per path: the edited file's result
    assert kept.source_sha256 == file_sha256(report)
    again = EchoBackend()
    run_batch([report], again, journal)
    assert again.report_calls == 0


def test_a_renamed_report_is_still_done(reports, tmp_path):
    """Fails if the resume key is the path: the same bytes under a new name are not rerun."""
    journal = tmp_path / "out.jsonl"
    run_batch([reports / "kunshan-2021.txt"], EchoBackend(), journal)
    renamed = reports / "kunshan-renamed.txt"
    (reports / "kunshan-2021.txt").rename(renamed)
    again = EchoBackend()
    summary = run_batch([renamed], again, journal)
    assert again.report_calls == 0 and summary.progress.skipped == 1


def test_a_torn_last_line_is_recovered_and_only_that_report_redone(reports, tmp_path):
    journal = tmp_path / "out.jsonl"
    inputs = [reports / f"{s}.txt" for s in REPORTS[:1]] + [reports / "more" / f"{REPORTS[1]}.txt"]
    run_batch(inputs, EchoBackend(), journal, concurrency=1)
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) - 40])  # killed while writing the last line
    again = EchoBackend()
    summary = run_batch(inputs, again, journal)
    assert summary.repaired_bytes > 0
    assert again.report_calls == 1
    assert [r.source for r in read_records(journal)] == [str(p) for p in inputs]
    assert all(r.status == "complete" for r in read_records(journal))


class _HoldsSecondReport(EchoBackend):
    """Keeps the second report running until the test lets it finish."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def answer(self, chunks, source):
        if self.report_calls == 1:  # this is the second call
            assert self.release.wait(10)
        return super().answer(chunks, source)


def test_ctrl_c_keeps_running_reports_drops_queued_ones_and_resumes(reports, tmp_path):
    journal = tmp_path / "out.jsonl"
    inputs = [p for s in REPORTS for p in reports.rglob(f"{s}.txt")]
    backend = _HoldsSecondReport()

    def interrupt_after_first(progress):
        if progress.complete == 1:
            # The second report is running; let it finish once the batch has had ample time
            # to drop the queued ones (a generous margin on a loaded machine).
            threading.Timer(0.3, backend.release.set).start()
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(inputs, backend, journal, concurrency=1, on_progress=interrupt_after_first)
    assert [r.source for r in read_records(journal)] == [str(p) for p in inputs[:2]]
    assert journal.read_bytes().endswith(b"\n")
    rest = EchoBackend()
    run_batch(inputs, rest, journal)
    assert rest.report_calls == len(inputs) - 2
    assert len(read_records(journal)) == len(inputs)


def test_a_backend_that_raises_fails_only_its_report(reports, tmp_path):
    backend = EchoBackend(raise_on="昆山")
    summary = run_batch(
        [reports / "kunshan-2021.txt", reports / "qingpu-2023.txt"], backend, tmp_path / "o.jsonl"
    )
    kunshan, qingpu = summary.full_records()
    assert kunshan.status == "failed" and kunshan.error == "RuntimeError: server said no (500)"
    assert qingpu.status == "complete" and qingpu.result.figures


def test_failed_chunks_make_the_report_partial_and_keep_what_verified(reports):
    record = extract_report(reports / "kunshan-2021.txt", EchoBackend(fail_chunks_of="昆山")).record
    assert record.status == record.result.status == "partial" and record.error_stage == "chunks"
    assert record.error.startswith(f"1 of {record.chunks} ") and "timeout" in record.error
    assert record.result.chunk_errors and record.result.failed_chunks == [0]
    assert record.result.verified and record.result.figures


class _FailsEveryChunk(EchoBackend):
    def answer(self, chunks, source):
        return [ChunkAnswer(chunk=c.index, error="connection refused") for c in chunks]


def test_a_report_whose_every_chunk_failed_is_failed_and_not_verified(reports, tmp_path):
    summary = run_batch([reports / "kunshan-2021.txt"], _FailsEveryChunk(), tmp_path / "o.jsonl")
    (record,) = summary.full_records()
    assert record.status == record.result.status == "failed"
    assert record.result.verified is False
    assert record.result.failed_chunks == list(range(record.chunks))
    assert read_records(tmp_path / "o.jsonl")[0].status == "failed"


class _HitsACap(EchoBackend):
    def answer(self, chunks, source):
        answers = super().answer(chunks, source)
        return [answers[0].model_copy(update={"caps_hit": ["max_figures=16"]}), *answers[1:]]


def test_a_chunk_that_hit_a_cap_makes_the_report_partial_and_it_is_redone(reports, tmp_path):
    journal = tmp_path / "o.jsonl"
    (record,) = run_batch([reports / "kunshan-2021.txt"], _HitsACap(), journal).full_records()
    assert record.status == "partial" and record.error_stage == "caps"
    assert record.result.caps_hit == ["chunk 0: max_figures=16"] and record.result.verified
    again = EchoBackend()
    (redone,) = run_batch([reports / "kunshan-2021.txt"], again, journal).records
    assert again.report_calls == 1 and redone.status == "complete"
    assert [r.status for r in read_records(journal)] == ["complete"]  # the newest supersedes


def test_journals_written_before_statuses_read_ok_as_complete(reports, tmp_path):
    journal = tmp_path / "o.jsonl"
    run_batch([reports / "kunshan-2021.txt"], EchoBackend(), journal)
    journal.write_text(
        journal.read_text(encoding="utf-8").replace('"status": "complete"', '"status": "ok"', 1),
        encoding="utf-8",
    )
    assert read_records(journal)[0].status == "complete"
    again = EchoBackend()
    run_batch([reports / "kunshan-2021.txt"], again, journal)
    assert again.report_calls == 0


def test_identical_files_run_once(reports, tmp_path):
    copy = tmp_path / "copy.txt"
    shutil.copy(reports / "kunshan-2021.txt", copy)
    backend = EchoBackend()
    summary = run_batch([reports / "kunshan-2021.txt", copy], backend, tmp_path / "o.jsonl")
    assert backend.report_calls == 1
    assert summary.duplicates == {copy: reports / "kunshan-2021.txt"}
    assert len(summary.records) == 1


def test_concurrency_changes_nothing_but_speed(reports, tmp_path):
    inputs = find_inputs([str(reports)])
    serial = run_batch(inputs, EchoBackend(), tmp_path / "a.jsonl", concurrency=1).full_records()
    parallel = run_batch(inputs, EchoBackend(), tmp_path / "b.jsonl", concurrency=4).full_records()
    assert [(r.source, r.status, r.error, r.result) for r in serial] == [
        (r.source, r.status, r.error, r.result) for r in parallel
    ]


def test_no_resume_starts_the_journal_afresh(reports, tmp_path):
    journal = tmp_path / "out.jsonl"
    inputs = [reports / "kunshan-2021.txt"]
    run_batch(inputs, EchoBackend(), journal)
    backend = EchoBackend()
    run_batch(inputs, backend, journal, resume=False)
    assert backend.report_calls == 1 and len(read_records(journal)) == 1


def test_dry_run_estimates_without_calling_the_backend(reports, tmp_path):
    inputs = find_inputs([str(reports)])
    backend = EchoBackend()
    estimate = estimate_batch(plan_batch(inputs, backend, None), backend)
    assert backend.chunk_calls == 0
    assert estimate.reports == len(REPORTS) + 1 and len(estimate.unreadable) == len(BAD)
    assert estimate.chunks >= estimate.reports
    overhead = prompt_overhead_tokens() * estimate.chunks
    assert overhead > 0  # the prompt files are counted once per chunk
    # the chunks are counted at the shared estimate's rates: between all-ASCII and all-Chinese
    text_tokens = estimate.prompt_tokens - overhead
    assert (
        estimate.characters * TOKENS_PER_ASCII_CHAR
        < text_tokens
        <= estimate.characters * TOKENS_PER_NON_ASCII_CHAR
    )
    assert 0 < estimate.completion_tokens < estimate.prompt_tokens
    assert estimate.cost(1.0, 2.0) == pytest.approx(
        (estimate.prompt_tokens + 2 * estimate.completion_tokens) / 1e6
    )
    assert estimate.cost(None, None) is None


def test_dry_run_uses_the_backends_own_estimate_and_zero_for_rules(reports):
    inputs = [reports / "kunshan-2021.txt"]
    own = estimate_batch(plan_batch(inputs, SelfEstimatingEcho(), None), SelfEstimatingEcho())
    assert (own.prompt_tokens, own.completion_tokens) == (1000 * own.chunks, 100 * own.chunks)
    rules = estimate_batch(plan_batch(inputs, RulesNamedEcho(), None), RulesNamedEcho())
    assert (rules.prompt_tokens, rules.completion_tokens) == (0, 0) and "no model" in rules.method


def test_dry_run_skips_reports_already_done(reports, tmp_path):
    journal = tmp_path / "out.jsonl"
    inputs = [reports / "kunshan-2021.txt", reports / "qingpu-2023.txt"]
    run_batch(inputs[:1], EchoBackend(), journal)
    estimate = estimate_batch(plan_batch(inputs, EchoBackend(), journal), EchoBackend())
    assert (estimate.reports, estimate.skipped) == (1, 1)
