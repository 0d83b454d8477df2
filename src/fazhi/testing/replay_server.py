"""A local OpenAI-compatible REPLAY server for tests and benchmarks -- not a model.

It serves ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /health``, ``GET /stats``
and a Batch API (``/v1/files``, ``/v1/batches``: ``fazhi.testing.batch_api``) on 127.0.0.1 and
answers each chat request in one of two modes:

- ``replay``: a response recorded by vcrpy from a real model server (``cassettes/``), found by
  the exact messages, else by the chunk the request is about, else round-robin over all
  recordings (for reports that were never recorded). Header ``x-replay`` says which:
  ``exact``, ``chunk`` or ``fallback``.
- ``echo``: a synthetic, deterministic answer that quotes the chunk's first number-bearing
  clause verbatim (``x-replay: echo``). It exercises everything around a model; it says
  nothing about what a model would extract.

On top of either, a fault schedule (``fazhi.testing.faults``) turns chosen requests into 429s
with Retry-After, 5xx, hangs past the client's timeout, connections dropped mid-body,
truncated JSON (``finish_reason: "length"``), schema-violating JSON, numbers the source never
states, or an answer that obeys an instruction injected into the report. Every request and
fault is counted (``server.stats``) so tests can assert that retries are bounded.

    with ReplayServer(mode="echo", latency=0.05) as server:
        client = OpenAI(base_url=server.url, api_key="unused")

    python -m fazhi.testing.replay_server --cassettes cassettes --latency 0.3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from fazhi.testing import responders
from fazhi.testing.batch_api import BatchBehaviour, BatchStore
from fazhi.testing.chat_api import completion
from fazhi.testing.faults import HTTP_FAULTS, FaultSchedule, parse_schedule


@dataclass
class Stats:
    """What the server served.

    ``attempts`` counts requests per chunk key (``responders.chunk_key``)."""

    requests: int = 0
    faults: Counter = field(default_factory=Counter)
    attempts: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)  # x-replay values
    credentials: Counter = field(
        default_factory=Counter
    )  # sha256 of each bearer token seen, never the token
    log: list[tuple[int, str, str | None]] = field(default_factory=list)  # (index, key, fault)

    def snapshot(self) -> dict:
        return {
            "requests": self.requests,
            "faults": dict(self.faults),
            "attempts": dict(self.attempts),
            "sources": dict(self.sources),
        }


def default_indicators() -> dict[str, str]:
    """One indicator id per kind, from the project's catalog, for synthetic figures."""
    from fazhi.catalog import default_catalog

    chosen: dict[str, str] = {}
    for ind in default_catalog().indicators.values():
        chosen.setdefault(ind.kind, ind.id)
    return chosen


