"""Secrets in URLs and keys never reach what fazhi prints or writes, with OPENAI_LOG=debug too.
Runs against a loopback replay server (synthetic echo answers, NOT a model)."""

from __future__ import annotations

import io
import logging

import pytest

from fazhi.llm.client import LLMConfigError, resolve_endpoint
from fazhi.llm.redact import install_log_redaction, redact
from fazhi.testing.replay_server import ReplayServer
from tests.llm_faults_support import cli, small_reports

# --- 4. secrets in URLs never printed ------------------------------------------------------------

PLANTED = "planted-Secret-7f3a9"  # a password and a key that must appear nowhere we write


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"http://user:{PLANTED}@127.0.0.1:8080/v1", "http://***@127.0.0.1:8080/v1"),
        (f"https://{PLANTED}@api.example.com/v1", "https://***@api.example.com/v1"),
        (
            f"https://h.example.com/v1?api-version=2&api-key={PLANTED}",
            "https://h.example.com/v1?api-version=2&api-key=***",
        ),  # fmt: skip
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("see http://a.example/v1 and mailto:x@y", "see http://a.example/v1 and mailto:x@y"),
    ],
)
def test_redact_masks_url_credentials_and_secret_query_values(url, shown):
    assert redact(url) == shown


@pytest.mark.parametrize("where", ["flag", "environment"])
def test_a_base_url_with_credentials_is_refused_in_one_line_without_the_password(
    monkeypatch, where
):
    url = f"http://user:{PLANTED}@127.0.0.1:8080/v1"
    if where == "environment":
        monkeypatch.setenv("OPENAI_BASE_URL", url)
    with pytest.raises(LLMConfigError) as refused:
        resolve_endpoint("m", url if where == "flag" else None)
    message = str(refused.value)
    assert PLANTED not in message and "\n" not in message
    assert "http://***@127.0.0.1:8080/v1" in message and "--api-key-env" in message


def test_the_log_filter_masks_urls_in_openai_and_httpx_debug_records():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_log_redaction()
        for name in ("openai._base_client", "httpx2", "fazhi.llm"):
            logger = logging.getLogger(name)
            level = logger.level
            logger.setLevel(logging.DEBUG)
            logger.debug("HTTP Request: POST %s", f"http://u:{PLANTED}@127.0.0.1:1/v1/chat")
            logger.setLevel(level)
    finally:
        root.removeHandler(handler)
    written = stream.getvalue()
    assert written.count("http://***@127.0.0.1:1/v1/chat") == 3 and PLANTED not in written


def test_no_planted_secret_reaches_output_journal_cache_or_debug_logs(tmp_path):
    """With OPENAI_LOG=debug: a URL with a password is refused without printing it, and a
    planted API key reaches the server but no stdout, stderr, journal, result or cache file."""
    reports = small_reports(tmp_path / "reports", 2)
    cache, journal = tmp_path / "cache", tmp_path / "out.jsonl"
    debug = {"OPENAI_LOG": "debug", "OPENAI_API_KEY": PLANTED}
    with ReplayServer(mode="echo") as server:
        port = server.port
        base = ["extract", str(tmp_path / "reports"), "--backend", "llm", "--model", "replay",
                "--cache-dir", str(cache), "-o", str(journal)]  # fmt: skip
        refused = cli(*base, "--base-url", f"http://user:{PLANTED}@127.0.0.1:{port}/v1", env=debug)
        ran = cli(*base, "--base-url", server.url, env=debug)
        credentials = dict(server.stats.credentials)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "--api-key-env" in refused.stderr  # one line
    assert ran.returncode == 0, ran.stderr
    assert "HTTP Request" in ran.stderr or "Request options" in ran.stderr  # debug logs were on
    assert len(reports) == sum(credentials.values()) and "none" not in credentials  # key was sent
    written = [refused.stdout, refused.stderr, ran.stdout, ran.stderr]
    written += [
        p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()
    ]
    assert all(PLANTED not in text for text in written)
