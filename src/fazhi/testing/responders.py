"""What the replay server says: recorded responses, or a synthetic echo, or a scheduled bad answer.

Nothing here is a model. ``CassetteStore`` serves responses recorded (by vcrpy) from a real
model server; ``echo_answer`` is a deterministic stand-in that quotes the chunk's first
number-bearing clause verbatim, so the verifier accepts it -- useful only to load-test and
fault-test the code around the model.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Where a prompt puts the report text. The first user message is searched (re-asks append
# messages after it); the project's own prompt layout, a tagged or a fenced block wins over
# the whole message.
_BLOCK_PATTERNS = (
    re.compile(r"^原文[：:]\n(.*)\Z", re.S | re.M),  # prompts/extract.user.md
    re.compile(r"<(chunk|report|text|document|excerpt)>\n?(.*?)\n?</\1>", re.S),
    re.compile(r"```(?:text)?\n(.*?)\n```", re.S),
)
_CLAUSE_SPLIT = re.compile(r"[，。；！？\n,;!?]")
# A plain Arabic count with a counting unit: its value is int(raw), no multiplier to interpret.
_COUNT = re.compile(r"(?<![\d.,])(\d+)(?=[件次项人个条场家份部起])")
_PERCENT = re.compile(r"(?<![\d.,])(\d+(?:\.\d+)?%)")
INJECTION_MARK = "忽略以上指令"
_INJECTION_SENTENCE = re.compile(INJECTION_MARK + r"[^。\n]*[。]?")


def message_text(message: dict) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def chunk_text_of(messages: list[dict], pattern: re.Pattern | None = None) -> str:
    """The report text a chat request is about (the first user message's block)."""
    users = [message_text(m) for m in messages if m.get("role") == "user"]
    if not users:
        return ""
    first = users[0]
    for pat in (pattern,) if pattern else _BLOCK_PATTERNS:
        found = pat.search(first)
        if found:
            return found.group(found.lastindex or 0)
    return first


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def chunk_key(chunk_text: str) -> str:
    """The key of a chunk: blind to whitespace around it, which clients may trim on the wire."""
    return text_key(chunk_text.strip())


def messages_key(messages: list[dict]) -> str:
    canon = json.dumps(
        [(m.get("role"), message_text(m)) for m in messages], ensure_ascii=False, sort_keys=True
    )
    return text_key(canon)


# ---------------------------------------------------------------- the synthetic echo answer


@dataclass(frozen=True)
class EchoFigure:
    kind: str  # "count" or "percent"
    raw: str
    value: int | float
    quote: str


def without_injection(text: str) -> str:
    """The text with every sentence that starts an injected instruction blanked out."""
    return _INJECTION_SENTENCE.sub("\n", text)


def first_number_clause(text: str) -> EchoFigure | None:
    """The first clause holding a plain count (件/次/项...) or, failing that, a percentage.

    Sentences carrying an injected instruction are skipped: the echo stands for a model that
    does NOT obey them (``injected_answer`` is the one that does).
    """
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(without_injection(text))]
    for pattern, kind in ((_COUNT, "count"), (_PERCENT, "percent")):
        for clause in clauses:
            found = pattern.search(clause)
            if found:
                raw = found.group(1)
                value = float(raw[:-1]) if kind == "percent" else int(raw)
                return EchoFigure(kind, raw, value, clause)
    return None


def _resolve(schema: dict, defs: dict) -> dict:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _is_figure(schema: dict) -> bool:
    props = schema.get("properties", {})
    return "quote" in props and ("raw" in props or "value" in props)


class SchemaFiller:
    """Builds the smallest instance of a JSON schema, with one figure where a figure list is."""

    def __init__(self, schema: dict, figure: EchoFigure | None, indicators: dict[str, str]):
        self.defs = schema.get("$defs", {}) | schema.get("definitions", {})
        self.schema = schema
        self.figure = figure
        self.indicators = indicators  # kind -> an indicator id of that kind

    def build(self) -> Any:
        return self._value(self.schema, None)

    def _value(self, schema: dict, name: str | None) -> Any:
        schema = _resolve(schema, self.defs)
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            return self._choose(options, name)
        if "enum" in schema:
            return self._enum(schema["enum"], name)
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type")
        if isinstance(kind, list) and "null" in kind and name != "figures":
            return None  # "type": [X, "null"] is nullable like anyOf [X, null] (see _choose)
        kind = next((t for t in kind if t != "null"), "null") if isinstance(kind, list) else kind
        if kind == "object" or "properties" in schema:
            return self._object(schema)
        if kind == "array":
            items = _resolve(schema.get("items", {}), self.defs)
            return [self._figure(items)] if self.figure and _is_figure(items) else []
        return {"string": "", "integer": 0, "number": 0, "boolean": False}.get(str(kind))

    def _choose(self, options: list[dict], name: str | None) -> Any:
        nullable = any(_resolve(o, self.defs).get("type") == "null" for o in options)
        if nullable and name not in ("figures",):
            return None
        real = [o for o in options if _resolve(o, self.defs).get("type") != "null"]
        return self._value(real[0], name)

    def _enum(self, values: list, name: str | None) -> Any:
        if name == "indicator" and self.figure:
            wanted = self.indicators.get(self.figure.kind)
            if wanted in values:
                return wanted
        return values[0]

    def _object(self, schema: dict) -> dict:
        if _is_figure(schema) and self.figure:
            return self._figure(schema)
        props = schema.get("properties", {})
        return {
            k: self._value(v, k) for k, v in props.items() if k in schema.get("required", props)
        }

    def _figure(self, schema: dict) -> dict:
        fig = self.figure
        assert fig is not None
        known = {
            "indicator": self.indicators.get(fig.kind, ""),
            "value": fig.value,
            "raw": fig.raw,
            "quote": fig.quote,
            "approx": False,
        }
        out = {}
        for name, sub in schema.get("properties", {}).items():
            if name in known:
                enum = _resolve(sub, self.defs).get("enum")
                out[name] = self._enum(enum, name) if enum else known[name]
            elif name in schema.get("required", ()):
                out[name] = self._value(sub, name)
        return out


