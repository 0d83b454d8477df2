"""The LLM backend: one instructor call per chunk, with the verifier wired into validation.

Each chunk's answer is validated against the chunk itself with the same checks the pipeline's
verifier applies to the whole report (``fazhi.verify.check_figure``, ``check_meta``,
``check_items``): a quote that is not in the chunk, a ``raw`` that is not a whole number inside
its quote, an unknown indicator ... becomes a validation error with the verifier's reason, and
instructor re-asks the model (``max_reasks`` times). Whatever still fails after that is neither
lost nor passed on: the last answer is taken apart, the figures that verify are kept and the
rest go to ``ChunkAnswer.rejected`` with the verifier's code (``model_gave_up`` when the last
answer is not even JSON). An answer cut off at ``max_tokens`` or not JSON at all is incomplete:
the chunk also gets ``error`` set, so it is never cached and the next run asks again.
Checking and taking an answer apart into proposals is ``backends/llm_answers.py``.

Chunks run concurrently (asyncio, ``concurrency`` at a time); each checked answer is cached on
disk, keyed by everything it depends on, so a second run makes no calls.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fazhi.backends.llm_answers import chunk_check, salvage, settle
from fazhi.backends.llm_batch import BatchSeam
from fazhi.catalog import Catalog, default_catalog
from fazhi.llm import loop
from fazhi.llm.batch_transport import BatchTransport, batch_client
from fazhi.llm.cache import AnswerCache, cache_key
from fazhi.llm.client import CallLog, RetryPolicy, ask, make_client, resolve_endpoint
from fazhi.llm.prompts import PromptSet, load_prompts, schema_prompt_text
from fazhi.llm.reachability import DEFAULT_BREAKER_AFTER, CircuitBreaker, EndpointUnreachable
from fazhi.llm.redact import redact
from fazhi.llm.schema import answer_model, schema_json
from fazhi.model import Chunk, ChunkAnswer, Source, Usage
from fazhi.text import TOKENS_PER_ASCII_CHAR, TOKENS_PER_NON_ASCII_CHAR, estimate_tokens

# Paragraph-sized chunks: on a ~400-character paragraph Qwen2.5-Coder-1.5B found 7 of 7 gold
# figures, on 1,500-character chunks 10 of 35. 1,000 characters is one or two paragraphs of these
# reports (~600 Qwen tokens), keeps a chunk's figures well under the schema's cap of 16, and the
# cached system prompt makes the extra calls cheap on a local server.
PREFERRED_CHUNK_SIZE = 1000

# The price of answers and re-asks, measured on the real recordings (cassettes/*.stats.json and
# *.yaml: Qwen2.5-Coder-1.5B on the five corpus reports, 42 chunks, 110 calls; SmolLM2-135M on
# kunshan-2021; llama.cpp, JSON_SCHEMA mode, 1,000-character chunks, max_tokens 1,024,
# max_reasks 2). Qwen answered with 64,502 completion tokens in 110 calls (586 a call; 8 calls hit
# the cap). A re-ask sends the conversation again plus the previous answer and the validation
# errors: the errors added 660 prompt tokens a re-ask (68 re-asks, 111 to 1,336). Every Qwen chunk
# either had its first answer cut off at max_tokens (8 of 42: one call, no re-ask) or was re-asked
# up to max_reasks (34 of 42); none validated at once. SmolLM2 was cut off on all 7 chunks.
# Accuracy on the recorded Qwen runs: per report 0.80x-1.57x the prompt tokens and 0.80x-1.72x the
# completion tokens (the traditional-script sucheng-2020 is the high end: fewer re-asks, shorter
# answers); with the constants fitted on the other four reports 0.76x-1.72x and 0.75x-1.91x. A
# capable hosted model re-asks less and answers shorter: for it these overcount.
COMPLETION_TOKENS_PER_CALL = 586
REASK_ERROR_TOKENS = 660
REASK_SHARE = 0.81  # of chunks re-asked max_reasks times (Qwen: 34 of 42)


@dataclass
class ChunkStats:
    """Per-chunk measurements of one ``answer`` call (for recordings and benchmarks)."""

    chunk: int
    chars: int
    cached: bool = False
    seconds: float = 0.0
    calls: int = 0
    reasks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    finish_reason: str | None = None
    proposed: int = 0  # figures in the settled answer plus figures rejected
    kept: int = 0
    rejected: int = 0
    error: str | None = None


def _run(coro):
    # answer() is synchronous for the pipeline: the calls run on the process's one LLM loop,
    # the caller's thread (a batch worker, or a notebook's) waits for them.
    return loop.run(coro)


class LLMBackend(BatchSeam):
    """Any OpenAI-compatible endpoint as a backend: ``answer(chunks, source)``; in Batch API
    mode ``batch_requests``/``batch_answers`` (``BatchSeam``)."""

    name = "llm"
    preferred_chunk_size = PREFERRED_CHUNK_SIZE

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        mode: str | None = None,
        concurrency: int = 4,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        max_reasks: int = 2,
        temperature: float = 0.0,
        max_tokens: int = 1024,
        timeout: float = 120,
        catalog: Catalog | None = None,
        retry: RetryPolicy | None = None,
        prompts_dir: str | Path | None = None,
        breaker_after: int = DEFAULT_BREAKER_AFTER,
    ):
        self.endpoint = resolve_endpoint(model, base_url, api_key_env, mode, timeout)
        # one breaker for the backend's life: a batch stops asking a dead endpoint for every
        # report, not just for the report that found it dead
        self.breaker = CircuitBreaker(self.endpoint.base_url, breaker_after)
        self.catalog = catalog or default_catalog()
        self.reply_model = answer_model(self.catalog)
        folder = Path(prompts_dir) if prompts_dir else None
        self.prompts: PromptSet = load_prompts(self.catalog, schema_json(self.catalog), folder)
        self.concurrency = max(1, concurrency)
        self.max_reasks = max_reasks
        self.max_tokens = max_tokens
        self.params: dict[str, Any] = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "max_reasks": max_reasks,
        }
        self.retry = retry or RetryPolicy()
        self.cache = AnswerCache(cache_dir) if use_cache else None
        # One backend serves several reports at once in a batch, a thread each: "the last call"
        # is the calling thread's own, never another report's.
        self._this_thread = threading.local()
        # the client on the shared loop (fazhi.llm.loop), kept for every report: one connection
        # pool, no new client per report. (A fork makes a new loop, hence the loop it was made on.)
        self._loop_client: tuple[asyncio.AbstractEventLoop, Any] | None = None

    @property
    def model(self) -> str:
        return self.endpoint.model

    @property
    def prompt_version(self) -> str:
        return self.prompts.version

    def answer(self, chunks: Sequence[Chunk], source: Source) -> list[ChunkAnswer]:
        """One answer per chunk, in order; a chunk whose call failed for good has ``error`` set.

        Each answer carries its own ``usage``, so a report's usage is the sum of its answers
        whatever else the backend is doing at the same time.
        """
        return self.answer_with_stats(chunks, source)[0]

    def answer_with_stats(
        self, chunks: Sequence[Chunk], source: Source
    ) -> tuple[list[ChunkAnswer], list[ChunkStats]]:
        """The answers and, by value, each chunk's measurements (time, tokens, finish reason)."""
        answers, stats = _run(self._answer_all(chunks))
        self._this_thread.stats = stats
        return answers, stats

    async def answer_async(self, chunks: Sequence[Chunk], source: Source) -> list[ChunkAnswer]:
        answers, self._this_thread.stats = await self._answer_all(chunks)
        return answers

    @property
    def last_stats(self) -> list[ChunkStats]:
        """The measurements of this thread's last ``answer`` call (``answer_with_stats`` returns
        them by value; concurrent ``answer_async`` calls in one event loop share a thread)."""
        return getattr(self._this_thread, "stats", [])

    @asynccontextmanager
    async def _client(self, transport: BatchTransport | None = None) -> AsyncIterator[Any]:
        """The backend's one client on the shared loop; a client of its own on any other loop
        (``answer_async`` in the caller's loop) or for a Batch API transport, closed after."""
        if transport is None and loop.on_shared_loop():
            running = asyncio.get_running_loop()
            if self._loop_client is None or self._loop_client[0] is not running:
                self._loop_client = (running, make_client(self.endpoint, self.retry, self.breaker))
            yield self._loop_client[1]
            return
        client = (
            batch_client(self.endpoint, transport)  # Batch API mode: answers from the batch
            if transport is not None
            else make_client(self.endpoint, self.retry, self.breaker)
        )
        try:
            yield client
        finally:
            if client.client is not None:  # the openai client instructor wraps
                await client.client.close()

    async def _answers(
        self, chunks: Sequence[Chunk], source: Source, transport: BatchTransport | None = None
    ) -> tuple[list[ChunkAnswer], list[ChunkStats]]:
        return await self._answer_all(chunks, transport)

    async def _answer_all(
        self, chunks: Sequence[Chunk], transport: BatchTransport | None = None
    ) -> tuple[list[ChunkAnswer], list[ChunkStats]]:
        gate = asyncio.Semaphore(self.concurrency)
        async with self._client(transport) as client:
            results = await asyncio.gather(*(self._answer_one(client, gate, c) for c in chunks))
        return [answer for answer, _ in results], [stats for _, stats in results]

    def _key(self, messages: list[dict[str, str]]) -> str:
        e = self.endpoint
        return cache_key(
            model=e.model, base_url=e.base_url, mode=e.mode, prompt_version=self.prompt_version,
            text=messages[-1]["content"], params=self.params,
        )  # fmt: skip

    async def _answer_one(
        self, client, gate: asyncio.Semaphore, chunk: Chunk
    ) -> tuple[ChunkAnswer, ChunkStats]:
        messages = self.prompts.messages(chunk.text, chunk.headings)
        key = self._key(messages)
        stats = ChunkStats(chunk=chunk.index, chars=len(chunk.text))
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            stats.cached = True
            answer = _from_cache(cached, chunk.index)
            return answer, _count(stats, answer)
        async with gate:
            answer, log = await self._call(client, chunk, messages)
        stats.__dict__.update(
            seconds=round(log.seconds, 2), calls=log.calls, reasks=log.reasks,
            prompt_tokens=log.prompt_tokens, completion_tokens=log.completion_tokens,
            cached_prompt_tokens=log.cached_prompt_tokens, finish_reason=log.finish_reason,
            error=answer.error,
        )  # fmt: skip
        if self.cache is not None and answer.error is None:
            self.cache.put(key, answer.model_copy(update={"usage": Usage()}).model_dump_json())
        return answer, _count(stats, answer)

    async def _call(self, client, chunk: Chunk, messages) -> tuple[ChunkAnswer, CallLog]:
        check = chunk_check(chunk, self.catalog)
        try:
            outcome = await ask(
                client, self.endpoint, self.reply_model, messages, check=check,
                max_reasks=self.max_reasks, temperature=self.params["temperature"],
                max_tokens=self.max_tokens,
            )  # fmt: skip
        except Exception as exc:  # a request that failed for good: recorded, the report goes on
            return ChunkAnswer(chunk=chunk.index, error=self._failure(exc)), CallLog()
        log = outcome.log
        if outcome.reply is not None:
            answer = settle(outcome.reply.model_dump(), chunk, self.catalog)
        else:
            answer = salvage(log, outcome.problem or "no valid answer", chunk, self.catalog)
        usage = Usage(
            prompt_tokens=log.prompt_tokens, completion_tokens=log.completion_tokens,
            calls=log.calls, reasks=log.reasks,
        )  # fmt: skip
        return answer.model_copy(update={"usage": usage}), log

    def _failure(self, exc: Exception) -> str:
        """One line on a request that failed for good, naming the endpoint (credentials
        masked) unless the message already does."""
        text = redact(str(exc))
        if isinstance(exc, EndpointUnreachable):
            return f"{type(exc).__name__}: {text}"[:300]
        return f"{type(exc).__name__} from {redact(self.endpoint.base_url)}: {text}"[:300]

    def estimate_tokens(
        self, chunks: Sequence[Chunk], *, reask_share: float = REASK_SHARE
    ) -> tuple[int, int]:
        """(prompt, completion) tokens a run over ``chunks`` would use; calls nothing.

        Each chunk's first call is its rendered messages (plus the answer schema where the mode
        puts it into the prompt), counted by ``fazhi.text.estimate_tokens``; a share
        ``reask_share`` of the chunks is then re-asked ``max_reasks`` times, each re-ask sending
        the conversation so far again (see ``COMPLETION_TOKENS_PER_CALL`` and
        ``REASK_ERROR_TOKENS``). Chunks whose answer is already cached cost nothing. Expect a
        factor of up to 2 either way for one report (see the constants), less over many.
        """
        answer_tokens = min(COMPLETION_TOKENS_PER_CALL, self.params["max_tokens"])
        reasks = reask_share * self.max_reasks
        # re-ask k repeats the first call plus k previous answers and their errors
        growth = (
            reask_share
            * (answer_tokens + REASK_ERROR_TOKENS)
            * self.max_reasks
            * (self.max_reasks + 1)
            / 2
        )
        schema = estimate_tokens(
            schema_prompt_text(self.endpoint.mode, self.reply_model.model_json_schema())
        )
        prompt = completion = 0.0
        for chunk in chunks:
            messages = self.prompts.messages(chunk.text, chunk.headings)
            if self.cache is not None and self.cache.get(self._key(messages)) is not None:
                continue
            first = schema + sum(estimate_tokens(m["content"]) for m in messages)
            prompt += first * (1 + reasks) + growth
            completion += answer_tokens * (1 + reasks)
        return round(prompt), round(completion)

    @property
    def estimate_basis(self) -> str:
        """How ``estimate_tokens`` counts, in one line for the user."""
        return (
            f"estimate: the rendered prompts at {TOKENS_PER_NON_ASCII_CHAR} tokens per Chinese "
            f"(non-ASCII) and {TOKENS_PER_ASCII_CHAR} per ASCII character, "
            f"{COMPLETION_TOKENS_PER_CALL} answer tokens a call, {REASK_SHARE:.0%} of chunks "
            f"re-asked {self.max_reasks} times (as Qwen2.5-Coder-1.5B was); cached chunks cost 0; "
            "one report may be off by a factor of 2, a batch less"
        )

    def stats_dicts(self) -> list[dict[str, Any]]:
        """``last_stats`` as plain dicts (the recorder writes them to ``*.stats.json``)."""
        return [asdict(s) for s in self.last_stats]


def _from_cache(text: str, index: int) -> ChunkAnswer:
    """A cached answer re-labelled for this chunk index (the same text may sit elsewhere)."""
    data = json.loads(text)
    data["chunk"] = index
    for group in ("figures", "shortcomings", "plans", "rejected"):
        for item in data.get(group, []):
            item["chunk"] = index
    data["usage"] = Usage(cached=1).model_dump()
    return ChunkAnswer.model_validate(data)


def _count(stats: ChunkStats, answer: ChunkAnswer) -> ChunkStats:
    figures_rejected = [
        r for r in answer.rejected if r.what == "figure" and r.code != "model_gave_up"
    ]
    stats.kept = len(answer.figures)
    stats.rejected = len(figures_rejected)
    stats.proposed = stats.kept + stats.rejected
    return stats
