"""Label mode, the LLM backend's default style: the code finds, the model labels.

Each request shows a chunk of the report with every candidate number and every sentence that may
be a shortcoming or plan marked by a short id (``fazhi.backends.label_view``); the model answers
only ``{candidate id -> indicator id, scope}``, the sentence ids of shortcomings and plans, and
the meta fields. Quote, raw, value, approx and every span come from the source index
(``fazhi.backends.label_answers``), so a quote cannot be mistyped; the pipeline's ``verify``
still checks every figure.

- **One request per report** where the model's context allows: the backend's preferred chunk
  size follows from a context budget per model (``context_tokens``, else ``CONTEXT_TOKENS`` for
  hosted models, else ``LOCAL_CONTEXT_TOKENS``). The system message (instructions + catalog) is
  byte-identical across requests, so prompt caches apply; the catalog is sent once (the schema
  has no enum).
- **No silent caps**: the schema caps no list. An answer cut off (``finish_reason == "length"``)
  is not used: its span is cut in two at a sentence boundary and each half asked again, down to
  a single sentence, then its candidates in halves (at most ``max_splits`` times a chunk); a
  part whose answer is still cut off is recorded as lost (a ``model_gave_up`` rejection per
  candidate and the chunk's ``error``, so the report counts as incomplete).
- **Re-asks in Chinese**, one line per problem naming the item and the fix
  (``fazhi.backends.label_answers.problems``), up to ``max_reasks``; what is still wrong then is
  proposed as it is and rejected by ``verify`` with its code.
- Each span's final answer is cached by the request's text, model, endpoint, mode, prompt
  version and parameters.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fazhi.backends.label_answers import problems, proposals
from fazhi.backends.label_view import DEFAULT_VIEW, VIEWS, Layout, Part, View, render, split
from fazhi.backends.llm import ChunkStats, LLMBackend
from fazhi.index import SourceIndex, index_of, index_text
from fazhi.llm.batch_transport import BatchTransport
from fazhi.llm.cache import cache_key
from fazhi.llm.client import CallLog, ask, parse_reply_json
from fazhi.llm.label_prompts import LabelPrompts, load_label_prompts
from fazhi.llm.label_schema import LabelReply
from fazhi.model import Chunk, ChunkAnswer, Rejection, Source, Usage
from fazhi.text import estimate_tokens

STYLES = ("label", "quote")
DEFAULT_STYLE = "label"
# Context windows of hosted model families (tokens), matched on the model name's start.
CONTEXT_TOKENS = {
    "gpt-4o": 128_000, "gpt-4.1": 1_000_000, "gpt-5": 400_000, "o3": 200_000, "o4": 200_000,
    "deepseek": 64_000, "qwen-": 128_000, "qwen2.5": 32_768, "qwen3": 128_000, "claude": 200_000,
}  # fmt: skip
LOCAL_CONTEXT_TOKENS = 8_192  # scripts/serve-model's default n_ctx; pass context_tokens for more
DEFAULT_MAX_TOKENS = 4_096
MARKED_TEXT_FACTOR = 1.3  # ids after numbers and before sentences: tokens of a marked character
MAX_SPLITS = 32  # per chunk: beyond this a runaway model's remaining parts are recorded as lost
LABEL_TOKENS_PER_CANDIDATE = 12  # {"id": "n12", "indicator": "...", "scope": ...}, for dry runs


def context_budget(model: str, local: bool, given: int | None = None) -> int:
    """Tokens a request may use: as given, else the hosted family's window, else the local one."""
    if given:
        return given
    if not local:
        name = model.lower().rsplit("/", 1)[-1]
        for prefix, tokens in sorted(CONTEXT_TOKENS.items(), key=lambda kv: -len(kv[0])):
            if name.startswith(prefix):
                return tokens
    return LOCAL_CONTEXT_TOKENS


@dataclass
class SpanOutcome:
    """One span's conversation: the answer (None if never JSON), what is still wrong, the cost."""

    data: dict[str, Any] | None = None
    remaining: list[str] = field(default_factory=list)
    cut: bool = False
    cached: bool = False
    usage: Usage = field(default_factory=Usage)
    cached_prompt_tokens: int = 0
    seconds: float = 0.0
    finish_reason: str | None = None


