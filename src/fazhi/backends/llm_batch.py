"""The LLM backends' Batch API seam (``fazhi.pipeline.BatchBackend``), both styles.

``batch_requests`` runs the backend over a report with the answers the batch rounds returned so
far and collects the requests still missing; ``batch_answers`` runs it once more when nothing is
missing (or the rounds are spent) and returns the chunk answers, exactly as ``answer`` would
have: the same prompts, validation, re-asks, splits and cache, only the transport differs
(``fazhi.llm.batch_transport``). A request still missing then is a chunk error, so the report
is partial and a later run asks again.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from fazhi.llm.batch_transport import BatchTransport, ReadOnlyCache
from fazhi.model import Chunk, ChunkAnswer, Source


class BatchSeam:
    """Mixed into ``LLMBackend``: what a subclass brings is ``_answers`` and ``cache``."""

    cache: Any

    async def _answers(
        self, chunks: Sequence[Chunk], source: Source, transport: BatchTransport | None = None
    ) -> tuple[list[ChunkAnswer], list[Any]]:
        raise NotImplementedError

    def batch_requests(
        self, chunks: Sequence[Chunk], source: Source, responses: Mapping[str, dict]
    ) -> dict[str, dict[str, Any]]:
        """The request bodies (by ``custom_id``) this report still needs, given ``responses``;
        cached answers need none. Stores nothing in the cache."""
        from fazhi.backends.llm import _run

        transport = BatchTransport(responses)
        probe = copy.copy(self)  # the same backend with a cache that only reads
        probe.cache = ReadOnlyCache(self.cache) if self.cache is not None else None
        _run(probe._answers(chunks, source, transport))
        return transport.pending

    def batch_answers(
        self,
        chunks: Sequence[Chunk],
        source: Source,
        responses: Mapping[str, dict],
        failures: Mapping[str, str] | None = None,
    ) -> list[ChunkAnswer]:
        """One answer per chunk from the batch's responses (cached like synchronous answers); a
        chunk with a request still unanswered has ``error`` set (``failures`` says why)."""
        from fazhi.backends.llm import _run

        answers, _stats = _run(self._answers(chunks, source, BatchTransport(responses, failures)))
        return answers
