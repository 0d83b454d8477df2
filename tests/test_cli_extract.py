"""``fazhi extract``, ``fazhi show`` and ``fazhi cache`` end to end, plus settings precedence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fazhi.cli import app
from fazhi.cli.config import EXTRACT_SETTINGS, ConfigError, read_config_file, settle
from fazhi.export import read_records
from fazhi.model import Result
from tests.batch_fakes import BAD, EchoBackend, make_report_folder
from tests.conftest import CORPUS, REPORTS

runner = CliRunner()
KUNSHAN = str(CORPUS / "kunshan-2021.txt")


def fazhi(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch, tmp_path):
    """A user's own environment or fazhi.toml must not steer these tests."""
    for setting in EXTRACT_SETTINGS.values():
        if setting.env:
            monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def echo(monkeypatch) -> dict:
    """Make every backend name build one EchoBackend; records what the CLI asked for."""
    seen: dict = {"backend": EchoBackend()}

    def fake_make_backend(name, options, **_kw):
        seen["name"], seen["options"] = name, options
        return seen["backend"]

    monkeypatch.setattr("fazhi.cli.extract_cmd.make_backend", fake_make_backend)
    return seen


def test_a_folder_run_writes_the_good_reports_and_exits_1_for_the_bad(tmp_path):
    pytest.importorskip("fazhi.backends.rules")
    folder = make_report_folder(tmp_path / "reports")
    result = fazhi(
        "extract", str(folder), "-o", "out.jsonl", "--backend", "rules", "--csv", "panel.csv"
    )
    assert result.exit_code == 1, result.output
    records = read_records(tmp_path / "out.jsonl")
    assert sorted(r.status for r in records) == ["complete"] * (len(REPORTS) + 1) + [
        "failed"
    ] * len(BAD)
    failed_lines = [line for line in result.stderr.splitlines() if line.startswith("  failed: ")]
    assert sorted(Path(line.split(": ")[1]).name for line in failed_lines) == sorted(BAD)
    assert all(r.backend == "rules" and r.prompt_version for r in records)
    pd = pytest.importorskip("pandas")
    panel = pd.read_csv(tmp_path / "panel.csv")
    assert len(panel) == sum(len(r.result.figures) for r in records if r.result) > 0
    again = fazhi("extract", str(folder), "-o", "out.jsonl", "--backend", "rules")
    assert again.exit_code == 1 and f"{len(REPORTS) + 1} already done" in again.stderr
    assert len(read_records(tmp_path / "out.jsonl")) == len(records)


def test_one_report_goes_to_stdout_as_a_result(echo):
    result = fazhi("extract", KUNSHAN)
    assert result.exit_code == 0, result.output
    parsed = Result.model_validate_json(result.stdout)
    assert parsed.verified and parsed.figures and parsed.backend == "echo"


def test_one_report_with_o_writes_the_text_beside_and_show_finds_it(echo, tmp_path):
    (tmp_path / "res").mkdir()
    assert fazhi("extract", KUNSHAN, "-o", "res/kunshan.json").exit_code == 0
    beside = tmp_path / "res" / "kunshan.source.txt"
    result = Result.model_validate_json(
        (tmp_path / "res" / "kunshan.json").read_text(encoding="utf-8")
    )
    text = beside.read_text(encoding="utf-8")
    assert all(text[slice(*f.span)] == f.quote for f in result.figures)
    shown = fazhi("show", "res/kunshan.json", "-o", "view.html")
    assert shown.exit_code == 0, shown.output
    page = (tmp_path / "view.html").read_text(encoding="utf-8")
    assert all(f'data-f="{i}"' in page for i in range(len(result.figures)))


def test_show_refuses_a_source_the_offsets_do_not_fit(echo, tmp_path):
    fazhi("extract", KUNSHAN, "-o", "kunshan.json")
    shown = fazhi("show", "kunshan.json", "--source", str(CORPUS / "qidong-2024.txt"))
    assert shown.exit_code == 2
    assert "not the text this result's offsets refer to" in shown.stderr
    assert len(shown.stderr.strip().splitlines()) == 1


