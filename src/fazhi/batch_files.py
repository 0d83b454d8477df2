"""The files of a Batch API job: its state, the answers so far, the provider's JSONL lines.

Everything lives in one folder beside the journal (``OUT.jsonl.batch/``):

- ``state.json``: every round (input file id, batch id, status, output and error file ids,
  whether it was collected) and each request's failed attempts, written atomically after every
  step, so a process killed anywhere picks the job up where it was;
- ``answers.jsonl``: one line per answered request, ``{"custom_id", "response"}``, appended as
  a round is collected (a torn last line is ignored);
- ``round-N.input.jsonl``, ``round-N.output.jsonl``, ``round-N.errors.jsonl``: what was sent
  and what came back, kept for inspection.

A batch line is the OpenAI Batch API's, which vLLM's offline runner reads too:
``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body": {...}}``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CHAT_URL = "/v1/chat/completions"
TERMINAL = ("completed", "failed", "expired", "cancelled")


@dataclass
class Round:
    """One submitted batch."""

    number: int
    requests: list[str]  # custom_ids
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str = "writing"  # writing, uploaded, then the provider's statuses
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)  # the provider's request_counts
    collected: bool = False
    overflow: bool = False  # more requests were needed than one batch takes: not a real round


@dataclass
class JobState:
    rounds: list[Round] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)  # failed attempts per custom_id
    failures: dict[str, str] = field(default_factory=dict)  # the last failure, one line
    finished: bool = False

    @property
    def open_round(self) -> Round | None:
        last = self.rounds[-1] if self.rounds else None
        return last if last is not None and not last.collected else None


class JobFolder:
    """The job's folder beside ``journal``."""

    def __init__(self, journal: Path) -> None:
        self.path = journal.with_name(journal.name + ".batch")
        self.state_path = self.path / "state.json"
        # what `fazhi batch submit` was given (reports, settled settings), for the later steps
        self.invocation_path = self.path / "invocation.json"
        self.answers_path = self.path / "answers.jsonl"

    def round_file(self, number: int, kind: str) -> Path:
        return self.path / f"round-{number}.{kind}.jsonl"

    def load_state(self) -> JobState:
        if not self.state_path.exists():
            return JobState()
        data = json.loads(self.state_path.read_text(encoding="utf-8"))
        rounds = [Round(**r) for r in data.pop("rounds", [])]
        return JobState(rounds=rounds, **data)

    def save_state(self, state: JobState) -> None:
        self._write_json(self.state_path, asdict(state))

    def load_invocation(self) -> dict[str, Any] | None:
        if not self.invocation_path.exists():
            return None
        return json.loads(self.invocation_path.read_text(encoding="utf-8"))

    def save_invocation(self, invocation: dict[str, Any]) -> None:
        self._write_json(self.invocation_path, invocation)

    def _write_json(self, path: Path, data: Any) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temporary, path)  # atomic: a kill leaves the old or the new file

    def load_answers(self) -> dict[str, dict]:
        answers: dict[str, dict] = {}
        if not self.answers_path.exists():
            return answers
        for line in self.answers_path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # a line torn by a kill: asked again if needed
                continue
            answers[entry["custom_id"]] = entry["response"]
        return answers

    def add_answers(self, answers: dict[str, dict]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with self.answers_path.open("a", encoding="utf-8") as handle:
            for custom_id, response in answers.items():
                line = {"custom_id": custom_id, "response": response}
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def batch_lines(requests: dict[str, dict[str, Any]]) -> bytes:
    """The batch input file: one request a line, in the provider's format."""
    lines = [
        json.dumps(
            {"custom_id": cid, "method": "POST", "url": CHAT_URL, "body": body},
            ensure_ascii=False,
        )
        for cid, body in requests.items()
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def read_results(data: bytes) -> tuple[dict[str, dict], dict[str, str]]:
    """An output or error file: answers (custom_id → chat.completion body) and failures
    (custom_id → one line), whichever the lines hold."""
    answers: dict[str, dict] = {}
    failures: dict[str, str] = {}
    for raw in data.decode("utf-8", errors="replace").splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue
        custom_id = line.get("custom_id")
        if not custom_id:
            continue
        response = line.get("response") or {}
        body = response.get("body")
        if response.get("status_code") == 200 and isinstance(body, dict) and body.get("choices"):
            answers[custom_id] = body
        else:
            failures[custom_id] = _failure_line(line.get("error"), response)
    return answers, failures


def _failure_line(error: Any, response: dict) -> str:
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        return " ".join(f"{error.get('code') or ''}: {error.get('message') or ''}".split())[:200]
    status = response.get("status_code")
    body = response.get("body")
    message = body.get("error", {}).get("message") if isinstance(body, dict) else None
    return f"HTTP {status}: {message or 'no answer'}"[:200]


class OfflineRunner:
    """A Batch API that is a file exchange with an offline runner, e.g. vLLM's
    ``python -m vllm.entrypoints.openai.run_batch -i round-N.input.jsonl -o
    round-N.output.jsonl --model M``: a round is "submitted" once its input file is written and
    "completed" once the runner's output file lies beside it (the same line format as a
    provider's output file). Nothing is uploaded; no network."""

    def __init__(self, folder: JobFolder) -> None:
        self.folder = folder

    def upload(self, name: str, data: bytes) -> str:
        return name  # the round's input file is already in the job folder

    def create(self, input_file_id: str, url: str, metadata: dict[str, str]) -> dict[str, Any]:
        return {"id": f"offline:{input_file_id}", "status": "in_progress"}

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        output = self.output_name(batch_id)
        if (self.folder.path / output).exists():
            return {"id": batch_id, "status": "completed", "output_file_id": output}
        return {"id": batch_id, "status": "in_progress"}

    def cancel(self, batch_id: str) -> dict[str, Any]:
        return {"id": batch_id, "status": "cancelled"}

    def content(self, file_id: str) -> bytes:
        return (self.folder.path / file_id).read_bytes()

    @staticmethod
    def output_name(batch_id: str) -> str:
        """The output file the runner is to write for ``batch_id`` (``offline:round-N...``)."""
        return batch_id.removeprefix("offline:").replace(".input.", ".output.")
