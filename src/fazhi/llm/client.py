"""One client factory for any OpenAI-compatible endpoint, and one structured call per chunk.

- ``resolve_endpoint``: base URL (parameter, ``OPENAI_BASE_URL``, else api.openai.com), model,
  instructor mode (given, else JSON_SCHEMA for local servers such as llama.cpp, TOOLS for hosted
  APIs) and the name of the environment variable holding the key. A non-local endpoint without
  a key is one clear ``LLMConfigError``. The key itself is read only when the client is built and
  is never stored, logged or hashed.
- ``make_client``: an ``openai.AsyncOpenAI`` with its own retries off (``max_retries=0``) whose
  ``chat.completions.create`` is wrapped in ``fazhi.llm.retries.with_retries`` (tenacity on 429,
  5xx, timeouts and dropped connections; a refused connection fails at once), then patched by
  instructor. Transport retries sit under instructor, so a 429 during a re-ask repeats that one
  request, not the whole conversation.
- ``ask``: one instructor call, validated against the chunk's ``check``, with ``max_retries``
  re-asks (no instructor ``context=``: it would template the messages, see ``llm.schema``); a
  per-call hook on ``completion:response`` counts calls and tokens across re-asks and keeps the
  last raw completion, so an answer that never validates can still be salvaged figure by figure.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import ipaddress
import json
import logging
import os
import re
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import httpx2
import instructor
import openai
from instructor import Mode
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from instructor.core.hooks import Hooks
from pydantic import BaseModel

from fazhi.errors import FazhiError
from fazhi.llm.reachability import CircuitBreaker
from fazhi.llm.redact import has_credentials, install_log_redaction, redact
from fazhi.llm.retries import RetryPolicy, with_retries
from fazhi.llm.schema import Check, checking

log = logging.getLogger("fazhi.llm")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MODES = ("TOOLS", "JSON_SCHEMA", "JSON", "MD_JSON")
LOCAL_PLACEHOLDER_KEY = (
    "no-key-needed"  # the openai client insists on a string; local servers ignore it
)


class LLMConfigError(FazhiError, ValueError):
    """An endpoint that cannot be used as configured (one line for the user)."""


def is_local(base_url: str) -> bool:
    """Loopback, private-network or ``.local`` hosts: self-hosted servers (llama.cpp, vLLM ...)."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host in ("localhost", "0.0.0.0") or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def default_mode(base_url: str) -> str:
    # llama.cpp servers constrain output to a JSON schema but return no tool call for small
    # models; hosted APIs (OpenAI, DeepSeek, DashScope) all support tool calls.
    return "JSON_SCHEMA" if is_local(base_url) else "TOOLS"


def parse_mode(mode: str) -> str:
    name = mode.strip().upper().replace("-", "_")
    if name not in MODES:
        raise LLMConfigError(f"unknown instructor mode {mode!r}; choose one of {', '.join(MODES)}")
    return name


@dataclass(frozen=True)
class Endpoint:
    """Where and how to call a model. Holds the key's variable name, never the key."""

    model: str
    base_url: str
    mode: str
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 120.0

    @property
    def local(self) -> bool:
        return is_local(self.base_url)


def resolve_endpoint(
    model: str,
    base_url: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    mode: str | None = None,
    timeout: float = 120.0,
) -> Endpoint:
    """Fill the defaults from the environment and check that a key exists where one is needed."""
    if not model:
        raise LLMConfigError(
            "no model given: pass --model (e.g. gpt-4o-mini, or the name a local server uses)"
        )
    url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    if urlsplit(url).scheme not in ("http", "https"):
        raise LLMConfigError(f"base URL {redact(url)!r} is not an http(s) URL")
    if has_credentials(url):  # they would sit in logs, journals and shell histories
        raise LLMConfigError(
            f"base URL {redact(url)} carries credentials: remove them from the URL, put the key "
            "in an environment variable and pass its name with --api-key-env"
        )
    endpoint = Endpoint(
        model, url, parse_mode(mode) if mode else default_mode(url), api_key_env, timeout
    )
    if not endpoint.local and not os.environ.get(api_key_env):
        host = urlsplit(url).hostname
        raise LLMConfigError(f"{api_key_env} is not set: the endpoint {host} needs an API key")
    return endpoint


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # What the openai client would build for itself (the system's CA bundle), made once: loading
    # the bundle costs ~50 ms of CPU, and a batch makes a client per report (bench/run.py).
    return httpx2.create_ssl_context()


def make_client(
    endpoint: Endpoint, policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None
) -> instructor.AsyncInstructor:
    """An instructor client for ``endpoint``; the key is read here from the environment."""
    install_log_redaction()
    key = os.environ.get(endpoint.api_key_env) or LOCAL_PLACEHOLDER_KEY
    raw = openai.AsyncOpenAI(
        api_key=key, base_url=endpoint.base_url, timeout=endpoint.timeout, max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(verify=_tls_context()),
    )  # fmt: skip
    completions = raw.chat.completions
    completions.create = with_retries(  # type: ignore[method-assign,assignment]
        completions.create, policy or RetryPolicy(), url=endpoint.base_url, breaker=breaker
    )
    return instructor.from_openai(raw, mode=Mode[endpoint.mode])