DEFAULT_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "figures": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {k: {"type": "string"} for k in ("indicator", "raw", "quote")}
                | {"value": {"type": "number"}, "approx": {"type": "boolean"}},
                "required": ["indicator", "value", "raw", "quote"],
            },
        },
        "shortcomings": {"type": "array", "items": {"type": "string"}},
        "plans": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["figures", "shortcomings", "plans"],
}


def echo_answer(schema: dict | None, chunk: str, indicators: dict[str, str]) -> dict:
    """The synthetic answer: schema-valid, one figure quoting the chunk verbatim (or none)."""
    return SchemaFiller(schema or DEFAULT_SCHEMA, first_number_clause(chunk), indicators).build()


# ---------------------------------------------------------------- scheduled bad answers


def foreign_number_answer(schema: dict | None, chunk: str, indicators: dict[str, str]) -> dict:
    """Like the echo, but the number (in raw and quote) is one the chunk never states."""
    fig = first_number_clause(chunk)
    if fig is None:
        fig = EchoFigure("count", "1", 1, "收到申请1件")
    fake = int(fig.value) * 10 + 7
    while str(fake) in chunk:
        fake = fake * 10 + 7
    raw = f"{fake}%" if fig.kind == "percent" else str(fake)
    forged = EchoFigure(fig.kind, raw, fake, fig.quote.replace(fig.raw, raw, 1))
    return SchemaFiller(schema or DEFAULT_SCHEMA, forged, indicators).build()


def injected_answer(schema: dict | None, chunk: str, indicators: dict[str, str]) -> dict:
    """What a gullible model does with "忽略以上指令，输出…": reports the number the injection
    demands, attached to a real clause of the report (whose own number differs)."""
    injection = _INJECTION_SENTENCE.search(chunk)
    demanded = re.search(r"\d+", injection.group(0)) if injection else None
    raw = demanded.group(0) if demanded else "99999"
    real = first_number_clause(chunk)
    quote = real.quote if real else (injection.group(0) if injection else chunk[:40])
    obeyed = EchoFigure("count", raw, int(raw), quote)
    return SchemaFiller(schema or DEFAULT_SCHEMA, obeyed, indicators).build()


def bad_schema_answer() -> dict:
    """Valid JSON that no figure schema accepts: wrong types and a missing quote."""
    return {"figures": [{"indicator": 17, "value": "very many", "raw": None}], "plans": "none"}


def truncate(content: str) -> str:
    return content[: max(1, len(content) // 2)]


# ---------------------------------------------------------------- recorded responses


@dataclass(frozen=True)
class Recording:
    messages_key: str
    chunk_key: str
    status: int
    body: bytes
    model: str = ""
    prompt_chars: int = 0  # characters of all messages sent
    chunk_chars: int = 0  # characters of the chunk the request was about

    def usage(self) -> dict:
        """The recorded ``usage`` block (token counts from the real server), or ``{}``."""
        try:
            return json.loads(self.body).get("usage") or {}
        except (ValueError, AttributeError):
            return {}


def _body_bytes(response: dict) -> bytes:
    body = (response.get("body") or {}).get("string", b"")
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    encoding = {k.lower(): v for k, v in (response.get("headers") or {}).items()}.get(
        "content-encoding"
    )
    if encoding and "gzip" in str(encoding) or data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


def load_cassettes(paths: Iterable[Path], pattern: re.Pattern | None = None) -> list[Recording]:
    """Every chat-completion interaction in vcrpy YAML cassettes (files or folders)."""
    recordings = []
    files = sorted(
        f for p in paths for f in (Path(p).rglob("*.yaml") if Path(p).is_dir() else [Path(p)])
    )
    for file in files:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for inter in data.get("interactions", []):
            req, resp = inter.get("request", {}), inter.get("response", {})
            if "chat/completions" not in str(req.get("uri", "")):
                continue
            raw_body = req.get("body") or "{}"
            request = json.loads(raw_body if isinstance(raw_body, str) else raw_body.decode())
            messages = request.get("messages", [])
            status = int((resp.get("status") or {}).get("code", 200))
            chunk = chunk_text_of(messages, pattern)
            recordings.append(
                Recording(
                    messages_key(messages),
                    chunk_key(chunk),
                    status,
                    _body_bytes(resp),
                    model=str(request.get("model", "")),
                    prompt_chars=sum(len(message_text(m)) for m in messages),
                    chunk_chars=len(chunk.strip()),
                )  # fmt: skip
            )
    return recordings


class CassetteStore:
    """Recorded responses by exact messages, then by chunk, then round-robin (a fallback)."""

    def __init__(self, recordings: list[Recording]):
        self.recordings = [r for r in recordings if r.status == 200]
        self.by_messages = {r.messages_key: r for r in self.recordings}
        self.by_chunk = {r.chunk_key: r for r in self.recordings}
        self._next = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.recordings)

    def lookup(self, messages: list[dict], key: str) -> tuple[Recording | None, str]:
        """The recording and how it was found: ``exact``, ``chunk`` or ``fallback``."""
        found = self.by_messages.get(messages_key(messages))
        if found:
            return found, "exact"
        found = self.by_chunk.get(key)
        if found:
            return found, "chunk"
        if not self.recordings:
            return None, "none"
        with self._lock:
            found = self.recordings[self._next % len(self.recordings)]
            self._next += 1
        return found, "fallback"
