"""``fazhi batch``: a process killed while it waits, then collect; bad input; hybrid; the batch
file in the format vLLM's offline runner reads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from fazhi.batch_files import JobFolder
from fazhi.export import jsonl
from fazhi.testing.batch_api import BatchBehaviour
from fazhi.testing.replay_server import ReplayServer
from tests.llm_faults_support import in_process, small_reports


def args(folder: Path, out: Path, server: ReplayServer, *more: str) -> list[str]:
    return [str(folder), "-o", str(out), "--backend", "llm", "--model", "replay",
            "--base-url", server.url, "--cache-dir", str(out.parent / "cache"), *more]  # fmt: skip


def statuses(journal: Path) -> set[str]:
    return {r.status for r in jsonl.latest_records(jsonl.read_records(journal))}


@pytest.fixture
def folder(tmp_path):
    small_reports(tmp_path / "reports", 3)
    return tmp_path / "reports"


def test_collect_killed_while_waiting_then_collect_again_finishes(tmp_path, folder):
    out = tmp_path / "out.jsonl"
    state_file = JobFolder(out).state_path
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FAZHI_"))}
    with ReplayServer(mode="echo", batch=BatchBehaviour(running=60)) as server:
        command = [sys.executable, "-c", "from fazhi.cli import main; main()", "batch", "collect",
                   *args(folder, out, server, "--wait", "--poll", "0.05")]  # fmt: skip
        waiting = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE)
        try:
            for _ in range(600):  # the batch is submitted and its id written down
                if state_file.exists() and '"batch_id": "batch_1"' in state_file.read_text():
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the batch was never submitted")
        finally:
            waiting.send_signal(signal.SIGKILL)
            waiting.wait(timeout=30)
        server.batches.behaviour.running = 0
        done = in_process(
            "batch", "collect", *args(folder, out, server, "--wait", "--poll", "0.01")
        )
        batches = len(server.batches.batches)
    rounds = JobFolder(out).load_state().rounds
    assert done.exit_code == 0, done.output
    assert rounds[0].batch_id == "batch_1" and rounds[0].collected
    assert batches == len(rounds)  # the killed process's batch was collected, not sent again
    assert statuses(out) == {"complete"}


def test_submit_then_status_then_collect(tmp_path, folder):
    out = tmp_path / "out.jsonl"
    with ReplayServer(mode="echo", batch=BatchBehaviour(running=60)) as server:
        submitted = in_process("batch", "submit", *args(folder, out, server))
        status = in_process("batch", "status", *args(folder, out, server))
        early = in_process("batch", "collect", *args(folder, out, server))
        server.batches.behaviour.running = 0
        done = in_process(
            "batch", "collect", *args(folder, out, server, "--wait", "--poll", "0.01")
        )
    assert submitted.exit_code == 75 and "round 1: batch batch_1" in submitted.output
    assert status.exit_code == 0 and "in_progress" in status.output
    assert early.exit_code == 75 and "not done yet" in early.output
    assert done.exit_code == 0 and "3 reports: 3 complete" in done.output


def test_after_submit_the_journal_alone_names_the_job(tmp_path, folder, monkeypatch):
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("MY_KEY", "sk-not-to-be-written")
    monkeypatch.setenv("FAZHI_MODEL", "replay")  # a setting from the environment at submit
    with ReplayServer(mode="echo", batch=BatchBehaviour(running=60)) as server:
        argv = [str(folder), "-o", str(out), "--backend", "llm", "--base-url", server.url,
                "--api-key-env", "MY_KEY", "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
        submitted = in_process("batch", "submit", *argv)
        monkeypatch.delenv("FAZHI_MODEL")
        status = in_process("batch", "status", "-o", str(out))
        server.batches.behaviour.running = 0
        done = in_process("batch", "collect", "-o", str(out), "--wait", "--poll", "0.01")
    saved = (JobFolder(out).path / "invocation.json").read_text(encoding="utf-8")
    assert submitted.exit_code == 75 and "not done yet: run `fazhi batch collect -o" in (
        submitted.output
    )
    assert status.exit_code == 0 and "in_progress" in status.output, status.output
    assert done.exit_code == 0 and "3 reports: 3 complete" in done.output, done.output
    assert '"model": "replay"' in saved and "MY_KEY" in saved
    assert "sk-not-to-be-written" not in saved


def test_the_journal_alone_without_a_submitted_job_is_one_line_and_exit_2(tmp_path):
    result = in_process("batch", "status", "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 2 and "run `fazhi batch submit PATH..." in result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1


def test_the_hybrid_backend_goes_through_the_batch_too(tmp_path, folder):
    out = tmp_path / "out.jsonl"
    with ReplayServer(mode="echo") as server:
        argv = args(folder, out, server, "--wait", "--poll", "0.01")
        argv[argv.index("llm")] = "hybrid"
        done = in_process("batch", "collect", *argv)
    records = jsonl.read_records(out)
    assert done.exit_code == 0, done.output
    assert {r.backend for r in records} == {"hybrid"}
    assert all(r.result and r.result.figures for r in records)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--backend", "rules"], "calls no model"),
        (["--backend", "llm"], "needs a model"),
    ],
)
def test_a_backend_without_a_model_is_one_line_and_exit_2(tmp_path, folder, extra, message):
    result = in_process("batch", "submit", str(folder), "-o", str(tmp_path / "o.jsonl"), *extra)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_a_journal_that_is_not_jsonl_is_refused(tmp_path, folder):
    with ReplayServer(mode="echo") as server:
        result = in_process("batch", "submit", *args(folder, tmp_path / "out.json", server))
    assert result.exit_code == 2 and "name it OUT.jsonl" in result.output


# --- the batch file vLLM's offline runner reads ------------------------------------------------
# Written from vLLM's documentation and source of `python -m vllm.entrypoints.openai.run_batch`
# (docs.vllm.ai, "run batch", vllm/entrypoints/openai/run_batch.py and protocol.py): each line is
# a BatchRequestInput {custom_id: str, method: str, url: str, body}, the body validated as a
# ChatCompletionRequest when url is /v1/chat/completions. Here with only the fields fazhi may
# send and extra="forbid" (vLLM ignores unknown fields with a warning): stricter than vLLM.


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    messages: list[Message]
    temperature: float | None = None
    max_tokens: int | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | str | None = None


class BatchRequestInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    custom_id: str
    method: Literal["POST"]
    url: Literal["/v1/chat/completions"]
    body: ChatCompletionRequest


@pytest.mark.parametrize("style", ["label", "quote"])
def test_the_batch_file_is_what_vllm_run_batch_reads(tmp_path, folder, style):
    out = tmp_path / "out.jsonl"
    with ReplayServer(mode="echo", batch=BatchBehaviour(running=60)) as server:
        in_process("batch", "submit", *args(folder, out, server, "--llm-style", style))
    lines = JobFolder(out).round_file(1, "input").read_text(encoding="utf-8").splitlines()
    parsed = [BatchRequestInput.model_validate(json.loads(line)) for line in lines]
    assert parsed and len({p.custom_id for p in parsed}) == len(parsed)  # unique ids
    assert all(p.body.model == "replay" and p.body.messages[-1].role == "user" for p in parsed)


def _run_like_vllm(input_file: Path, output_file: Path, server: ReplayServer) -> None:
    """What `run_batch -i IN -o OUT` does, with the replay server as the model: one output line
    per input line, {"id", "custom_id", "response": {"status_code", "request_id", "body"},
    "error"} (vLLM's BatchRequestOutput)."""
    import httpx2

    lines = []
    for raw in input_file.read_text(encoding="utf-8").splitlines():
        request = BatchRequestInput.model_validate(json.loads(raw))
        body = httpx2.post(server.url + "/chat/completions", json=json.loads(raw)["body"]).json()
        response = {"status_code": 200, "request_id": f"r-{request.custom_id}", "body": body}
        line = {"id": "vllm-" + request.custom_id, "custom_id": request.custom_id,
                "response": response, "error": None}  # fmt: skip
        lines.append(json.dumps(line, ensure_ascii=False))
    output_file.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_offline_rounds_are_files_for_vllms_runner(tmp_path, folder):
    out = tmp_path / "out.jsonl"
    job = JobFolder(out)
    with ReplayServer(mode="echo") as server:
        argv = args(folder, out, server, "--offline")
        step = in_process("batch", "submit", *argv)
        for number in range(1, 8):
            assert step.exit_code == 75, step.output
            assert "vllm.entrypoints.openai.run_batch -i" in step.output
            waiting = in_process("batch", "collect", *argv)  # no output file yet: still waiting
            assert waiting.exit_code == 75 and f"round {number}:" in waiting.output
            _run_like_vllm(
                job.round_file(number, "input"), job.round_file(number, "output"), server
            )
            step = in_process("batch", "collect", *argv)
            if step.exit_code != 75:
                break
    assert step.exit_code == 0, step.output
    assert statuses(out) == {"complete"}


def test_a_provider_without_a_batch_api_is_one_line_and_exit_2(tmp_path, folder):
    with ReplayServer(mode="echo") as server:
        argv = args(folder, tmp_path / "out.jsonl", server)
        argv[argv.index(server.url)] = server.url.replace("/v1", "/v2")  # nothing served there
        result = in_process("batch", "submit", *argv)
    assert result.exit_code == 2, result.output
    assert "cannot upload the batch file at http://127.0.0.1:" in result.output
    assert "HTTP 404" in result.output and "Traceback" not in result.output