def test_show_picks_one_report_out_of_a_journal(echo, tmp_path):
    fazhi("extract", str(CORPUS), "-o", "out.jsonl")
    # without --pick a journal is shown as its batch summary page (tests/test_summary_view.py)
    assert fazhi("show", "out.jsonl", "-o", "all.html").exit_code == 0
    assert "Coverage" in (tmp_path / "all.html").read_text(encoding="utf-8")
    assert fazhi("show", "out.jsonl", "--pick", "2", "-o", "x.html").exit_code == 2  # which one?
    shown = fazhi("show", "out.jsonl", "--pick", "qidong", "-o", "qidong.html")
    assert shown.exit_code == 0, shown.output  # the stored relative path is found from here
    assert "qidong-2024.txt" in (tmp_path / "qidong.html").read_text(encoding="utf-8")


def test_show_picks_the_newest_of_several_results_for_one_report(echo, tmp_path):
    shutil.copy(KUNSHAN, tmp_path / "kunshan.txt")
    shutil.copy(CORPUS / f"{REPORTS[1]}.txt", tmp_path / "other.txt")
    fazhi("extract", "kunshan.txt", "other.txt", "-o", "out.jsonl")
    newer = EchoBackend()
    newer.model = "newer-model"
    echo["backend"] = newer
    fazhi("extract", "kunshan.txt", "other.txt", "-o", "out.jsonl")
    assert [r.model for r in read_records(tmp_path / "out.jsonl")].count("newer-model") == 2
    shown = fazhi("show", "out.jsonl", "--pick", "kunshan", "-o", "k.html")
    assert shown.exit_code == 0, shown.output
    assert "2 results for kunshan.txt" in shown.stderr and "newer-model" in shown.stderr
    assert "newer-model" in (tmp_path / "k.html").read_text(encoding="utf-8")
    assert fazhi("show", "out.jsonl", "--pick", ".txt", "-o", "x.html").exit_code == 2


def test_a_report_that_fails_in_the_backend_exits_1(monkeypatch, echo):
    echo["backend"] = EchoBackend(raise_on="昆山")
    result = fazhi("extract", KUNSHAN)
    assert result.exit_code == 1
    assert result.stderr.strip() == "fazhi extract: failed: RuntimeError: server said no (500)"


