"""A scripted OpenAI-compatible stub on 127.0.0.1 for the LLM tests -- not a model.

It answers ``POST /v1/chat/completions`` with the next scripted reply (status, headers, body)
and keeps every request's headers and JSON body, so a test can see what a client sent (re-ask
messages, authorization) and how many requests a retry policy made. Every answer it gives is
written by hand in a test; nothing here stands in for what a real model would say.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def completion(
    content: str, finish_reason: str = "stop", prompt_tokens: int = 100, completion_tokens: int = 20
) -> dict:
    """An OpenAI chat.completion body whose message content is ``content``."""
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": "stub",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def answer(figures: list[dict] | None = None, **rest: Any) -> dict:
    """A 200 reply whose content is the JSON answer ``{"figures": [...], ...}``."""
    return reply(
        200, completion(json.dumps({"figures": figures or [], **rest}, ensure_ascii=False))
    )


def reply(status: int, body: dict | str, headers: dict[str, str] | None = None) -> tuple:
    return (status, headers or {}, body)


@dataclass
class Stub:
    script: list[tuple] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)  # {"headers": {...}, "body": {...}}
    server: ThreadingHTTPServer | None = None
    responder: Callable[[dict], tuple] | None = (
        None  # reply from the request body instead of the script
    )

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def next_reply(self) -> tuple:
        if not self.script:
            return reply(500, {"error": {"message": "stub script exhausted"}})
        return self.script.pop(0)


def _handler(stub: Stub):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            stub.requests.append({"headers": dict(self.headers), "body": body})
            status, headers, payload = stub.responder(body) if stub.responder else stub.next_reply()
            data = (
                payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
            ).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # keep test output clean
            pass

    return Handler


class running_stub:
    """``with running_stub([answer(...), reply(429, ...)]) as stub: ...`` on a free port.

    The port is on loopback."""

    def __init__(self, script: list[tuple], port: int = 0):
        self.stub = Stub(list(script))
        self.port = port

    def __enter__(self) -> Stub:
        self.stub.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self.stub))
        threading.Thread(target=self.stub.server.serve_forever, daemon=True).start()
        return self.stub

    def __exit__(self, *exc) -> None:
        assert self.stub.server is not None
        self.stub.server.shutdown()
        self.stub.server.server_close()
