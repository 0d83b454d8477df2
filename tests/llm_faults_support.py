"""Helpers shared by the LLM fault tests (test_faults_llm, test_llm_cache_corrupt,
test_llm_secrets): synthetic reports, a closed port, the CLI in a child process or in this one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from fazhi.testing.synthetic import synthetic_reports, write_reports
from tests.conftest import REPORTS, report_text


def small_reports(folder: Path, count: int) -> list[Path]:
    made = synthetic_reports(
        {stem: report_text(stem) for stem in REPORTS}, count, tag_paragraphs=True
    )
    return write_reports(folder, made)


def closed_url() -> str:
    """A loopback URL on a port nobody listens on (free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FAZHI_"))}
    command = [sys.executable, "-c", "from fazhi.cli import main; main()", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env={**environment, **(env or {})}, timeout=300
    )


def in_process(*args: str):
    """``fazhi ARGS`` in this process (typer's runner): no interpreter start-up to wait for."""
    from typer.testing import CliRunner

    from fazhi.cli import app

    return CliRunner().invoke(app, list(args))