class LabelBackend(LLMBackend):
    """The LLM backend in label mode (``--llm-style label``); ``LLMBackend`` is the quote style."""

    style = "label"

    def __init__(
        self,
        model: str,
        *,
        view: str = DEFAULT_VIEW,
        context_tokens: int | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        max_splits: int = MAX_SPLITS,
        prompts_dir: str | Path | None = None,
        **options: Any,
    ):
        super().__init__(model, max_tokens=max_tokens, prompts_dir=prompts_dir, **options)
        if view not in VIEWS:
            raise ValueError(f"unknown label view {view!r}; choose one of {', '.join(VIEWS)}")
        self.view = view
        self.max_splits = max_splits
        folder = Path(prompts_dir) if prompts_dir else None
        self.label_prompts: LabelPrompts = load_label_prompts(self.catalog, folder)
        self.context_tokens = context_budget(self.model, self.endpoint.local, context_tokens)
        # what the cache key holds beside the request text (the quote style's params + these)
        self.label_params: dict[str, Any] = {**self.params, "style": "label", "view": view}

    @property
    def prompt_version(self) -> str:
        return self.label_prompts.version

    @property
    def preferred_chunk_size(self) -> int:  # type: ignore[override]
        """Characters of report per request that fit the context budget with room to answer."""
        fixed = estimate_tokens(self.label_prompts.system) + self.params["max_tokens"]
        room = max(self.context_tokens - fixed, 1_000)
        chars_per_token = 1 / (0.67 * MARKED_TEXT_FACTOR)  # fazhi.text's Chinese rate
        return max(int(room * chars_per_token * 0.9), 500)

    # --- answering ---------------------------------------------------------------------------

    def answer_with_stats(
        self, chunks: Sequence[Chunk], source: Source
    ) -> tuple[list[ChunkAnswer], list[ChunkStats]]:
        from fazhi.backends.llm import _run

        answers, stats = _run(self._label_all(chunks, source))
        self._this_thread.stats = stats
        return answers, stats

    async def answer_async(self, chunks: Sequence[Chunk], source: Source) -> list[ChunkAnswer]:
        answers, self._this_thread.stats = await self._label_all(chunks, source)
        return answers

    async def _answers(
        self, chunks: Sequence[Chunk], source: Source, transport: BatchTransport | None = None
    ) -> tuple[list[ChunkAnswer], list[ChunkStats]]:
        return await self._label_all(chunks, source, transport)

    async def _label_all(
        self, chunks: Sequence[Chunk], source: Source, transport: BatchTransport | None = None
    ) -> tuple[list[ChunkAnswer], list[ChunkStats]]:
        index = index_of(source)
        layout = Layout.of(index)
        # the quote style's client and circuit breaker: a batch stops asking a dead endpoint; in
        # Batch API mode the answers come from the batch (fazhi.backends.llm_batch)
        gate = asyncio.Semaphore(self.concurrency)
        async with self._client(transport) as client:
            results = await asyncio.gather(
                *(self._label_chunk(client, gate, c, index, layout) for c in chunks)
            )
        return [a for a, _ in results], [s for _, s in results]

    async def _label_chunk(
        self, client, gate, chunk: Chunk, index: SourceIndex, layout: Layout
    ) -> tuple[ChunkAnswer, ChunkStats]:
        stats = ChunkStats(chunk=chunk.index, chars=len(chunk.text))
        answer = ChunkAnswer(chunk=chunk.index)
        pending, lost, splits = [Part(chunk.start, chunk.end)], [], 0
        try:
            while pending:
                part = pending.pop(0)
                view = render(index, layout, part.start, part.end, self.view, part)
                if not (view.candidates or view.sentences or _touches(part, layout)):
                    continue
                async with gate:
                    outcome = await self._ask_span(client, view, chunk.text)
                _add_stats(stats, outcome)
                answer.usage = answer.usage + outcome.usage
                if outcome.cut:
                    halves = split(index, part, view) if splits < self.max_splits else [part]
                    splits += 1
                    if len(halves) == 2:
                        pending[0:0] = halves
                    else:
                        lost.append(view)
                    continue
                if outcome.data is None:  # not JSON after the re-asks: incomplete, never final
                    note = "model_gave_up: an answer was not JSON after the re-asks"
                    answer.error = f"{answer.error}; {note}" if answer.error else note
                    continue
                _extend(answer, proposals(outcome.data, view, chunk.index, index.text))
        except Exception as exc:  # a request that failed for good: recorded, the report goes on
            answer.error = self._failure(exc)  # names the endpoint, credentials masked
        if lost:
            answer = _record_lost(answer, lost, int(self.params["max_tokens"]))
        stats.error = answer.error
        stats.kept = len(answer.figures)
        stats.rejected = sum(r.what == "figure" for r in answer.rejected)
        stats.proposed = stats.kept + stats.rejected
        return answer, stats

    async def _ask_span(self, client, view: View, chunk_text: str) -> SpanOutcome:
        messages = self.label_prompts.messages(view.text)
        key = self._label_key(messages[-1]["content"])
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            return SpanOutcome(data=json.loads(cached), cached=True, usage=Usage(cached=1))
        outcome = SpanOutcome()
        started = time.perf_counter()
        for attempt in range(self.max_reasks + 1):
            log = await self._one_call(client, messages)
            outcome.usage = outcome.usage + Usage(
                prompt_tokens=log.prompt_tokens, completion_tokens=log.completion_tokens,
                calls=log.calls, reasks=1 if attempt else 0,
            )  # fmt: skip
            outcome.cached_prompt_tokens += log.cached_prompt_tokens
            outcome.finish_reason = log.finish_reason
            if log.finish_reason == "length":
                outcome.cut = True
                break
            outcome.data = parse_reply_json(log.last_text)
            outcome.remaining = problems(outcome.data, view, self.catalog, chunk_text)
            if not outcome.remaining or attempt == self.max_reasks:
                break
            messages = [
                *messages,
                {"role": "assistant", "content": log.last_text or ""},
                {"role": "user", "content": self.label_prompts.reask(outcome.remaining)},
            ]
        outcome.seconds = time.perf_counter() - started
        if self.cache is not None and not outcome.cut and outcome.data is not None:
            self.cache.put(key, json.dumps(outcome.data, ensure_ascii=False))
        return outcome

    async def _one_call(self, client, messages: list[dict[str, str]]) -> CallLog:
        result = await ask(
            client, self.endpoint, LabelReply, messages, max_reasks=0,
            temperature=self.params["temperature"], max_tokens=int(self.params["max_tokens"]),
        )  # fmt: skip
        return result.log

    def _label_key(self, user_text: str) -> str:
        e = self.endpoint
        return cache_key(
            model=e.model, base_url=e.base_url, mode=e.mode, prompt_version=self.prompt_version,
            text=user_text, params=self.label_params,
        )  # fmt: skip

    # --- dry runs ----------------------------------------------------------------------------

    def requests(self, chunks: Sequence[Chunk], source: Source) -> list[list[dict[str, str]]]:
        """The first request of every span the backend would send for ``chunks`` (no re-asks,
        no splits): what the benchmarks count."""
        index = index_of(source)
        layout = Layout.of(index)
        found = []
        for chunk in chunks:
            view = render(index, layout, chunk.start, chunk.end, self.view)
            if view.candidates or view.sentences or _touches((chunk.start, chunk.end), layout):
                found.append(self.label_prompts.messages(view.text))
        return found

    def estimate_tokens(self, chunks: Sequence[Chunk], **_: Any) -> tuple[int, int]:
        """(prompt, completion) tokens of one pass over ``chunks``, no re-asks; calls nothing.
        Completion: ``LABEL_TOKENS_PER_CANDIDATE`` per candidate shown, as if every one were
        labelled (an overcount: most numbers are dates, ordinals and the like)."""
        if not chunks:
            return 0, 0
        text = "".join(c.text for c in chunks) if chunks[0].start == 0 else chunks[0].text
        source = Source(text=text)
        prompt = sum(
            estimate_tokens(m["content"]) for req in self.requests(chunks, source) for m in req
        )
        index = index_text(text)
        layout = Layout.of(index)
        views = [render(index, layout, c.start, c.end, self.view) for c in chunks]
        return prompt, LABEL_TOKENS_PER_CANDIDATE * sum(len(v.candidates) for v in views)

    @property
    def estimate_basis(self) -> str:
        return (
            "estimate (label mode): the rendered requests counted by fazhi.text.estimate_tokens, "
            f"{LABEL_TOKENS_PER_CANDIDATE} answer tokens per marked candidate, no re-asks"
        )


