"""Stand-in backends for the batch, export and CLI tests (test code only, never model output).

``EchoBackend`` proposes, for each chunk, the gold figures (``evals/gold``) whose quote lies in
that chunk, plus the gold meta in the first chunk: a deterministic, instant backend whose
proposals go through the real merge and verify, so results carry real spans. It counts the
chunks it was asked about, and can raise or fail chunks on request.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from fazhi.model import Chunk, ChunkAnswer, Figure, Meta, Source, TextItem

from tests.conftest import REPORTS, gold_json

_GOLD = [gold_json(stem) for stem in REPORTS]
_FIGURES = [f for g in _GOLD for f in g["figures"]]
_TEXT_ITEMS = {
    kind: [q for g in _GOLD for q in g.get(kind, [])] for kind in ("shortcomings", "plans")
}


class EchoBackend:
    name = "echo"
    model = "gold-echo"
    prompt_version = "test-1"

    def __init__(self, *, raise_on: str | None = None, fail_chunks_of: str | None = None) -> None:
        self.raise_on = raise_on  # raise for a source containing this text
        self.fail_chunks_of = fail_chunks_of  # set ChunkAnswer.error for such a source
        self.chunk_calls = 0
        self.report_calls = 0
        self._lock = threading.Lock()

    def answer(self, chunks: Sequence[Chunk], source: Source) -> list[ChunkAnswer]:
        with self._lock:
            self.report_calls += 1
            self.chunk_calls += len(chunks)
        if self.raise_on and self.raise_on in source.text:
            raise RuntimeError("server said no\n(500)")
        failing = bool(self.fail_chunks_of and self.fail_chunks_of in source.text)
        return [self._answer(chunk, source, failing and chunk.index == 0) for chunk in chunks]

    def _answer(self, chunk: Chunk, source: Source, fail: bool) -> ChunkAnswer:
        if fail:
            return ChunkAnswer(chunk=chunk.index, error="timeout after 3 tries")
        figures = [
            Figure(**{k: v for k, v in f.items() if k != "optional"}, chunk=chunk.index)
            for f in _FIGURES
            if f["quote"] in chunk.text
        ]
        items = {
            kind: [TextItem(quote=q, chunk=chunk.index) for q in quotes if q in chunk.text]
            for kind, quotes in _TEXT_ITEMS.items()
        }
        meta = _meta_for(source) if chunk.index == 0 else None
        return ChunkAnswer(chunk=chunk.index, figures=figures, meta=meta, **items)


def _meta_for(source: Source) -> Meta | None:
    for gold in _GOLD:
        region = gold["meta"].get("region")
        if region and region in source.text[:2000]:
            return Meta(**gold["meta"])
    return None


class RulesNamedEcho(EchoBackend):
    """Looks like the offline rules backend to the batch (no model calls, no tokens)."""

    name = "rules"
    model = None
    prompt_version = None


class SelfEstimatingEcho(EchoBackend):
    def estimate_tokens(self, chunks: Sequence[Chunk]) -> tuple[int, int]:
        return 1000 * len(chunks), 100 * len(chunks)
