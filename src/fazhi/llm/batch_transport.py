"""Answers from a provider batch instead of the network: the Batch API mode's one seam.

A backend runs exactly as it does synchronously -- same prompts, same instructor validation,
same re-asks, splits and cache -- but its chat requests go to ``BatchTransport`` instead of an
HTTP client. A request whose answer a batch already returned gets that answer (the provider's
``chat.completion`` body); any other request is written down as still needed and fails with
``NotInBatch``, which the backend records as a chunk error like any failed request. Running a
report once with the answers known so far therefore yields both the requests of the next batch
round (first requests, then re-asks and split halves) and, once nothing is missing, its answers.

A request's ``custom_id`` is a hash of its body, so the same request (an identical chunk in two
reports, a re-run) is asked once, and an answer can never be matched to another request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import instructor
import openai
from instructor import Mode
from openai.types.chat import ChatCompletion

from fazhi.llm.client import LOCAL_PLACEHOLDER_KEY, Endpoint


def request_id(body: Mapping[str, Any]) -> str:
    """The ``custom_id`` of a request body: sha256 of its canonical JSON."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "fz-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


class NotInBatch(openai.APIConnectionError):
    """A request no batch has answered (yet): the chunk fails like a request that failed."""

    def __init__(self, custom_id: str, why: str | None = None):
        detail = f" ({why})" if why else ""
        message = f"no batch answer for request {custom_id}{detail}"
        # no HTTP request was made: there is none to attach
        super().__init__(message=message, request=None)  # type: ignore[arg-type]


class BatchTransport:
    """``chat.completions.create`` answered from ``responses`` (custom_id → completion body).

    ``failures`` (custom_id → one line) says why a request is still missing, for the chunk error
    of a request the batch rounds gave up on. ``pending`` collects every request asked for and
    not answered, by custom_id: the next round's batch lines.
    """

    def __init__(
        self, responses: Mapping[str, dict], failures: Mapping[str, str] | None = None
    ) -> None:
        self.responses = responses
        self.failures = failures or {}
        self.pending: dict[str, dict[str, Any]] = {}

    async def __call__(self, *args: Any, **body: Any) -> ChatCompletion:
        custom_id = request_id(body)
        answer = self.responses.get(custom_id)
        if answer is None:
            self.pending[custom_id] = body
            raise NotInBatch(custom_id, self.failures.get(custom_id))
        return ChatCompletion.model_validate(answer)


def batch_client(endpoint: Endpoint, transport: BatchTransport) -> instructor.AsyncInstructor:
    """An instructor client like ``make_client``'s whose requests go to ``transport``.

    No key is read and no connection is made: the transport answers or says what is missing.
    """
    raw = openai.AsyncOpenAI(api_key=LOCAL_PLACEHOLDER_KEY, base_url=endpoint.base_url)

    async def create(*args: Any, **body: Any) -> ChatCompletion:  # instructor wants a function
        return await transport(*args, **body)

    raw.chat.completions.create = create  # type: ignore[method-assign,assignment]
    return instructor.from_openai(raw, mode=Mode[endpoint.mode])


class ReadOnlyCache:
    """A backend's answer cache seen without writes: asking what a round needs must not store
    answers (the final run stores them, with their usage counted once)."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache

    def get(self, key: str) -> str | None:
        return self.cache.get(key) if self.cache is not None else None

    def put(self, key: str, value: str) -> None:
        pass