def _touches(part: Part | tuple[int, int], layout: Layout) -> bool:
    start, end = (part.start, part.end) if isinstance(part, Part) else part
    return start < layout.header_end or end > layout.tail_start


def _add_stats(stats: ChunkStats, outcome: SpanOutcome) -> None:
    stats.cached = stats.cached or outcome.cached
    stats.calls += outcome.usage.calls
    stats.reasks += outcome.usage.reasks
    stats.prompt_tokens += outcome.usage.prompt_tokens
    stats.completion_tokens += outcome.usage.completion_tokens
    stats.cached_prompt_tokens += outcome.cached_prompt_tokens
    stats.seconds = round(stats.seconds + outcome.seconds, 2)
    stats.finish_reason = outcome.finish_reason or stats.finish_reason


def _extend(answer: ChunkAnswer, more: ChunkAnswer) -> None:
    answer.figures.extend(more.figures)
    answer.shortcomings.extend(more.shortcomings)
    answer.plans.extend(more.plans)
    answer.rejected.extend(more.rejected)
    if more.meta is not None:
        merged = {**more.meta.model_dump(exclude_none=True)}
        if answer.meta is not None:
            merged = {**merged, **answer.meta.model_dump(exclude_none=True)}
        answer.meta = type(more.meta)(**merged)


def _record_lost(answer: ChunkAnswer, lost: list[View], max_tokens: int) -> ChunkAnswer:
    """Parts whose answer was cut off even when nothing was left to split: a rejection per
    candidate they held and the chunk's error, never silence."""
    for view in lost:
        for cid, candidate in view.candidates.items():
            reason = (
                f"answer cut off at max_tokens={max_tokens} for candidate {cid} (asked alone, or "
                "after max_splits): its label is lost"
            )
            item = {"id": cid, "raw": candidate.number.raw, "text": view.text[:200]}
            answer.rejected.append(
                Rejection(
                    what="figure",
                    code="model_gave_up",
                    reason=reason,
                    item=item,
                    chunk=answer.chunk,
                )  # fmt: skip
            )
    note = (
        f"labels lost: {len(lost)} request(s) cut off at max_tokens={max_tokens}, not split further"
    )
    answer.error = f"{answer.error}; {note}" if answer.error else note
    return answer
