"""What the replay server answers to one chat request: a recorded or synthetic ``chat.completion``.

Shared by ``POST /v1/chat/completions`` (``fazhi.testing.replay_server``) and the lines of a
batch (``fazhi.testing.batch_api``), so a batch line gets exactly the answer the same request
would get synchronously.
"""

from __future__ import annotations

import json
import time
from typing import Protocol

from fazhi.testing import responders


class Answering(Protocol):
    """The server's settings a completion depends on (``ReplayServer``)."""

    mode: str
    store: responders.CassetteStore
    indicators: dict[str, str]
    model: str


def completion(
    server: Answering, request: dict, messages: list, text: str, fault: str | None
) -> tuple[bytes, str]:
    """The response body and where it came from (``exact``/``chunk``/``fallback``, ``echo`` or
    the fault's name)."""
    if server.mode == "replay" and fault is None:
        found, how = server.store.lookup(messages, responders.chunk_key(text))
        if found is not None:
            return found.body, how
    schema = requested_schema(request)
    ind = server.indicators
    answer = {
        "bad_schema": lambda: responders.bad_schema_answer(),
        "foreign_number": lambda: responders.foreign_number_answer(schema, text, ind),
        "obey_injection": lambda: responders.injected_answer(schema, text, ind),
    }.get(fault or "", lambda: responders.echo_answer(schema, text, ind))()
    content = json.dumps(answer, ensure_ascii=False)
    finish = "stop"
    if fault == "truncated":
        content, finish = responders.truncate(content), "length"
    prompt_chars = sum(len(responders.message_text(m)) for m in messages)
    body = chat_completion(request, content, finish, prompt_chars, server.model)
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), (
        "echo" if fault is None else fault
    )


def requested_schema(request: dict) -> dict | None:
    """The JSON schema the client asked for (json_schema response_format, or the first tool)."""
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema")
    tools = request.get("tools") or []
    if tools:
        return (tools[0].get("function") or {}).get("parameters")
    return None


def chat_completion(
    request: dict, content: str, finish: str, prompt_chars: int, model: str
) -> dict:
    """An OpenAI chat.completion; usage is an ESTIMATE (chars / 1.5), marked as such."""
    message: dict = {"role": "assistant", "content": content}
    tools = request.get("tools") or []
    if tools:  # TOOLS mode: the answer travels as the first tool's arguments
        name = (tools[0].get("function") or {}).get("name", "answer")
        call = {
            "id": "call_replay",
            "type": "function",
            "function": {"name": name, "arguments": content},
        }
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls" if finish == "stop" else finish
    prompt_tokens, completion_tokens = round(prompt_chars / 1.5), round(len(content) / 1.5)
    return {
        "id": "chatcmpl-replay",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model") or model,
        "system_fingerprint": "replay-echo-estimated-usage",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
