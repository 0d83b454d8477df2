"""The one data flow, top to bottom: ingest → chunk → backend (proposals) → merge (a ``Draft``)
→ verify (the ``Result``).

Nothing here touches the network, a cache or the terminal: a backend object brings whatever
it needs, and every backend's output goes through the same merge and the same verifier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from fazhi.catalog import Catalog, default_catalog
from fazhi.chunking import DEFAULT_CHUNK_SIZE, chunk_source
from fazhi.confidence import score_figures
from fazhi.crosschecks import cross_check
from fazhi.ingest import read_source
from fazhi.merge import merge
from fazhi.model import Chunk, ChunkAnswer, Result, ResultStatus, Source
from fazhi.verify import verify


class Backend(Protocol):
    """Anything that maps a report's chunks to one answer per chunk."""

    # Read-only: backends expose these as properties or plain attributes alike.
    @property
    def name(self) -> str: ...
    @property
    def model(self) -> str | None: ...
    @property
    def prompt_version(self) -> str | None: ...

    def answer(self, chunks: Sequence[Chunk], source: Source) -> list[ChunkAnswer]: ...


@runtime_checkable
class BatchBackend(Backend, Protocol):
    """A backend that can run through a provider's Batch API (``fazhi.batch_jobs``): the
    requests a report still needs given the batch answers so far (by ``custom_id``), and the
    answers once they are there -- the same ones ``answer`` would give."""

    def batch_requests(
        self, chunks: Sequence[Chunk], source: Source, responses: Mapping[str, dict]
    ) -> dict[str, dict[str, Any]]: ...

    def batch_answers(
        self,
        chunks: Sequence[Chunk],
        source: Source,
        responses: Mapping[str, dict],
        failures: Mapping[str, str] | None = None,
    ) -> list[ChunkAnswer]: ...


def chunk_size_for(backend: Backend, chunk_size: int | None = None) -> int:
    """An explicit size wins; else the backend's preference (small models want small chunks)."""
    return chunk_size or getattr(backend, "preferred_chunk_size", None) or DEFAULT_CHUNK_SIZE


def extract(
    source: Source,
    backend: Backend,
    *,
    chunk_size: int | None = None,
    overlap: bool = False,
    catalog: Catalog | None = None,
) -> Result:
    """One report's verified result, with its status (complete, partial or failed)."""
    chunks = chunk_source(source, size=chunk_size_for(backend, chunk_size), overlap=overlap)
    answers = backend.answer(chunks, source)
    draft = merge(answers, source=source.path, chunks=len(chunks))
    failed = sorted({a.chunk for a in answers if a.error} | _unanswered(chunks, answers))
    caps = [f"chunk {a.chunk}: {cap}" for a in answers for cap in a.caps_hit]
    draft = draft.model_copy(
        update={
            "source_sha256": source.sha256,
            "encoding": source.encoding,
            "kind": source.kind,
            "warnings": list(source.warnings),
            "backend": backend.name,
            "model": backend.model,
            "prompt_version": backend.prompt_version,
            "failed_chunks": failed,
            "caps_hit": caps,
        }
    )
    result = verify(draft, source, catalog or default_catalog(), chunks=chunks)
    result = annotate(result, source, backend, answers)
    status = result_status(len(chunks), failed, caps)
    # The verifier checked what is there; with no chunk answered there is nothing it vouches for.
    return result.model_copy(
        update={"status": status, "verified": result.verified and status != "failed"}
    )


def annotate(
    result: Result, source: Source, backend: Backend, answers: Sequence[ChunkAnswer]
) -> Result:
    """Sources, cross-check doubts (review reasons, nothing changes) and a confidence on every
    verified figure."""
    labellers = tuple(getattr(backend, "labellers", (backend.name,)))
    figures = [
        f if f.sources else f.model_copy(update={"sources": [*labellers]}) for f in result.figures
    ]
    checked = cross_check(result.model_copy(update={"figures": figures}), source)
    reasked = {a.chunk for a in answers if a.usage.reasks}
    return score_figures(checked, source, labellers=len(labellers), reasked_chunks=reasked)


def result_status(
    chunks: int, failed_chunks: Sequence[int], caps_hit: Sequence[str]
) -> ResultStatus:
    """complete: every chunk answered within its caps; failed: none answered; else partial."""
    if chunks == 0 or len(failed_chunks) >= chunks:
        return "failed"
    if failed_chunks or caps_hit:
        return "partial"
    return "complete"


def _unanswered(chunks: Sequence[Chunk], answers: Sequence[ChunkAnswer]) -> set[int]:
    # A backend that returns fewer answers than chunks has failed the missing ones silently.
    return {c.index for c in chunks} - {a.chunk for a in answers}


def extract_file(path: str | Path, backend: Backend, **options) -> tuple[Source, Result]:
    """Read a report from disk and extract it; raises ``IngestError`` for unreadable files."""
    source = read_source(path)
    return source, extract(source, backend, **options)
