"""The replay server's Batch API: ``/v1/files`` and ``/v1/batches``, like a provider's, offline.

- ``POST /v1/files`` (multipart: ``file``, ``purpose``), ``GET /v1/files/ID``,
  ``GET /v1/files/ID/content``;
- ``POST /v1/batches`` (``input_file_id``, ``endpoint``, ``completion_window``, ``metadata``),
  ``GET /v1/batches/ID``, ``POST /v1/batches/ID/cancel``.

A batch is ``validating`` for ``BatchBehaviour.validating`` seconds, ``in_progress`` for
``running`` seconds, ``finalizing`` at the next look, then ``completed``: each line answered
as ``POST /v1/chat/completions`` would answer it (``fazhi.testing.chat_api``), into the output
file; failed lines into the error file. ``fail_every`` makes every k-th line of a batch fail
(the first ``fail_times`` times a request is seen), ``fault`` answers some lines wrongly the
first time (truncated, bad schema, foreign numbers ...); the first ``expire_batches`` batches
expire with only ``expire_keep`` lines answered (the rest ``batch_expired`` in the error file);
a cancelled batch ends ``cancelled`` with no answers; the first ``fail_batches`` batches end
``failed`` as a whole. Not a model, like the rest of the server.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any, Protocol

from fazhi.testing import responders
from fazhi.testing.chat_api import Answering, completion

CHAT_URL = "/v1/chat/completions"


@dataclass
class BatchBehaviour:
    validating: float = 0.0  # seconds
    running: float = 0.0  # seconds
    fail_every: int = 0  # every k-th line of a batch fails (0: none) ...
    fail_times: int = 1  # ... the first this many times a custom_id is seen
    fail_batches: int = 0  # the first N batches fail as a whole (no output, no error file)
    expire_batches: int = 0  # the first N batches expire ...
    expire_keep: int = 1  # ... with only this many lines answered
    fault: str | None = None  # truncated, bad_schema, foreign_number ... on every fault_every-th
    fault_every: int = 1  # line the first time its request is seen: a re-ask round follows


class Handler(Protocol):
    """What the HTTP handler offers (``replay_server._ChatHandler``)."""

    headers: Any
    rfile: Any

    def _json(self, status: int, payload: dict, headers: dict | None = None) -> None: ...
    def _send(self, status: int, body: bytes, headers: dict) -> None: ...


@dataclass
class _Batch:
    info: dict[str, Any]
    lines: list[dict]
    created: float
    cancelled: bool = False


@dataclass
class BatchStore:
    """Files and batches of one server."""

    server: Answering
    behaviour: BatchBehaviour = field(default_factory=BatchBehaviour)
    files: dict[str, tuple[dict[str, Any], bytes]] = field(default_factory=dict)
    batches: dict[str, _Batch] = field(default_factory=dict)
    seen: Counter = field(default_factory=Counter)  # batch lines per custom_id, all batches
    first_line: dict[str, int] = field(default_factory=dict)  # its line in its first batch
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith(("/v1/files", "/v1/batches"))

    def serve(self, handler: Handler, method: str, path: str) -> None:
        parts = path.strip("/").split("/")[1:]  # without "v1"
        with self._lock:
            status, payload = self._route(handler, method, parts)
        if isinstance(payload, bytes):
            handler._send(status, payload, {})
        else:
            handler._json(status, payload)

    def _route(self, handler: Handler, method: str, parts: list[str]) -> tuple[int, Any]:
        kind, rest = parts[0], parts[1:]
        if kind == "files" and method == "POST" and not rest:
            return self._upload(handler)
        if kind == "files" and method == "GET" and rest and rest[0] in self.files:
            info, data = self.files[rest[0]]
            return (200, data) if rest[1:] == ["content"] else (200, info)
        if kind == "batches" and method == "POST" and not rest:
            return self._create(_read_json(handler))
        if kind == "batches" and rest and rest[0] in self.batches:
            batch = self.batches[rest[0]]
            if method == "POST" and rest[1:] == ["cancel"]:
                batch.cancelled = True
                batch.info["status"] = "cancelling"
                return 200, batch.info
            if method == "GET" and not rest[1:]:
                return 200, self._advance(batch)
        return 404, {"error": {"message": f"no route {method} /v1/{'/'.join(parts)}"}}

    def _upload(self, handler: Handler) -> tuple[int, Any]:
        length = int(handler.headers.get("Content-Length", 0))
        head = f"Content-Type: {handler.headers.get('Content-Type')}\r\n\r\n".encode()
        message = BytesParser(policy=policy.default).parsebytes(head + handler.rfile.read(length))
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            fields[str(name)] = (
                part.get_filename(),
                payload if isinstance(payload, bytes) else b"",
            )
        if "file" not in fields:
            return 400, {"error": {"message": "multipart field 'file' is missing"}}
        name, data = fields["file"]
        purpose = fields.get("purpose", (None, b""))[1].decode()
        file_id = f"file-{len(self.files) + 1}"
        info = {
            "id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
            "filename": name or "upload.jsonl", "purpose": purpose, "status": "processed",
        }  # fmt: skip
        self.files[file_id] = (info, data)
        return 200, info

    def _create(self, request: dict) -> tuple[int, Any]:
        file_id = request.get("input_file_id")
        if file_id not in self.files or request.get("endpoint") != CHAT_URL:
            return 400, {"error": {"message": "unknown input_file_id or endpoint not " + CHAT_URL}}
        try:
            lines = [json.loads(x) for x in self.files[file_id][1].decode().splitlines() if x]
        except (ValueError, UnicodeDecodeError):
            return 400, {"error": {"message": "the input file is not JSONL"}}
        batch_id = f"batch_{len(self.batches) + 1}"
        info = {
            "id": batch_id, "object": "batch", "endpoint": CHAT_URL, "input_file_id": file_id,
            "completion_window": request.get("completion_window", "24h"), "status": "validating",
            "created_at": int(time.time()), "metadata": request.get("metadata"),
            "output_file_id": None, "error_file_id": None, "errors": None,
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
        }  # fmt: skip
        self.batches[batch_id] = _Batch(info, lines, time.monotonic())
        return 200, info

    def _advance(self, batch: _Batch) -> dict[str, Any]:
        """The batch's status as of now; the lines are answered once, on the way out."""
        info, elapsed = batch.info, time.monotonic() - batch.created
        if info["status"] in ("completed", "expired", "cancelled"):
            return info
        if batch.cancelled:
            info["status"] = "cancelled"
        elif elapsed < self.behaviour.validating:
            info["status"] = "validating"
        elif elapsed < self.behaviour.validating + self.behaviour.running:
            info["status"] = "in_progress"
        elif info["status"] != "finalizing":
            info["status"] = "finalizing"  # one look at finalizing, a status that is not the end
        elif int(info["id"].split("_")[1]) <= self.behaviour.fail_batches:
            info["status"] = "failed"
            info["errors"] = {"object": "list", "data": [{"code": "invalid_request",
                              "message": "injected batch failure", "line": None}]}  # fmt: skip
        else:
            number = int(info["id"].split("_")[1])
            expires = number <= self.behaviour.expire_batches
            self._answer_lines(batch, expires)
            info["status"] = "expired" if expires else "completed"
        return info

    def _answer_lines(self, batch: _Batch, expires: bool) -> None:
        answered, failed = [], []
        for number, line in enumerate(batch.lines, start=1):
            custom_id = str(line.get("custom_id"))
            self.seen[custom_id] += 1
            if expires and number > self.behaviour.expire_keep:
                failed.append(_error_line(custom_id, "batch_expired", "not run in the window"))
            elif self._fails(number, custom_id):
                failed.append(_error_line(custom_id, "server_error", "injected line failure"))
            else:
                fault = self._fault(number, custom_id)
                answered.append(self._answer(custom_id, line.get("body") or {}, fault))
        info = batch.info
        info["request_counts"] = {"total": len(batch.lines), "completed": len(answered),
                                  "failed": len(failed)}  # fmt: skip
        info["output_file_id"] = self._store(answered, "output") if answered else None
        info["error_file_id"] = self._store(failed, "errors") if failed else None

    def _fails(self, number: int, custom_id: str) -> bool:
        """The line number in the batch a request first came in decides, so that the same
        requests fail again when they are submitted again."""
        every = self.behaviour.fail_every
        first = self.first_line.setdefault(custom_id, number)
        return (
            bool(every) and first % every == 0 and self.seen[custom_id] <= self.behaviour.fail_times
        )

    def _fault(self, number: int, custom_id: str) -> str | None:
        first = self.seen[custom_id] == 1 and number % max(self.behaviour.fault_every, 1) == 0
        return self.behaviour.fault if first else None

    def _answer(self, custom_id: str, body: dict, fault: str | None) -> dict:
        messages = body.get("messages") or []
        text = responders.chunk_text_of(messages, getattr(self.server, "pattern", None))
        data, _how = completion(self.server, body, messages, text, fault)
        response = {"status_code": 200, "request_id": f"req-{custom_id}", "body": json.loads(data)}
        return {"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": response,
                "error": None}  # fmt: skip

    def _store(self, lines: list[dict], kind: str) -> str:
        data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
        file_id = f"file-{len(self.files) + 1}"
        info = {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                "filename": f"batch_{kind}.jsonl", "purpose": "batch_output"}  # fmt: skip
        self.files[file_id] = (info, data)
        return file_id


def _error_line(custom_id: str, code: str, message: str) -> dict:
    return {"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": None,
            "error": {"code": code, "message": message}}  # fmt: skip


def _read_json(handler: Handler) -> dict:
    try:
        data = json.loads(
            handler.rfile.read(int(handler.headers.get("Content-Length", 0))) or b"{}"
        )
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
