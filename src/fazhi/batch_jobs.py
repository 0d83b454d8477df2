"""Many reports through a provider's Batch API: submit, poll, collect, resubmit, then the journal.

A job is a set of reports and a journal, like ``fazhi.batch.run_batch``, and ends the same
way: ``run_batch`` writes one journal line per report through the same pipeline (chunk →
backend → merge → verify), only the backend's answers come from the batch
(``BatchBackend.batch_answers``) instead of live calls. Before that, rounds:

1. every report still to do (the journal's resume rule) is run with the answers known so far;
   the requests still missing (``BatchBackend.batch_requests``: first requests, then re-asks
   and split halves the answers call for) become one batch file, uploaded and submitted;
2. the batch is polled until it ends (``completed``, ``failed``, ``expired``, ``cancelled``);
   its output file's answers are stored, its error file's and any line without an answer count
   as a failed attempt of that request;
3. back to 1 while requests are missing, at most ``max_rounds`` rounds and ``max_attempts``
   failed attempts a request. What is still missing then is a chunk error with the reason (the
   report is ``partial``), never lost; the next ``submit`` asks for it again.

Every step is written down first (``fazhi.batch_files``), so a process killed at any point
picks up the submitted batch by its id. No model is called from here: the provider is
injected (``Provider``; ``fazhi.llm.batch_api.ProviderBatches`` for a real one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from fazhi.batch import BatchSummary, plan_batch, run_batch
from fazhi.batch_files import (
    CHAT_URL,
    TERMINAL,
    JobFolder,
    JobState,
    Round,
    batch_lines,
    read_results,
)
from fazhi.catalog import Catalog
from fazhi.chunking import chunk_source
from fazhi.errors import FazhiError
from fazhi.ingest import IngestError, read_source
from fazhi.model import Chunk, ChunkAnswer, Source
from fazhi.pipeline import BatchBackend, chunk_size_for

# first requests, 2 re-asks (max_reasks 2), 2 retries of failed lines, one split of a cut answer
DEFAULT_MAX_ROUNDS = 6
DEFAULT_MAX_ATTEMPTS = 3  # failed lines of one request before it becomes a chunk error
MAX_BATCH_REQUESTS = 50_000  # OpenAI's limit per batch file (200 MB); the rest goes next


class Provider(Protocol):
    """A Batch API: ``fazhi.llm.batch_api.ProviderBatches``, or a test double."""

    def upload(self, name: str, data: bytes) -> str: ...
    def create(self, input_file_id: str, url: str, metadata: dict[str, str]) -> dict[str, Any]: ...
    def retrieve(self, batch_id: str) -> dict[str, Any]: ...
    def cancel(self, batch_id: str) -> dict[str, Any]: ...
    def content(self, file_id: str) -> bytes: ...


class BatchJobError(FazhiError):
    """A job that cannot go on as asked (one line; exit 2)."""


@dataclass
class JobOptions:
    max_rounds: int = DEFAULT_MAX_ROUNDS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_batch_requests: int = MAX_BATCH_REQUESTS
    chunk_size: int | None = None
    overlap: bool = False
    catalog: Catalog | None = None
    sources_dir: str | Path | None = None


@dataclass
class Step:
    """What one ``advance`` did: submitted a round, found it still running, or finished."""

    outcome: Literal["submitted", "waiting", "done"]
    round: Round | None = None
    summary: BatchSummary | None = None


class BatchAnswered:
    """``backend`` answering from the batch's answers: what ``run_batch`` runs at the end. Same
    name, model and prompt version, so the journal's resume keys are the synchronous ones."""

    def __init__(
        self, backend: BatchBackend, answers: Mapping[str, dict], failures: Mapping[str, str]
    ):
        self.backend = backend
        self.answers, self.failures = answers, failures
        self.name, self.model = backend.name, backend.model
        self.prompt_version = backend.prompt_version
        self.labellers = getattr(backend, "labellers", (backend.name,))
        self.preferred_chunk_size = getattr(backend, "preferred_chunk_size", None)

    def answer(self, chunks: Sequence[Chunk], source: Source) -> list[ChunkAnswer]:
        return self.backend.batch_answers(chunks, source, self.answers, self.failures)


