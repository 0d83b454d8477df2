"""Tokens per report by chunk size: recorded where cassettes hold the chunk, else estimated.

For every chunk of every report at a chunk size, the usage a real model server reported for
that chunk (summed over re-asks) is taken from the vcrpy cassettes in ``cassettes/`` when one
of them holds a request about exactly that chunk text. Otherwise the tokens are estimated:
prompt = characters of the rendered messages x tokens-per-character measured on the
recordings of that model (each model's own tokenizer); completion = chunk characters x
completion-tokens-per-chunk-character measured the same way. Without any recording of a model
the shared estimate is used: ``fazhi.text.estimate_tokens`` of the rendered messages, and the
LLM backend's answer tokens per call spread over its preferred chunk size (said in the table).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fazhi.backends.llm import COMPLETION_TOKENS_PER_CALL, PREFERRED_CHUNK_SIZE
from fazhi.chunking import chunk_source
from fazhi.llm.prompts import PromptSet
from fazhi.model import Source
from fazhi.testing.responders import Recording, chunk_key
from fazhi.text import estimate_tokens

SIZES: tuple[int | None, ...] = (1000, 2000, 4000, None)  # None: the whole report as one chunk


@dataclass(frozen=True)
class Rates:
    """A model's measured rates.

    ``prompt_per_char=None`` means the shared estimate (no recordings)."""

    prompt_per_char: float | None
    completion_per_chunk_char: float
    basis: str

    def prompt(self, text: str) -> float:
        return (
            estimate_tokens(text)
            if self.prompt_per_char is None
            else len(text) * self.prompt_per_char
        )


SHARED_ESTIMATE = Rates(
    None,
    COMPLETION_TOKENS_PER_CALL / PREFERRED_CHUNK_SIZE,
    f"no recordings: fazhi.text.estimate_tokens; {COMPLETION_TOKENS_PER_CALL} answer tokens a "
    f"{PREFERRED_CHUNK_SIZE}-character chunk (fazhi.backends.llm)",
)


def rates_for(recordings: Sequence[Recording]) -> Rates:
    """Token rates measured on a model's recordings (or the shared estimate without any)."""
    usable = [
        (r, r.usage()) for r in recordings if r.usage().get("prompt_tokens") and r.prompt_chars
    ]
    if not usable:
        return SHARED_ESTIMATE
    prompt_tokens = sum(u["prompt_tokens"] for _, u in usable)
    completion_tokens = sum(u.get("completion_tokens", 0) for _, u in usable)
    prompt_chars = sum(r.prompt_chars for r, _ in usable)
    chunk_chars = sum(r.chunk_chars for r, _ in usable) or 1
    return Rates(
        prompt_tokens / prompt_chars,
        completion_tokens / chunk_chars,
        f"measured on {len(usable)} recorded calls: "
        f"{prompt_tokens / prompt_chars:.3f} prompt tokens/char",
    )


@dataclass
class SizeRow:
    model: str
    size: str
    reports: int = 0
    calls: int = 0
    prompt_tokens: float = 0
    completion_tokens: float = 0
    report_tokens: float = 0
    chunks: int = 0
    recorded_chunks: int = 0

    def cells(self) -> list[str]:
        n = max(self.reports, 1)
        own = max(self.report_tokens, 1)
        return [
            self.model, self.size, f"{self.calls / n:.1f}",
            f"{self.prompt_tokens / n:,.0f}", f"{self.completion_tokens / n:,.0f}",
            f"{self.prompt_tokens / own:.2f}", f"{self.completion_tokens / own:.2f}",
            f"{(self.prompt_tokens + self.completion_tokens) / own:.2f}",
            f"{self.recorded_chunks}/{self.chunks}",
        ]  # fmt: skip


HEADER = [
    "model", "chunk size", "calls/report", "prompt tok/report", "completion tok/report",
    "prompt ÷ report", "completion ÷ report", "total ÷ report", "chunks recorded",
]  # fmt: skip


def token_rows(
    sources: Mapping[str, Source], recordings: Sequence[Recording], prompts: PromptSet
) -> tuple[list[SizeRow], dict[str, Rates]]:
    """One row per (model, chunk size); the report's own tokens use the same per-char rate."""
    by_model: dict[str, list[Recording]] = defaultdict(list)
    for rec in recordings:
        by_model[rec.model or "?"].append(rec)
    models = sorted(by_model) or ["(no recordings: estimate)"]
    rates = {m: rates_for(by_model.get(m, [])) for m in models}
    rows = []
    for model in models:
        calls_by_chunk: dict[str, list[Recording]] = defaultdict(list)
        for rec in by_model.get(model, []):
            calls_by_chunk[rec.chunk_key].append(rec)
        for size in SIZES:
            rows.append(_size_row(model, size, sources, calls_by_chunk, rates[model], prompts))
    return rows, rates


def _size_row(model, size, sources, calls_by_chunk, rate: Rates, prompts: PromptSet) -> SizeRow:
    row = SizeRow(model, str(size) if size else "whole report")
    for source in sources.values():
        chunks = chunk_source(source, size=size or len(source.text) + 1)
        row.reports += 1
        row.report_tokens += rate.prompt(source.text)
        for chunk in chunks:
            row.chunks += 1
            recorded = calls_by_chunk.get(chunk_key(chunk.text), [])
            if recorded:
                row.recorded_chunks += 1
                row.calls += len(recorded)
                row.prompt_tokens += sum(r.usage().get("prompt_tokens", 0) for r in recorded)
                row.completion_tokens += sum(
                    r.usage().get("completion_tokens", 0) for r in recorded
                )
                continue
            messages = prompts.messages(chunk.text, chunk.headings)
            row.calls += 1
            row.prompt_tokens += rate.prompt("".join(m["content"] for m in messages))
            row.completion_tokens += len(chunk.text) * rate.completion_per_chunk_char
    return row