class ReplayServer:
    """The server, run on a background thread; a context manager. ``port=0`` picks a free port."""

    def __init__(
        self,
        *,
        mode: str = "echo",
        cassettes: list[Path] | tuple[Path, ...] = (),
        latency: float = 0.0,
        jitter: float = 0.0,
        faults: FaultSchedule | None = None,
        retry_after: float = 0.05,
        hang_seconds: float = 30.0,
        seed: int = 0,
        port: int = 0,
        chunk_pattern: str | None = None,
        indicators: dict[str, str] | None = None,
        model: str = "replay",
        batch: BatchBehaviour | None = None,
    ):
        if mode not in ("echo", "replay"):
            raise ValueError(f"mode must be 'echo' or 'replay', not {mode!r}")
        self.mode = mode
        self.pattern = re.compile(chunk_pattern, re.S) if chunk_pattern else None
        self.store = responders.CassetteStore(responders.load_cassettes(cassettes, self.pattern))
        if mode == "replay" and not len(self.store):
            raise ValueError(
                "replay mode needs at least one recorded chat completion (--cassettes)"
            )
        self.latency, self.jitter = latency, jitter
        self.faults = faults or FaultSchedule()
        self.retry_after, self.hang_seconds = retry_after, hang_seconds
        self.indicators = indicators or default_indicators()
        self.model = model
        self.stats = Stats()
        self.batches = BatchStore(self, batch or BatchBehaviour())  # /v1/files, /v1/batches
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The OpenAI ``base_url`` (ends in ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="replay-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes every hanging handler
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = Stats()

    # -- deciding what to serve (called from handler threads) --

    def admit(self, key: str, text: str) -> tuple[int, int, str | None]:
        """Count the request; return its index, its attempt number for this chunk, its fault."""
        with self._lock:
            index = self.stats.requests
            attempt = self.stats.attempts[key]
            fault = self.faults.pick(index, key, text, attempt)
            self.stats.requests += 1
            self.stats.attempts[key] += 1
            self.stats.faults.update([fault] if fault else [])
            self.stats.log.append((index, key, fault))
            return index, attempt, fault

    def delay(self) -> float:
        with self._lock:
            return self.latency + (self._random.uniform(0, self.jitter) if self.jitter else 0.0)

    def note_credentials(self, authorization: str | None) -> None:
        token = (authorization or "").removeprefix("Bearer ").strip()
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest() if token else "none"
        with self._lock:
            self.stats.credentials[digest] += 1

    def count_source(self, source: str) -> None:
        with self._lock:
            self.stats.sources[source] += 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: a batch opening 64 connections at once would
    # see SYNs dropped and retried a second later. Serving stacks listen with 128 or more.
    request_queue_size = 256


def _handler_for(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_ChatHandler):
        replay = server

    return Handler


class _ChatHandler(BaseHTTPRequestHandler):
    replay: ReplayServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY the body waits for the
    # client's delayed ACK (~40 ms) on a kept-alive connection. Serving stacks set it too.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet by default
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.rstrip("/")
        if self.replay.batches.handles(path):
            self.replay.batches.serve(self, "GET", path)
        elif path == "/health":
            self._json(200, {"status": "ok", "mode": self.replay.mode})
        elif path == "/stats":
            self._json(200, self.replay.stats.snapshot())
        elif path == "/v1/models":
            self._json(
                200, {"object": "list", "data": [{"id": self.replay.model, "object": "model"}]}
            )
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:  # noqa: N802
        if self.replay.batches.handles(self.path):
            self.replay.batches.serve(self, "POST", self.path.rstrip("/"))
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        try:
            request = json.loads(
                self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}"
            )
            messages = request["messages"]
        except (ValueError, KeyError, TypeError):
            self._json(400, {"error": {"message": "body must be JSON with a messages list"}})
            return
        self.replay.note_credentials(self.headers.get("Authorization"))
        text = responders.chunk_text_of(messages, self.replay.pattern)
        key = responders.chunk_key(text)
        _, _, fault = self.replay.admit(key, text)
        time.sleep(self.replay.delay())
        self._serve(request, messages, text, key, fault)

    def _serve(self, request: dict, messages: list, text: str, key: str, fault: str | None) -> None:
        headers = {"x-replay-key": key}
        if fault:
            headers["x-replay-fault"] = fault
        if fault in HTTP_FAULTS:
            if fault == "rate_limit":
                headers["retry-after"] = f"{self.replay.retry_after:g}"
                headers["retry-after-ms"] = f"{self.replay.retry_after * 1000:g}"
            self._json(
                HTTP_FAULTS[fault],
                {"error": {"message": f"injected {fault}", "type": fault}},
                headers,
            )
            return
        if fault == "hang":
            self.replay._stopping.wait(self.replay.hang_seconds)
            self.close_connection = True
            return
        body, source = completion(self.replay, request, messages, text, fault)
        self.replay.count_source(source)
        headers["x-replay"] = source
        if fault == "drop":
            self._drop(body, headers)
        else:
            self._send(200, body, headers)

    def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers or {})

    def _send(self, status: int, body: bytes, headers: dict) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self, body: bytes, headers: dict) -> None:
        """Promise the whole body, send half, then cut the connection."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m fazhi.testing.replay_server",
        description="Local OpenAI-compatible replay server "
        "(recorded responses or a synthetic echo; not a model).",
        epilog="example: python -m fazhi.testing.replay_server --cassettes cassettes --latency 0.3 "
        "--faults 'rate_limit:p=0.1,times=1'",
    )
    parser.add_argument(
        "--mode", choices=("replay", "echo"), default=None, help="default: replay if --cassettes"
    )
    parser.add_argument(
        "--cassettes", type=Path, action="append", default=[], help="cassette file or folder"
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument(
        "--jitter", type=float, default=0.0, help="extra uniform random seconds, up to this"
    )
    parser.add_argument(
        "--faults",
        default="",
        help="fault schedule, e.g. 'http_503:p=0.2,seed=1,times=1;hang:at=3'",
    )
    parser.add_argument(
        "--retry-after", type=float, default=1.0, help="seconds a 429 asks the client to wait"
    )
    parser.add_argument(
        "--hang-seconds", type=float, default=600.0, help="how long a 'hang' fault stalls"
    )
    parser.add_argument(
        "--chunk-pattern", default=None, help="regex whose last group is the chunk text"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--batch-seconds", type=float, default=0.0, help="Batch API: seconds a batch runs"
    )
    parser.add_argument(
        "--batch-fail-every", type=int, default=0, help="Batch API: every k-th line fails once"
    )
    parser.add_argument(
        "--batch-expire", type=int, default=0, help="Batch API: the first N batches expire"
    )
    args = parser.parse_args(argv)
    batch = BatchBehaviour(
        running=args.batch_seconds, fail_every=args.batch_fail_every,
        expire_batches=args.batch_expire,
    )  # fmt: skip
    mode = args.mode or ("replay" if args.cassettes else "echo")
    try:
        server = ReplayServer(
            mode=mode, cassettes=args.cassettes, latency=args.latency, jitter=args.jitter,
            faults=parse_schedule(args.faults), retry_after=args.retry_after,
            hang_seconds=args.hang_seconds, seed=args.seed, port=args.port,
            chunk_pattern=args.chunk_pattern, batch=batch,
        )  # fmt: skip
    except (ValueError, OSError) as exc:
        parser.exit(2, f"replay_server: {exc}\n")
    print(f"replay server ({mode}, {len(server.store)} recordings) at {server.url}", flush=True)
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
