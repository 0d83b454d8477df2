"""A dead endpoint fails fast: connection failures told apart, and a circuit breaker.

- ``connection_failure(exc)``: why a request never reached the server (connection refused, DNS
  lookup failed, could not connect, connect timeout), else ``None``. Refused and DNS failures
  are not worth a retry: the next try a second later meets the same closed port or unknown name.
- ``CircuitBreaker``: counts consecutive requests to one endpoint that could not connect; after
  ``threshold`` of them it opens, and every later request fails at once with
  ``EndpointUnreachable`` ("endpoint ... unreachable: circuit open after N failures") instead of
  asking a server that is not there. Any request that connects closes the count again. One
  breaker serves one backend (all reports of a batch), across threads.
"""

from __future__ import annotations

import socket
import threading

from fazhi.llm.redact import redact

# Five in a row: at the default concurrency of 4 one wave of chunks that all fail is not yet
# enough; a fifth that fails as well means no request is getting through.
DEFAULT_BREAKER_AFTER = 5


class EndpointUnreachable(ConnectionError):
    """The endpoint could not be reached; the message names its URL (credentials masked)."""


def _chain(exc: BaseException):
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def connection_failure(exc: BaseException) -> tuple[str, bool] | None:
    """``(reason, retryable)`` when ``exc`` means the request never reached the server.

    Reads the exception chain by class name for the HTTP layer (``ConnectError`` and
    ``ConnectTimeout`` of httpx, httpx2 and httpcore alike) and by type for the OS errors under it.
    """
    names = {type(e).__name__ for e in _chain(exc)}
    if any(isinstance(e, ConnectionRefusedError) for e in _chain(exc)):
        return "connection refused", False
    if any(isinstance(e, socket.gaierror) for e in _chain(exc)):
        return "DNS lookup failed", False
    if "ConnectTimeout" in names:
        return "connect timeout", True
    if "ConnectError" in names:
        return "cannot connect", False
    return None


def unreachable(url: str, reason: str) -> EndpointUnreachable:
    return EndpointUnreachable(f"endpoint {redact(url)} unreachable: {reason}")


class CircuitBreaker:
    """Opens after ``threshold`` consecutive connection failures; stays open for its life."""

    def __init__(self, url: str, threshold: int = DEFAULT_BREAKER_AFTER):
        if threshold < 1:
            raise ValueError(f"the circuit breaker needs a threshold of 1 or more, not {threshold}")
        self.url, self.threshold = url, threshold
        self._lock = threading.Lock()
        self._failures = 0
        self._last_reason = ""
        self.opened = False

    def check(self) -> None:
        """Raise ``EndpointUnreachable`` when the breaker is open (call before each request)."""
        with self._lock:
            if self.opened:
                raise unreachable(
                    self.url,
                    f"circuit open after {self.threshold} failures ({self._last_reason})",
                )

    def failed(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            self._last_reason = reason
            if self._failures >= self.threshold:
                self.opened = True

    def connected(self) -> None:
        with self._lock:
            self._failures = 0

    @property
    def failures(self) -> int:
        return self._failures
