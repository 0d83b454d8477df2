"""Rules first, then an LLM fills what the rules missed.

Both backends see the same chunks; the combination is a pure function of their answers, and
the pipeline's one merge and one verifier still run on everything afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

from fazhi.model import Chunk, ChunkAnswer, Figure, Meta, Source


class HybridBackend:
    name = "hybrid"

    def __init__(self, rules, llm):
        self.rules = rules
        self.llm = llm
        self.model = llm.model
        self.prompt_version = f"{rules.prompt_version}+{llm.prompt_version}"
        self.preferred_chunk_size = getattr(llm, "preferred_chunk_size", None)

    @property
    def estimate_basis(self) -> str | None:
        return getattr(self.llm, "estimate_basis", None)

    def estimate_tokens(self, chunks: Sequence[Chunk]) -> tuple[int, int]:
        """The rules cost nothing: the LLM sees every chunk, so a dry run costs what it costs."""
        return self.llm.estimate_tokens(chunks)

    def answer(self, chunks: Sequence[Chunk], source: Source) -> list[ChunkAnswer]:
        by_rules = self.rules.answer(chunks, source)
        by_llm = self.llm.answer(chunks, source)
        return combine(by_rules, by_llm)


def combine(by_rules: list[ChunkAnswer], by_llm: list[ChunkAnswer]) -> list[ChunkAnswer]:
    """Per chunk: every rules answer, plus LLM figures for indicators the rules found nowhere.

    Indicator-level filling keeps the rules' precision where they fire and lets the model add
    recall only where they are silent; a second, different value for an indicator the rules
    already cover would more often be a model error than a missed scope.
    """
    covered = {f.indicator for a in by_rules for f in a.figures}
    llm_by_chunk = {a.chunk: a for a in by_llm}
    combined = []
    for ra in by_rules:
        la = llm_by_chunk.get(ra.chunk, ChunkAnswer(chunk=ra.chunk))
        extra: list[Figure] = [f for f in la.figures if f.indicator not in covered]
        combined.append(
            ra.model_copy(
                update={
                    "figures": ra.figures + extra,
                    "meta": _fill_meta(ra.meta, la.meta),
                    "shortcomings": ra.shortcomings or la.shortcomings,
                    "plans": ra.plans or la.plans,
                    "rejected": ra.rejected + la.rejected,
                    "usage": ra.usage + la.usage,
                    "error": ra.error or la.error,
                }
            )
        )
    return combined


def _fill_meta(first: Meta | None, second: Meta | None) -> Meta | None:
    if first is None or second is None:
        return first or second
    filled = {k: v if v is not None else getattr(second, k) for k, v in first.model_dump().items()}
    return Meta(**filled)
