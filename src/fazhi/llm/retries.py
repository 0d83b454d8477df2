"""Transport retries under instructor: exponential backoff with jitter on 429, 5xx, timeouts and
dropped connections, honouring ``Retry-After``; a refused connection or an unknown host name is
not retried but raises ``EndpointUnreachable`` at once and feeds the circuit breaker
(``fazhi.llm.reachability``). ``fazhi.llm.client.make_client`` wraps every request in
``with_retries``.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from fazhi.llm.reachability import CircuitBreaker, connection_failure, unreachable
from fazhi.llm.redact import redact

log = logging.getLogger("fazhi.llm")

RETRY_AFTER_CAP = 120.0  # seconds: a server asking for longer is treated as down
# Answers that every later request would get as well -- wrong key, no access, wrong URL or
# model -- so they count towards the circuit breaker like a refused connection.
ENDPOINT_REFUSALS = (401, 403, 404)


def retryable(exc: BaseException) -> bool:
    """429, any 5xx, timeouts and dropped connections; never 4xx mistakes of our own, nor a
    refused connection or an unknown host name (the next try meets the same closed port)."""
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        failure = connection_failure(exc)
        return failure is None or failure[1]
    if isinstance(exc, (openai.RateLimitError, openai.InternalServerError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After``: seconds or an HTTP date)."""
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    if re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        return min(float(value), RETRY_AFTER_CAP)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return min(max(when - time.time(), 0.0), RETRY_AFTER_CAP)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # per HTTP request, first try included
    initial: float = (
        1.0  # seconds: the n-th retry waits initial * 2**(n-1) plus up to 1 s of jitter
    )
    maximum: float = 30.0
    sleep: Callable[[float], Awaitable[None]] | None = None  # tests inject a recorder

    def wait(self, state: RetryCallState) -> float:
        asked = retry_after(state.outcome.exception() if state.outcome else None)
        if asked is not None:
            return asked
        return wait_exponential_jitter(multiplier=self.initial, max=self.maximum)(state)


def _retry_logger(url: str) -> Callable[[RetryCallState], None]:
    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "LLM request to %s failed (%s); retry %d in %.1f s",
            redact(url), type(exc).__name__, state.attempt_number, wait,
        )  # fmt: skip

    return log_retry


def _guarded(
    create: Callable[..., Awaitable[Any]], url: str, breaker: CircuitBreaker | None
) -> Callable[..., Awaitable[Any]]:
    """One request that asks the breaker first and tells it whether a connection was made."""

    async def attempt(*args: Any, **kwargs: Any) -> Any:
        if breaker is not None:
            breaker.check()
        try:
            result = await create(*args, **kwargs)
        except openai.APIConnectionError as exc:
            failure = connection_failure(exc)
            if failure is None:  # connected, then timed out or dropped: the server is there
                if breaker is not None:
                    breaker.connected()
                raise
            reason, worth_retrying = failure
            if breaker is not None:
                breaker.failed(reason)
            if worth_retrying:
                raise
            raise unreachable(url, reason) from exc
        except openai.APIStatusError as exc:
            if breaker is not None and exc.status_code in ENDPOINT_REFUSALS:
                breaker.failed(f"HTTP {exc.status_code}")
            elif breaker is not None:
                breaker.connected()
            raise
        if breaker is not None:
            breaker.connected()
        return result

    return attempt


def with_retries(
    create: Callable[..., Awaitable[Any]],
    policy: RetryPolicy,
    *,
    url: str = "",
    breaker: CircuitBreaker | None = None,
) -> Callable[..., Awaitable[Any]]:
    """``create`` retried on transient failures, bounded by ``policy.attempts``; a request that
    cannot connect for good raises ``EndpointUnreachable`` naming ``url``."""
    attempt_once = _guarded(create, url, breaker)

    async def create_with_retries(*args: Any, **kwargs: Any) -> Any:
        options: dict[str, Any] = {"sleep": policy.sleep} if policy.sleep is not None else {}
        retrying = AsyncRetrying(
            retry=retry_if_exception(retryable),
            wait=policy.wait,
            stop=stop_after_attempt(policy.attempts),
            before_sleep=_retry_logger(url),
            reraise=True,
            **options,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await attempt_once(*args, **kwargs)
        except openai.APIConnectionError as exc:  # e.g. connect timeouts until the last try
            failure = connection_failure(exc)
            if failure is None:
                raise
            raise unreachable(url, failure[0]) from exc

    return create_with_retries