# --- one structured call ----------------------------------------------------------------------


@dataclass
class CallLog:
    """What one chunk's conversation cost, and the last thing the model said."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = (
        0  # prompt tokens the server reused from its cache (llama.cpp, OpenAI)
    )
    seconds: float = 0.0
    last_text: str | None = None
    finish_reason: str | None = None
    errors: list[str] = field(default_factory=list)  # validation errors that caused re-asks

    @property
    def reasks(self) -> int:
        return max(self.calls - 1, 0)

    def record(self, response: Any) -> None:
        self.calls += 1
        usage = getattr(response, "usage", None)
        self.prompt_tokens += getattr(usage, "prompt_tokens", 0) or 0
        self.completion_tokens += getattr(usage, "completion_tokens", 0) or 0
        details = getattr(usage, "prompt_tokens_details", None)
        self.cached_prompt_tokens += getattr(details, "cached_tokens", 0) or 0
        choice = response.choices[0] if getattr(response, "choices", None) else None
        self.finish_reason = getattr(choice, "finish_reason", None)
        self.last_text = reply_text(choice.message) if choice else None


def reply_text(message: Any) -> str | None:
    """The JSON a model answered with, whatever the mode: a tool call's arguments or the content
    (without a Markdown code fence)."""
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        return calls[0].function.arguments
    content = getattr(message, "content", None)
    if content is None:
        return None
    fenced = re.search(r"```(?:json)?\s*(.*?)```", content, re.S)
    return fenced.group(1) if fenced else content


@functools.cache
def prepared_model(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` as instructor's ``ResponseSchema`` subclass with its JSON schema rendered once.

    Given a plain model, instructor builds that subclass and renders its JSON schema again on
    every call: a few ms of CPU a call that a batch at high concurrency waits on (bench/run.py).
    The request is the same byte for byte; the schema handed out is a copy.
    """
    wrapped = instructor.openai_schema(model)
    schema = wrapped.model_json_schema()

    def model_json_schema(cls: type[BaseModel], *args: Any, **kwargs: Any) -> dict[str, Any]:
        if args or kwargs:  # another rendering than instructor's: not cached
            return wrapped.model_json_schema(*args, **kwargs)  # the same fields and name
        return copy.deepcopy(schema)

    namespace = {"__doc__": wrapped.__doc__, "__module__": wrapped.__module__,
                 "model_json_schema": classmethod(model_json_schema)}  # fmt: skip
    metaclass: Any = type(wrapped)  # pydantic's, which builds the subclass
    return cast(type[BaseModel], metaclass(wrapped.__name__, (wrapped,), namespace))


@dataclass
class CallOutcome:
    reply: BaseModel | None  # the validated answer, or None when the re-asks ran out
    log: CallLog
    problem: str | None = None  # why there is no validated answer


def _transport_failure(exc: InstructorRetryException) -> BaseException | None:
    # instructor wraps every exception of its loop; a cause that is not a validation error is a
    # failed request (tenacity below already retried it), not a model that gave up.
    cause = exc.__cause__
    return cause if isinstance(cause, (openai.APIError, TimeoutError, OSError)) else None


async def ask(
    client: instructor.AsyncInstructor,
    endpoint: Endpoint,
    response_model: type[BaseModel],
    messages: list[dict[str, str]],
    *,
    check: Check | None = None,
    max_reasks: int,
    temperature: float,
    max_tokens: int,
) -> CallOutcome:
    """One chunk: the validated answer after up to ``max_reasks`` re-asks, or why there is none.

    Raises the transport error when a request failed for good (after the transport retries).
    """
    log_ = CallLog()
    hooks = Hooks()
    hooks.on("completion:response", log_.record)
    hooks.on("parse:error", lambda error, **_: log_.errors.append(str(error)))
    started = time.perf_counter()
    try:
        with checking(check) if check else contextlib.nullcontext():
            reply = await client.create(
                response_model=prepared_model(response_model),
                messages=messages,  # type: ignore[arg-type]
                model=endpoint.model,
                max_retries=max_reasks,
                hooks=hooks,
                temperature=temperature,
                max_tokens=max_tokens,
            )
        return CallOutcome(reply, log_)
    except IncompleteOutputException:
        return CallOutcome(
            None, log_, f"answer cut off at max_tokens={max_tokens} (finish_reason=length)"
        )
    except InstructorRetryException as exc:
        failure = _transport_failure(exc)
        if failure is not None:
            raise failure from exc
        return CallOutcome(None, log_, f"no valid answer after {log_.calls} attempt(s)")
    finally:
        log_.seconds = time.perf_counter() - started


def parse_reply_json(text: str | None) -> dict[str, Any] | None:
    """The last answer as a dict, tolerating a cut-off tail (complete items are kept)."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = _partial_json(text)
    return data if isinstance(data, dict) else None


def _partial_json(text: str) -> Any:
    from jiter import from_json  # instructor's own dependency; parses truncated JSON

    try:
        return from_json(text.encode("utf-8"), partial_mode="on")
    except ValueError:
        return None