class BatchJob:
    """One job: ``paths`` into ``journal`` through ``provider``'s Batch API."""

    def __init__(
        self,
        paths: Sequence[Path],
        backend: BatchBackend,
        journal: str | Path,
        provider: Provider,
        options: JobOptions | None = None,
    ) -> None:
        if not isinstance(backend, BatchBackend):
            raise BatchJobError(
                f"the {backend.name} backend calls no model: run `fazhi extract` instead"
            )
        self.paths, self.backend, self.provider = list(paths), backend, provider
        self.journal = Path(journal)
        self.options = options or JobOptions()
        self.folder = JobFolder(self.journal)

    # --- the steps -------------------------------------------------------------------------

    def advance(self, *, fresh: bool = False) -> Step:
        """One step: send a round not yet sent, poll the open one, collect it once it ended,
        then submit the next round or, with nothing left to ask, write the journal.
        ``fresh``: a finished job starts over (its answers kept; given-up requests asked again)."""
        state = self.folder.load_state()
        if fresh and state.finished:
            state = JobState()
        current = state.open_round
        if current is not None:
            if current.batch_id is None:  # killed between writing and submitting: send it now
                self._send(current, state)
                return Step("submitted", current)
            self._refresh(current, state)
            if current.status not in TERMINAL:
                return Step("waiting", current)
            self._collect(current, state)
        answers = self.folder.load_answers()
        needed = self.needed(answers, state)
        rounds = sum(not r.overflow for r in state.rounds)  # a batch cut at the size limit
        if needed and rounds < self.options.max_rounds:  # is one round with the next
            return Step("submitted", self._submit(needed, state))
        for custom_id in needed:
            state.failures.setdefault(
                custom_id, f"not answered within {self.options.max_rounds} batch rounds"
            )
        summary = self._finish(answers, state)
        state.finished = True
        self.folder.save_state(state)
        return Step("done", summary=summary)

    def run(
        self,
        *,
        poll: float = 30.0,
        timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_step: Callable[[Step], None] | None = None,
        fresh: bool = False,
    ) -> Step:
        """``advance`` until done, ``poll`` seconds between looks at a running batch; after
        ``timeout`` seconds the last step is returned (the job stays resumable). ``fresh`` as
        for ``advance``."""
        started = time.monotonic()
        while True:
            step = self.advance(fresh=fresh)
            fresh = False
            if on_step is not None:
                on_step(step)
            if step.outcome == "done":
                return step
            if timeout is not None and time.monotonic() - started >= timeout:
                return step
            if step.outcome == "waiting":
                sleep(poll)

    def state(self, *, refresh: bool = True) -> JobState:
        """The job's state; with ``refresh`` the open batch's status is read from the provider."""
        state = self.folder.load_state()
        current = state.open_round
        if refresh and current is not None and current.batch_id is not None:
            self._refresh(current, state)
        return state

    def cancel(self) -> Round | None:
        """Cancel the open batch (its finished lines are still collected)."""
        state = self.folder.load_state()
        current = state.open_round
        if current is None or current.batch_id is None:
            return None
        batch = self.provider.cancel(current.batch_id)
        current.status = str(batch.get("status") or "cancelling")
        self.folder.save_state(state)
        return current

    # --- what each step does -----------------------------------------------------------------

    def needed(self, answers: Mapping[str, dict], state: JobState) -> dict[str, dict[str, Any]]:
        """Requests the reports still to do need, less those that failed too often."""
        plan = plan_batch(self.paths, self.backend, self.journal, resume=True)
        size = chunk_size_for(self.backend, self.options.chunk_size)
        needed: dict[str, dict[str, Any]] = {}
        for path, _sha in plan.todo:
            try:
                source = read_source(path)
            except IngestError:  # recorded as failed when the journal is written
                continue
            chunks = chunk_source(source, size=size, overlap=self.options.overlap)
            needed.update(self.backend.batch_requests(chunks, source, answers))
        limit = self.options.max_attempts
        return {cid: body for cid, body in needed.items() if state.attempts.get(cid, 0) < limit}

    def _submit(self, needed: dict[str, dict[str, Any]], state: JobState) -> Round:
        limit = self.options.max_batch_requests
        requests = dict(list(needed.items())[:limit])
        current = Round(len(state.rounds) + 1, list(requests), overflow=len(needed) > limit)
        self.folder.path.mkdir(parents=True, exist_ok=True)
        self.folder.round_file(current.number, "input").write_bytes(batch_lines(requests))
        state.rounds.append(current)
        self.folder.save_state(state)
        self._send(current, state)
        return current

    def _send(self, current: Round, state: JobState) -> None:
        if current.input_file_id is None:
            path = self.folder.round_file(current.number, "input")
            current.input_file_id = self.provider.upload(path.name, path.read_bytes())
            current.status = "uploaded"
            self.folder.save_state(state)
        metadata = {"fazhi_journal": self.journal.name, "round": str(current.number)}
        batch = self.provider.create(current.input_file_id, CHAT_URL, metadata)
        current.batch_id = str(batch["id"])
        current.status = str(batch.get("status") or "validating")
        self.folder.save_state(state)

    def _refresh(self, current: Round, state: JobState) -> None:
        assert current.batch_id is not None
        batch = self.provider.retrieve(current.batch_id)
        current.status = str(batch.get("status"))
        current.output_file_id = batch.get("output_file_id") or current.output_file_id
        current.error_file_id = batch.get("error_file_id") or current.error_file_id
        current.counts = dict(batch.get("request_counts") or {})
        self.folder.save_state(state)

    def _collect(self, current: Round, state: JobState) -> None:
        """The ended batch's answers stored, its failures counted (answers first: a kill in
        between collects the round again, which changes nothing but the attempt counts)."""
        answers: dict[str, dict] = {}
        failures: dict[str, str] = {}
        for file_id, kind in (
            (current.output_file_id, "output"),
            (current.error_file_id, "errors"),
        ):
            if not file_id:
                continue
            data = self.provider.content(file_id)
            self.folder.round_file(current.number, kind).write_bytes(data)
            got, failed = read_results(data)
            answers.update(got)
            failures.update(failed)
        for custom_id in current.requests:
            if custom_id not in answers and custom_id not in failures:
                failures[custom_id] = f"batch {current.status} without an answer for it"
        self.folder.add_answers({cid: a for cid, a in answers.items() if cid in current.requests})
        for custom_id, why in failures.items():
            if custom_id in answers:
                continue
            state.attempts[custom_id] = state.attempts.get(custom_id, 0) + 1
            state.failures[custom_id] = f"{why} (failed {state.attempts[custom_id]}x)"
        for custom_id in answers:
            state.failures.pop(custom_id, None)
        current.collected = True
        self.folder.save_state(state)

    def _finish(self, answers: Mapping[str, dict], state: JobState) -> BatchSummary:
        answering = BatchAnswered(self.backend, answers, state.failures)
        return run_batch(
            self.paths, answering, self.journal, resume=True,
            chunk_size=self.options.chunk_size, overlap=self.options.overlap,
            catalog=self.options.catalog, sources_dir=self.options.sources_dir,
        )  # fmt: skip
