"""The dry run of a batch: chunks and tokens of the reports to do, before any model call.

``estimate_batch`` reads and chunks every report a run would do (``fazhi.batch.plan_batch``)
and asks the backend for its token estimate (``estimate_tokens``), or a rough one from the
chunks' length for backends that have none; the rules backend costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fazhi.chunking import chunk_source
from fazhi.ingest import IngestError, read_source
from fazhi.model import Chunk
from fazhi.pipeline import Backend, chunk_size_for
from fazhi.resources import data_dir
from fazhi.text import estimate_tokens as text_tokens

if TYPE_CHECKING:
    from fazhi.batch import BatchPlan

# Answer size for backends that cannot estimate themselves, measured on the five gold files in
# evals/ (compact JSON without source/optional: 16,639 chars for 30,576 report characters, 0.54
# -- the corpus files count 50k characters including navigation). Tokens are counted by
# fazhi.text.estimate_tokens, the one estimate every caller shares.
ANSWER_CHARS_PER_SOURCE_CHAR = 0.54


@dataclass
class Estimate:
    """What a run would cost before any call: chunks and tokens over the reports to do."""

    reports: int = 0
    skipped: int = 0
    chunks: int = 0
    characters: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    method: str = ""  # how the tokens were estimated, said to the user
    unreadable: list[str] = field(default_factory=list)  # one-line errors

    def cost(self, price_in: float | None, price_out: float | None) -> float | None:
        """Cost for prices per million prompt/completion tokens; None without prices."""
        if price_in is None and price_out is None:
            return None
        return (
            self.prompt_tokens * (price_in or 0) + self.completion_tokens * (price_out or 0)
        ) / 1e6


def estimate_batch(
    plan: BatchPlan, backend: Backend, *, chunk_size: int | None = None, overlap: bool = False
) -> Estimate:
    """Read and chunk the reports to do and estimate their tokens; calls no model."""
    estimate = Estimate(skipped=len(plan.done), method=_estimate_method(backend))
    size = chunk_size_for(backend, chunk_size)
    for path, _sha in plan.todo:
        try:
            source = read_source(path)
        except IngestError as exc:
            estimate.unreadable.append(str(exc))
            continue
        chunks = chunk_source(source, size=size, overlap=overlap)
        prompt, completion = estimate_tokens(chunks, backend)
        estimate.reports += 1
        estimate.chunks += len(chunks)
        estimate.characters += sum(len(c.text) for c in chunks)
        estimate.prompt_tokens += prompt
        estimate.completion_tokens += completion
    return estimate


def estimate_tokens(chunks: Sequence[Chunk], backend: Backend) -> tuple[int, int]:
    """(prompt, completion) tokens the backend would use for these chunks."""
    own = getattr(backend, "estimate_tokens", None)
    if callable(own):
        prompt, completion = own(chunks)
        return int(prompt), int(completion)
    if not calls_model(backend):
        return 0, 0
    text = sum(text_tokens(c.text) for c in chunks)
    return text + len(chunks) * prompt_overhead_tokens(), round(text * ANSWER_CHARS_PER_SOURCE_CHAR)


def calls_model(backend: Backend) -> bool:
    """The offline rules backend makes no model calls; anything else is assumed to."""
    return getattr(backend, "calls_model", backend.name != "rules")


def _estimate_method(backend: Backend) -> str:
    if callable(getattr(backend, "estimate_tokens", None)):
        return (
            getattr(backend, "estimate_basis", None) or f"estimated by the {backend.name} backend"
        )
    if not calls_model(backend):
        return f"the {backend.name} backend calls no model: 0 tokens"
    return (
        f"rough estimate: the chunks' tokens plus {prompt_overhead_tokens()} prompt tokens "
        "per chunk; "
        f"answers {ANSWER_CHARS_PER_SOURCE_CHAR}x the chunks' tokens, no re-asks"
    )


def prompt_overhead_tokens() -> int:
    """Fixed prompt tokens per call, from the size of the prompt files in ``prompts/``."""
    try:
        folder = data_dir("prompts")
    except FileNotFoundError:
        return 0
    return sum(
        text_tokens(p.read_text(encoding="utf-8", errors="replace"))
        for p in folder.rglob("*")
        if p.is_file()
    )