def test_rejections_are_output_unless_strict(echo):
    echo["backend"] = EchoBackend(invent=True)
    plain = fazhi("extract", KUNSHAN)
    assert plain.exit_code == 0
    assert Result.model_validate_json(plain.stdout).rejected
    assert fazhi("extract", KUNSHAN, "--strict").exit_code == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["nothing-here.txt"], "nothing-here.txt: no such file or folder"),
        (["*.nomatch"], "*.nomatch: pattern matches no"),
        ([str(CORPUS)], "give -o OUT.jsonl"),
        ([str(CORPUS), "-o", "out.json"], "name it OUT.jsonl"),
        ([KUNSHAN, "--backend", "gpt"], "unknown backend 'gpt'"),
        ([KUNSHAN, "--backend", "llm"], "needs a model"),
    ],
)
def test_bad_invocations_exit_2_with_one_line(args, message):
    result = fazhi("extract", *args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_unreadable_single_report_is_bad_input(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    result = fazhi("extract", "empty.txt", "--backend", "rules")
    assert result.exit_code == 2 and result.stderr.strip() == "fazhi extract: empty.txt: empty file"


def test_dry_run_prints_the_estimate_and_calls_nothing(echo):
    result = fazhi(
        "extract",
        str(CORPUS),
        "-o",
        "out.jsonl",
        "--dry-run",
        "--price-in",
        "1",
        "--price-out",
        "2",
    )
    assert result.exit_code == 0, result.output
    assert echo["backend"].chunk_calls == 0
    assert "reports to run      5" in result.stdout and "estimated cost" in result.stdout
    assert "tokens and cost are estimates" in result.stdout and "rough estimate" in result.stdout
    assert not Path("out.jsonl").exists()


def test_dry_run_of_the_rules_backend_costs_nothing():
    pytest.importorskip("fazhi.backends.rules")
    result = fazhi("extract", KUNSHAN, "--backend", "rules", "--dry-run", "--price-in", "1")
    assert result.exit_code == 0
    assert (
        "calls no model: 0 tokens" in result.stdout
        and "estimated cost      0.0000" in result.stdout
    )


def test_concurrency_is_shared_between_reports_and_chunks(echo):
    fazhi("extract", KUNSHAN, "--concurrency", "6")
    assert echo["options"].concurrency == 6  # one report: all of it for its chunks
    fazhi("extract", str(CORPUS), "-o", "out.jsonl", "--concurrency", "6")
    assert echo["options"].concurrency == 1  # five reports at once, one chunk each
    fazhi(
        "extract", KUNSHAN, str(CORPUS / "qidong-2024.txt"), "-o", "two.jsonl", "--concurrency", "6"
    )
    assert echo["options"].concurrency == 3


def test_settings_come_from_flags_then_env_then_fazhi_toml(echo, monkeypatch, tmp_path):
    (tmp_path / "fazhi.toml").write_text(
        '[extract]\nbackend = "llm"\nmodel = "from-file"\nconcurrency = 2\n'
    )
    fazhi("extract", KUNSHAN)
    assert (
        echo["name"] == "llm"
        and echo["options"].model == "from-file"
        and echo["options"].concurrency == 2
    )
    monkeypatch.setenv("FAZHI_MODEL", "from-env")
    fazhi("extract", KUNSHAN)
    assert echo["options"].model == "from-env"
    fazhi("extract", KUNSHAN, "--model", "from-flag", "--backend", "rules")
    assert echo["options"].model == "from-flag" and echo["name"] == "rules"


def test_settle_converts_env_and_checks_the_file():
    settled = settle(
        {"model": None}, EXTRACT_SETTINGS, {"chunk_size": 1500}, {"FAZHI_CONCURRENCY": "8"}
    )
    assert (settled["concurrency"], settled["chunk_size"], settled["backend"]) == (8, 1500, "auto")
    with pytest.raises(ConfigError, match="FAZHI_CONCURRENCY"):
        settle({}, EXTRACT_SETTINGS, {}, {"FAZHI_CONCURRENCY": "many"})
    with pytest.raises(ConfigError, match="concurrency must be an integer"):
        settle({}, EXTRACT_SETTINGS, {"concurrency": "4"}, {})
    with pytest.raises(ConfigError, match="unknown setting 'modle'"):
        settle({}, EXTRACT_SETTINGS, {"modle": "x"}, {})


def test_a_broken_fazhi_toml_is_one_line_exit_2(tmp_path):
    (tmp_path / "fazhi.toml").write_text("[extract\nbackend = rules\n")
    with pytest.raises(ConfigError):
        read_config_file("extract", tmp_path)
    result = fazhi("extract", KUNSHAN)
    assert result.exit_code == 2 and "fazhi.toml: not valid TOML" in result.stderr


def test_cache_stats_and_clear(tmp_path):
    pytest.importorskip("fazhi.llm.cache")
    from fazhi.llm.cache import AnswerCache

    cache = AnswerCache(tmp_path / "cache")
    cache.put("k1", "{}")
    cache.put("k2", "{}")
    cache.close()
    stats = fazhi("cache", "stats", "--cache-dir", str(tmp_path / "cache"))
    assert (
        stats.exit_code == 0
        and "entries   2" in stats.stdout
        and str(tmp_path / "cache") in stats.stdout
    )
    cleared = fazhi("cache", "clear", "--cache-dir", str(tmp_path / "cache"))
    assert cleared.exit_code == 0 and "cleared 2" in cleared.stdout
    assert "entries   0" in fazhi("cache", "stats", "--cache-dir", str(tmp_path / "cache")).stdout
    assert (
        "no cache folder yet"
        in fazhi("cache", "stats", "--cache-dir", str(tmp_path / "none")).stdout
    )
    assert (
        "nothing to clear" in fazhi("cache", "clear", "--cache-dir", str(tmp_path / "none")).stdout
    )
    assert not (tmp_path / "none").exists()  # looking does not create a cache


@pytest.mark.parametrize(
    "command", [["extract"], ["show"], ["cache"], ["cache", "stats"], ["cache", "clear"]]
)
def test_every_command_has_help_with_an_example(command):
    result = fazhi(*command, "--help")
    assert result.exit_code == 0 and "Example" in result.stdout


def test_version_and_schema_still_work():
    assert fazhi("--version").stdout.startswith("fazhi ")
    assert "reconsideration.received" in fazhi("schema").stdout


def test_a_copy_of_the_corpus_is_found_through_a_glob(echo, tmp_path):
    for stem in REPORTS[:2]:
        shutil.copy(CORPUS / f"{stem}.txt", tmp_path / f"{stem}.txt")
    result = fazhi("extract", "*.txt", "-o", "out.jsonl")
    assert result.exit_code == 0, result.output
    assert (
        json.loads(Path("out.jsonl").read_text(encoding="utf-8").splitlines()[0])["status"]
        == "complete"
    )


def test_an_llm_batch_against_a_local_replay_server_resumes_without_calls(monkeypatch, tmp_path):
    """The real LLM backend over HTTP (a synthetic echo server, not a model): the journal
    records tokens, and a rerun asks the server nothing."""
    pytest.importorskip("fazhi.backends.llm")
    replay = pytest.importorskip("fazhi.testing.replay_server")
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    reports = [str(CORPUS / f"{stem}.txt") for stem in REPORTS[:2]]
    with replay.ReplayServer(mode="echo") as server:
        args = [
            "extract",
            *reports,
            "-o",
            "out.jsonl",
            "--backend",
            "llm",
            "--model",
            "echo",
            "--base-url",
            server.url,
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
        first = fazhi(*args)
        assert first.exit_code == 0, first.output
        records = read_records(tmp_path / "out.jsonl")
        calls = sum(r.usage.calls for r in records)
        assert server.stats.requests == calls == sum(r.chunks for r in records) > 0
        assert all(
            r.backend == "llm" and r.model == "echo" and r.usage.prompt_tokens > 0 for r in records
        )
        again = fazhi(*args)
        assert again.exit_code == 0 and "2 already done" in again.stderr
        assert server.stats.requests == calls


def test_dry_run_of_the_llm_backend_prints_its_estimate_and_what_it_assumes():
    from fazhi.backends.llm import LLMBackend
    from fazhi.chunking import chunk_source
    from fazhi.ingest import read_source

    url = "http://127.0.0.1:9/v1"  # nothing listens there: a dry run must not call
    result = fazhi(
        "extract",
        KUNSHAN,
        "--backend",
        "llm",
        "--model",
        "m",
        "--base-url",
        url,
        "--no-cache",
        "--dry-run",
        "--llm-style",
        "quote",
    )
    assert result.exit_code == 0, result.output
    backend = LLMBackend(model="m", base_url=url, use_cache=False)
    prompt, completion = backend.estimate_tokens(
        chunk_source(read_source(Path(KUNSHAN)), size=backend.preferred_chunk_size)
    )
    assert f"prompt tokens       ~{prompt:,}" in result.stdout
    assert f"completion tokens   ~{completion:,}" in result.stdout
    assert "are estimates" in result.stdout and "re-asked" in result.stdout


def test_timeout_and_max_reasks_reach_the_llm_backend(monkeypatch):
    """A slow local model needs a longer wait than the default; flags and env must get through."""
    from fazhi.cli import extract_cmd
    from fazhi.cli.config import EXTRACT_SETTINGS, settle

    flags = {"backend": "llm", "model": "m", "base_url": "http://127.0.0.1:9/v1", "timeout": 600.0}
    monkeypatch.setenv("FAZHI_MAX_REASKS", "1")
    settings = settle(flags, EXTRACT_SETTINGS, {})
    engine = extract_cmd._build_backend(settings, no_cache=True, reports=1)
    assert engine.endpoint.timeout == 600.0 and engine.max_reasks == 1
    defaults = extract_cmd._build_backend(
        settle({**flags, "timeout": None}, EXTRACT_SETTINGS, {}, {}), True, 1
    )
    assert defaults.endpoint.timeout == 120.0 and defaults.max_reasks == 2


# --- statuses and exit codes ------------------------------------------------------------------


def test_a_partial_report_says_so_in_json_csv_and_exit_code(echo, tmp_path):
    echo["backend"] = EchoBackend(fail_chunks_of="昆山")
    result = fazhi("extract", KUNSHAN, "-o", "k.json", "--csv", "k.csv")
    assert result.exit_code == 3, result.output
    saved = Result.model_validate_json((tmp_path / "k.json").read_text(encoding="utf-8"))
    assert saved.status == "partial" and saved.failed_chunks == [0] and saved.verified
    assert "fazhi extract: partial: 1 of " in result.stderr
    pd = pytest.importorskip("pandas")
    assert set(pd.read_csv(tmp_path / "k.csv")["status"]) == {"partial"}


def test_a_batch_exit_code_follows_the_worst_status(echo, tmp_path):
    for stem in REPORTS[:2]:
        shutil.copy(CORPUS / f"{stem}.txt", tmp_path / f"{stem}.txt")
    assert fazhi("extract", "*.txt", "-o", "all.jsonl").exit_code == 0
    echo["backend"] = EchoBackend(fail_chunks_of="昆山")
    partial = fazhi("extract", "*.txt", "-o", "partial.jsonl")
    assert partial.exit_code == 3
    assert "2 reports: 1 complete, 1 partial, 0 failed" in partial.stderr
    # the summary line of a chunk failure names the report
    assert f"  partial: {REPORTS[0]}.txt: 1 of " in partial.stderr
    echo["backend"] = EchoBackend(fail_chunks_of="昆山", raise_on="启东")
    worst = fazhi("extract", "*.txt", "-o", "worst.jsonl")
    assert worst.exit_code == 1 and f"  failed: {REPORTS[1]}.txt: RuntimeError" in worst.stderr


# --- where the output goes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "target, message",
    [
        ("report.txt", "is the input report; refusing to overwrite it"),
        ("./report.txt", "is the input report"),
        ("folder", "is a folder"),
        ("missing/out.json", "folder missing does not exist"),
        ("report.txt/out.json", "is not a folder"),
    ],
)
def test_a_bad_output_path_is_one_line_exit_2_and_nothing_is_written(tmp_path, target, message):
    report = tmp_path / "report.txt"
    shutil.copy(KUNSHAN, report)
    (tmp_path / "folder").mkdir()
    before = report.read_bytes()
    result = fazhi("extract", "report.txt", "--backend", "rules", "-o", target)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert report.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "report.txt"]


def test_csv_over_the_input_or_a_journal_named_as_the_input_are_refused(tmp_path):
    shutil.copy(KUNSHAN, tmp_path / "a.txt")
    shutil.copy(CORPUS / f"{REPORTS[1]}.txt", tmp_path / "b.txt")
    before = (tmp_path / "a.txt").read_bytes()
    for extra in (["-o", "out.jsonl", "--csv", "a.txt"], ["-o", str(tmp_path / "b.txt")]):
        result = fazhi("extract", "a.txt", "b.txt", "--backend", "rules", *extra)
        assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "a.txt").read_bytes() == before


