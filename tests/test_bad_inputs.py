"""Bad input at the command line: one clear line on stderr, the right exit code, no traceback,
and the other reports of the same run unaffected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fazhi.cli import app
from tests.conftest import CORPUS, GOLD, report_text

runner = CliRunner()
KUNSHAN_TXT = CORPUS / "kunshan-2021.txt"
KUNSHAN_GOLD = GOLD / "kunshan-2021.json"
FAZHI = str(Path(sys.executable).parent / "fazhi")  # the installed console script
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def one_line_error(stderr: str, *must_contain: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {stderr!r}"
    assert "Traceback" not in stderr
    for needle in must_contain:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- bad report files, each made in tmp_path ------------------------------------------------


def _missing(tmp: Path) -> Path:
    return tmp / "nowhere.txt"


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.txt"
    path.write_bytes(b"")
    return path


def _blank(tmp: Path) -> Path:
    path = tmp / "blank.txt"
    path.write_text(" \n\u3000\n", encoding="utf-8")
    return path


def _binary(tmp: Path) -> Path:
    path = tmp / "binary.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    return path


def _undecodable(tmp: Path) -> Path:
    # Control bytes that no text encoding turns into a readable report.
    path = tmp / "garbled.txt"
    path.write_bytes(bytes([0x81, 0x01, 0x02, 0xFE, 0x03, 0x90, 0x04]) * 500)
    return path


def _unsupported(tmp: Path) -> Path:
    path = tmp / "report.xlsx"
    path.write_bytes(b"PK\x03\x04 not a report type")
    return path


def _folder(tmp: Path) -> Path:
    path = tmp / "folder.txt"
    path.mkdir()
    return path


def _scanned_pdf(tmp: Path) -> Path:
    """A PDF with pages but no text layer (only drawn shapes), like a scan without OCR."""
    from reportlab.pdfgen import canvas

    path = tmp / "scanned.pdf"
    pdf = canvas.Canvas(str(path))
    for _ in range(2):
        pdf.rect(72, 72, 300, 500, fill=1)
        pdf.showPage()
    pdf.save()
    return path


def _unreadable(tmp: Path) -> Path:
    """A report file that exists but cannot be read. chmod 000 does not stop root, so as root
    the file is a symlink to ``/proc/self/mem``, whose first page no process can read (EIO)."""
    path = tmp / "unreadable.txt"
    if IS_ROOT:
        if not Path("/proc/self/mem").exists():
            pytest.skip("running as root without /proc/self/mem: no way to make a file unreadable")
        path.symlink_to("/proc/self/mem")
    else:
        path.write_text(report_text("kunshan-2021"), encoding="utf-8")
        path.chmod(0)
    return path


BAD_REPORTS = {
    "missing": (_missing, "no such file"),
    "empty": (_empty, "empty"),
    "blank": (_blank, "empty"),
    "binary": (_binary, "binary"),
    "undecodable": (_undecodable, "binary"),
    "unsupported": (_unsupported, "unsupported file type"),
    "folder": (_folder, "directory"),
    "scanned_pdf": (_scanned_pdf, "no text layer"),
    "unreadable": (_unreadable, "cannot read"),
}


# --- fazhi verify ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD_REPORTS))
def test_verify_bad_report_exits_2_with_one_line(tmp_path, case):
    make, reason = BAD_REPORTS[case]
    report = make(tmp_path)
    result = runner.invoke(app, ["verify", str(KUNSHAN_GOLD), "--source", str(report)])
    assert result.exit_code == 2
    one_line_error(result.stderr, "fazhi verify:", report.name, reason)
    assert result.stdout == ""


BAD_RESULTS = {
    "missing": (lambda tmp: tmp / "none.json", "no such file"),
    "not_json": (lambda tmp: _write(tmp / "r.json", "{figures: ["), "not valid JSON"),
    "not_an_object": (lambda tmp: _write(tmp / "r.json", "[1, 2]"), "not a result"),
    "wrong_field": (
        lambda tmp: _write(tmp / "r.json", '{"figures": [], "figuers": []}'),
        "figuers",
    ),
    "bad_figure": (
        lambda tmp: _write(tmp / "r.json", '{"figures": [{"value": "x"}]}'),
        "not a result",
    ),
    "binary": (lambda tmp: _binary(tmp).rename(tmp / "r.json"), "cannot read"),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(BAD_RESULTS))
def test_verify_bad_result_file_exits_2_with_one_line(tmp_path, case):
    make, reason = BAD_RESULTS[case]
    result_file = make(tmp_path)
    result = runner.invoke(app, ["verify", str(result_file), "--source", str(KUNSHAN_TXT)])
    assert result.exit_code == 2
    one_line_error(result.stderr, "fazhi verify:", reason)


@pytest.mark.parametrize("encoding", ["gb18030", "big5", "utf-16"])
def test_verify_reads_a_report_saved_in_another_encoding(tmp_path, encoding):
    """A report in GB18030/Big5/UTF-16 is not bad input: the same gold verifies on it."""
    stem = "sucheng-2020" if encoding == "big5" else "kunshan-2021"  # Big5 needs traditional script
    report = tmp_path / f"{stem}.txt"
    report.write_bytes(report_text(stem).encode(encoding))
    result = runner.invoke(app, ["verify", str(GOLD / f"{stem}.json"), "--source", str(report)])
    assert result.exit_code == 0, result.stderr
    assert "rejected: 0" in result.stderr


def test_verify_from_a_real_process_prints_one_line_and_exits_2(tmp_path):
    """The installed entry point, not just the in-process runner."""
    proc = subprocess.run(
        [FAZHI, "verify", str(KUNSHAN_GOLD), "-s", str(_binary(tmp_path))],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    one_line_error(proc.stderr, "binary.txt")


def _huge_report(tmp: Path, megabytes: int = 50) -> Path:
    seed = report_text("kunshan-2021")
    path = tmp / "huge.txt"
    with path.open("w", encoding="utf-8") as out:
        while out.tell() < megabytes * 1_000_000:
            out.write(seed)
    return path


@pytest.mark.slow
def test_verify_huge_report_still_answers(tmp_path):
    """50 MB of text (the seed report repeated): verified, not crashed or refused."""
    huge = _huge_report(tmp_path)
    result = runner.invoke(app, ["verify", str(KUNSHAN_GOLD), "--source", str(huge)])
    assert result.exit_code == 0, result.stderr


# --- fazhi extract ----------------------------------------------------------------------------


def _extract(*args: str | Path, env: dict | None = None):
    return runner.invoke(app, ["extract", "--backend", "rules", *map(str, args)], env=env)


# extract reads a folder as a folder of reports (an empty one names no report).
EXTRACT_REASONS = {"folder": "folder holds no"}


@pytest.mark.parametrize("case", sorted(BAD_REPORTS))
def test_extract_one_bad_report_exits_2_with_one_line(tmp_path, case):
    make, reason = BAD_REPORTS[case]
    reason = EXTRACT_REASONS.get(case, reason)
    report = make(tmp_path)
    result = _extract(report, "-o", tmp_path / "out.json")
    assert result.exit_code == 2
    one_line_error(result.stderr, "fazhi extract:", report.name, reason)
    assert not (tmp_path / "out.json").exists()


def test_extract_with_no_inputs_exits_2(tmp_path):
    (tmp_path / "notes.md").write_text("not a report", encoding="utf-8")
    for args in ([tmp_path], [str(tmp_path / "*.pdf")], [tmp_path / "gone"]):
        result = _extract(*args, "-o", tmp_path / "out.jsonl")
        assert result.exit_code == 2
        one_line_error(result.stderr, "fazhi extract:")


def test_bad_reports_in_a_batch_fail_alone_and_the_others_are_unaffected(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    good = ["kunshan-2021", "qingpu-2023"]
    for stem in good:
        (folder / f"{stem}.txt").write_text(report_text(stem), encoding="utf-8")
    bad = [
        make(folder)
        for make, _ in (
            BAD_REPORTS[c] for c in ("empty", "binary", "undecodable", "scanned_pdf", "unreadable")
        )
    ]
    journal = tmp_path / "out.jsonl"
    result = _extract(folder, "-o", journal)
    assert result.exit_code == 1
    from fazhi.export.jsonl import read_records

    records = {Path(r.source).name: r for r in read_records(journal)}
    assert set(records) == {f"{s}.txt" for s in good} | {p.name for p in bad}
    for path in bad:
        record = records[path.name]
        assert record.status == "failed" and record.error_stage == "read"
        assert "\n" not in record.error and path.name in record.error
        assert sum(path.name in line for line in result.stderr.splitlines()) == 1
    for stem in good:  # the same result as extracting the report on its own
        alone = _extract(CORPUS / f"{stem}.txt")
        assert alone.exit_code == 0, alone.stderr
        from fazhi.model import Result

        expected = Result.model_validate_json(alone.stdout).model_dump(exclude={"source"})
        assert records[f"{stem}.txt"].result.model_dump(exclude={"source"}) == expected


HUGE_EXTRACT_SECONDS = 300


@pytest.mark.slow
def test_extract_huge_report_finishes_in_minutes(tmp_path):
    """50 MB of text (the seed report repeated) through the rules backend, in a real process
    that is stopped after five minutes."""
    huge = _huge_report(tmp_path)
    try:
        proc = subprocess.run(
            [FAZHI, "extract", "--backend", "rules", str(huge), "-o", str(tmp_path / "huge.json")],
            capture_output=True, text=True, timeout=HUGE_EXTRACT_SECONDS,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"fazhi extract on a 50 MB report ran over {HUGE_EXTRACT_SECONDS} s")
    assert proc.returncode == 0, proc.stderr
    from fazhi.model import Result

    result = Result.model_validate_json((tmp_path / "huge.json").read_text(encoding="utf-8"))
    assert result.status == "complete" and result.verified and not result.failed_chunks
    alone = Result.model_validate_json(_extract(CORPUS / "kunshan-2021.txt").stdout)
    # the seed's figures are found in the repeated text (restatements collapse to the first)
    assert {(f.indicator, f.value) for f in alone.figures} <= {
        (f.indicator, f.value) for f in result.figures
    }
    assert len(result.figures) >= len(alone.figures) > 0
    shown = (tmp_path / "huge.source.txt").read_text(encoding="utf-8")
    for figure in result.figures:  # every figure verified: its quote sits at its span
        assert figure.span is not None and figure.raw_span is not None
        assert "".join(shown[figure.span[0] : figure.span[1]].split()) == "".join(
            figure.quote.split()
        )
        assert shown[figure.raw_span[0] : figure.raw_span[1]] == figure.raw


# --- API keys never leak ----------------------------------------------------------------------

PLANTED_KEY = "sk-planted-" + "7f3a9c" * 6


def _files_holding(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_an_api_key_never_reaches_cache_output_logs_errors_or_cassettes(tmp_path):
    pytest.importorskip("fazhi.backends.llm")
    import hashlib

    from fazhi.testing.faults import parse_schedule
    from fazhi.testing.replay_server import ReplayServer

    folder = tmp_path / "reports"
    folder.mkdir()
    for stem in ("kunshan-2021", "qingpu-2023"):
        (folder / f"{stem}.txt").write_text(report_text(stem), encoding="utf-8")
    cache, journal = tmp_path / "cache", tmp_path / "out.jsonl"
    # Retries (logged as warnings) and one chunk that fails for good (an error message) give
    # the key every chance to show up in a log line or an error. 429s with a tiny Retry-After
    # keep the CLI's default backoff (seconds per retry) out of the test's time.
    faults = parse_schedule("rate_limit:contains=审结103件;rate_limit:p=0.3,seed=1,times=1")
    env = {**os.environ, "OPENAI_API_KEY": PLANTED_KEY, "FAZHI_CACHE_DIR": str(cache),
           "OPENAI_LOG": "debug", "FAZHI_BACKEND": "llm", "FAZHI_MODEL": "replay",
           "FAZHI_LLM_STYLE": "quote"}  # fmt: skip
    with ReplayServer(mode="echo", faults=faults, retry_after=0.01) as server:
        proc = subprocess.run(
            [FAZHI, "extract", str(folder), "-o", str(journal), "--base-url", server.url,
             "--chunk-size", "1000"],
            capture_output=True, env=env, timeout=120,
        )  # fmt: skip
    sent = hashlib.sha256(PLANTED_KEY.encode()).hexdigest()
    assert server.stats.credentials[sent] == server.stats.requests > 0  # the key WAS used
    # one chunk failed for good: that report is partial, exit 3
    assert server.stats.faults["rate_limit"] > 5 and proc.returncode == 3, proc.stderr.decode()[
        -500:
    ]
    needle = PLANTED_KEY.encode()
    assert needle not in proc.stdout and needle not in proc.stderr
    assert b"planted" not in proc.stderr  # not even a fragment of it
    from fazhi.llm.cache import AnswerCache

    assert len(AnswerCache(cache)) > 0  # answers were cached, so the search below means something
    assert _files_holding(cache, needle) == []
    assert needle not in journal.read_bytes()
    cassettes = Path(__file__).resolve().parents[1] / "cassettes"
    if cassettes.exists():
        assert _files_holding(cassettes, b"sk-") == []
        assert _files_holding(cassettes, b"Bearer ") == []