def test_an_unwritable_output_folder_is_one_line_exit_2(tmp_path, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("fazhi.cli.output_paths.tempfile.TemporaryFile", refuse)
    result = fazhi("extract", KUNSHAN, "--backend", "rules", "-o", "out.json")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "fazhi extract: -o out.json: cannot write in . (permission denied)"
    )


def test_a_disk_that_fills_up_while_writing_is_one_line_exit_2(tmp_path, monkeypatch):
    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device", "out.jsonl")

    monkeypatch.setattr("fazhi.export.jsonl.append_record", full)
    shutil.copy(KUNSHAN, tmp_path / "a.txt")
    result = fazhi("extract", "a.txt", "-o", "out.jsonl", "--backend", "rules")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "fazhi extract: cannot write out.jsonl: no space left on device"
    )


def test_the_help_documents_statuses_exit_codes_and_the_deadline():
    shown = " ".join(fazhi("extract", "--help").stdout.split())
    for words in ("complete (every chunk answered)", "3 none failed but some are partial",
                  "130 interrupted", "--deadline"):  # fmt: skip
        assert words in shown


class _Slow(EchoBackend):
    def answer(self, chunks, source):
        import time

        time.sleep(4)
        return super().answer(chunks, source)


def test_a_single_report_past_the_deadline_fails_at_once_and_writes_nothing(echo, tmp_path):
    import time

    echo["backend"] = _Slow()
    started = time.monotonic()
    result = fazhi("extract", KUNSHAN, "-o", "k.json", "--deadline", "1")
    assert time.monotonic() - started < 3.5  # did not wait for the backend
    assert result.exit_code == 1
    assert "failed:" in result.stderr and "deadline of 1 s" in result.stderr
    assert not (tmp_path / "k.json").exists()
