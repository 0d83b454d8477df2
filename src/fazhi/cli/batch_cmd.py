"""``fazhi batch submit|status|collect|cancel``: many reports through a provider's Batch API.

Arguments and messages only; the work is ``fazhi.batch_jobs`` (rounds, state, the journal) and
``fazhi.llm.batch_api`` (the provider's ``/v1/files`` and ``/v1/batches``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import typer

from fazhi.batch_files import JobFolder, JobState, OfflineRunner, Round
from fazhi.batch_jobs import DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_ROUNDS, BatchJob, JobOptions, Step
from fazhi.cli import app
from fazhi.cli.config import EXTRACT_SETTINGS, read_config_file, settle
from fazhi.cli.extract_cmd import _build_backend, _print_summary, exit_code
from fazhi.cli.output_paths import check_output
from fazhi.discover import discover, skipped_summary
from fazhi.errors import FazhiError

NOT_DONE_EXIT = 75  # EX_TEMPFAIL: the batch is still running; run collect again later

batch_app = typer.Typer(
    name="batch",
    no_args_is_help=True,
    help="Many reports through a provider's Batch API (about half the price, within 24 h): "
    "submit, status, collect. Same results and journal as `fazhi extract`.",
)
app.add_typer(batch_app)


class BatchInputError(FazhiError):
    """A bad invocation of ``fazhi batch`` (one line, exit 2)."""


REPORTS = typer.Argument(..., metavar="PATH...", help="Report files, folders or globs.")
SAVED_REPORTS = typer.Argument(
    None,
    metavar="[PATH...]",
    help="Report files, folders or globs; default: those and the settings `submit` was given.",
)
OUT = typer.Option(..., "-o", "--out", help="The JSONL journal (OUT.jsonl.batch/ holds the job).")
BACKEND = typer.Option(None, "--backend", help="llm or hybrid (env FAZHI_BACKEND; default auto).")
MODEL = typer.Option(None, "--model", help="Model name (env FAZHI_MODEL).")
BASE_URL = typer.Option(None, "--base-url", help="The provider's base URL, e.g. .../v1.")
KEY_ENV = typer.Option(None, "--api-key-env", help="Variable holding the key (OPENAI_API_KEY).")
STYLE = typer.Option(None, "--llm-style", help="label (default) or quote.")
MODE = typer.Option(None, "--mode", help="Structured-output mode (tools, json_schema ...).")
REASKS = typer.Option(None, "--max-reasks", help="Re-asks per request: each one a batch round.")
CHUNK = typer.Option(None, "--chunk-size", help="Characters per chunk (default: the backend's).")
CACHE = typer.Option(None, "--cache-dir", help="Answer cache folder (the synchronous one).")
NO_CACHE = typer.Option(False, "--no-cache", help="Do not read or write the answer cache.")
OFFLINE = typer.Option(
    False,
    "--offline",
    help="No provider: write each round's batch file for an offline runner (vLLM's run_batch) "
    "and read its output file beside it.",
)
ROUNDS = typer.Option(
    DEFAULT_MAX_ROUNDS,
    "--max-rounds",
    min=1,
    help="Rounds at most: first requests, re-asks, retries.",
)
ATTEMPTS = typer.Option(
    DEFAULT_MAX_ATTEMPTS, "--max-attempts", min=1, help="Failed lines a request may have."
)


def _save_invocation(out: Path, paths: list[str], settings: dict[str, Any]) -> None:
    """Write the reports and settings down, so status, collect and cancel need only ``-o``.

    Paths are made absolute (a later command may run elsewhere); the settings are the settled
    ones, so a model or URL that came from the environment is kept too. Only the *name* of
    the key's variable is among them, never a key.
    """
    paths = [os.path.abspath(p) for p in paths]
    JobFolder(out).save_invocation({"paths": paths, "settings": settings})


def _with_saved(out: Path, flags: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The submitted paths and settings, with the flags given now on top."""
    folder = JobFolder(out)
    saved = folder.load_invocation()
    if saved is None:
        raise BatchInputError(
            f"no job for -o {out} ({folder.invocation_path} is missing): run `fazhi batch "
            f"submit PATH... -o {out}` first, or give the reports and settings again"
        )
    given = {name: value for name, value in flags.items() if value not in (None, False)}
    return list(saved["paths"]), {**saved["settings"], **given}


def _job(
    paths: list[str] | None, out: Path, flags: dict[str, Any], options: JobOptions
) -> BatchJob:
    if out.suffix != ".jsonl":
        raise BatchInputError(f"-o {out}: the journal of a batch is JSONL; name it OUT.jsonl")
    given_paths = bool(paths)
    if not paths:
        paths, flags = _with_saved(out, flags)
    settings = settle(flags, EXTRACT_SETTINGS, read_config_file("extract"))
    found = discover(paths)
    for line in skipped_summary(found.skipped):
        typer.echo(line, err=True)
    check_output(out, found.inputs, "-o")
    engine = _build_backend(settings, bool(flags["no_cache"]), len(found.inputs))
    options.chunk_size = settings["chunk_size"]  # type: ignore[assignment]
    if given_paths:  # the latest explicit invocation is the one kept
        _save_invocation(out, paths, {name: settings.get(name, flags[name]) for name in flags})
    if flags["offline"]:
        return BatchJob(found.inputs, engine, out, OfflineRunner(JobFolder(out)), options)
    from fazhi.llm.batch_api import ProviderBatches

    endpoint = engine.llm.endpoint if engine.name == "hybrid" else getattr(engine, "endpoint", None)
    if endpoint is None:
        raise BatchInputError(
            f"the {engine.name} backend calls no model: use `fazhi extract`, or give "
            "--backend llm --model M --base-url URL"
        )
    provider = ProviderBatches(endpoint, timeout=float(str(settings["timeout"])))
    return BatchJob(found.inputs, engine, out, provider, options)


def _flags(backend, model, base_url, api_key_env, llm_style, mode, max_reasks, chunk_size,
           cache_dir, no_cache, offline) -> dict[str, Any]:  # fmt: skip
    return {
        "backend": backend, "model": model, "base_url": base_url, "api_key_env": api_key_env,
        "llm_style": llm_style, "mode": mode, "max_reasks": max_reasks, "chunk_size": chunk_size,
        "cache_dir": cache_dir, "no_cache": no_cache, "offline": offline,
    }  # fmt: skip


@batch_app.command("submit")
def submit_command(
    paths: list[str] = REPORTS, out: Path = OUT, backend: str | None = BACKEND,
    model: str | None = MODEL, base_url: str | None = BASE_URL, api_key_env: str | None = KEY_ENV,
    llm_style: str | None = STYLE, mode: str | None = MODE, max_reasks: int | None = REASKS,
    chunk_size: int | None = CHUNK, cache_dir: str | None = CACHE, no_cache: bool = NO_CACHE,
    offline: bool = OFFLINE,
    max_rounds: int = ROUNDS, max_attempts: int = ATTEMPTS,
) -> None:  # fmt: skip
    r"""Write the reports' requests as a batch file, upload it, create the batch.

    Requests already answered (the answer cache, earlier rounds) are not sent again; reports
    already complete in the journal are skipped. The job's state (batch and file ids) goes to
    OUT.jsonl.batch/state.json, so a killed process loses nothing: run `collect` later with
    the same arguments, or with `-o OUT.jsonl` alone (the reports and settings are kept in
    OUT.jsonl.batch/invocation.json; flags given then override them). A finished job submitted
    again asks once more for what failed.

    Example:
      fazhi batch submit reports/ -o out.jsonl --model gpt-4o-mini \
        --base-url https://api.openai.com/v1
    """
    flags = _flags(backend, model, base_url, api_key_env, llm_style, mode, max_reasks,
                   chunk_size, cache_dir, no_cache, offline)  # fmt: skip
    job = _job(paths, out, flags, JobOptions(max_rounds=max_rounds, max_attempts=max_attempts))
    _finish(job.advance(fresh=True), out)


@batch_app.command("collect")
def collect_command(
    paths: list[str] | None = SAVED_REPORTS, out: Path = OUT, backend: str | None = BACKEND,
    model: str | None = MODEL, base_url: str | None = BASE_URL, api_key_env: str | None = KEY_ENV,
    llm_style: str | None = STYLE, mode: str | None = MODE, max_reasks: int | None = REASKS,
    chunk_size: int | None = CHUNK, cache_dir: str | None = CACHE, no_cache: bool = NO_CACHE,
    offline: bool = OFFLINE,
    max_rounds: int = ROUNDS, max_attempts: int = ATTEMPTS,
    wait: bool = typer.Option(False, "--wait", help="Poll until the job is done."),
    poll: float = typer.Option(30.0, "--poll", min=0.01, help="Seconds between polls (--wait)."),
    timeout: float | None = typer.Option(None, "--timeout", min=0, help="Stop waiting after."),
) -> None:  # fmt: skip
    r"""Collect an ended batch; submit the next round, or write the journal when done.

    Looks at the open batch; once it ended, stores its answers and submits the next round
    (re-asks, failed lines) or, with nothing left to ask, writes the journal as `fazhi
    extract` does.

    Same arguments as `submit`, or `-o OUT.jsonl` alone. Exit codes: 0 every report
    complete, 1 some failed, 3 some partial (requests the batches never answered are chunk
    errors, with the reason), 75 the job is not done yet (run collect again, or pass --wait),
    2 bad input, 130 interrupted (the batch keeps running at the provider).

    Example:
      fazhi batch collect -o out.jsonl --wait --poll 60
    """
    flags = _flags(backend, model, base_url, api_key_env, llm_style, mode, max_reasks,
                   chunk_size, cache_dir, no_cache, offline)  # fmt: skip
    job = _job(paths, out, flags, JobOptions(max_rounds=max_rounds, max_attempts=max_attempts))
    try:
        step = job.run(poll=poll, timeout=timeout, on_step=_tell) if wait else job.advance()
    except KeyboardInterrupt:
        _fail(
            f"interrupted; the batch keeps running: run `fazhi batch collect` again -o {out}", 130
        )
    _finish(step, out)


@batch_app.command("status")
def status_command(
    paths: list[str] | None = SAVED_REPORTS, out: Path = OUT, backend: str | None = BACKEND,
    model: str | None = MODEL, base_url: str | None = BASE_URL, api_key_env: str | None = KEY_ENV,
    llm_style: str | None = STYLE, mode: str | None = MODE, max_reasks: int | None = REASKS,
    chunk_size: int | None = CHUNK, cache_dir: str | None = CACHE, no_cache: bool = NO_CACHE,
    offline: bool = OFFLINE,
) -> None:  # fmt: skip
    """Print every round of the job and the open batch's status (`-o OUT.jsonl` is enough)."""
    flags = _flags(backend, model, base_url, api_key_env, llm_style, mode, max_reasks,
                   chunk_size, cache_dir, no_cache, offline)  # fmt: skip
    state = _job(paths, out, flags, JobOptions()).state()
    typer.echo(_describe(state, out))


@batch_app.command("cancel")
def cancel_command(
    paths: list[str] | None = SAVED_REPORTS, out: Path = OUT, backend: str | None = BACKEND,
    model: str | None = MODEL, base_url: str | None = BASE_URL, api_key_env: str | None = KEY_ENV,
    llm_style: str | None = STYLE, mode: str | None = MODE, max_reasks: int | None = REASKS,
    chunk_size: int | None = CHUNK, cache_dir: str | None = CACHE, no_cache: bool = NO_CACHE,
    offline: bool = OFFLINE,
) -> None:  # fmt: skip
    """Cancel the open batch; `collect` then keeps what it answered and asks for the rest.

    `-o OUT.jsonl` is enough: the reports and settings are those `submit` was given.
    """
    flags = _flags(backend, model, base_url, api_key_env, llm_style, mode, max_reasks,
                   chunk_size, cache_dir, no_cache, offline)  # fmt: skip
    cancelled = _job(paths, out, flags, JobOptions()).cancel()
    typer.echo(f"round {cancelled.number}: batch {cancelled.batch_id} {cancelled.status}"
               if cancelled else "no open batch")  # fmt: skip


_last_told: list[str] = []  # the last line printed while waiting: a poll that changed nothing


def _tell(step: Step) -> None:
    """One line on stderr per change of the open round's status or counts."""
    line = _round_line(step.round) if step.round is not None else ""
    if line and line not in _last_told[-1:]:
        typer.echo(line, err=True)
        _last_told.append(line)


def _finish(step: Step, out: Path) -> None:
    if step.outcome != "done" or step.summary is None:
        assert step.round is not None
        typer.echo(_round_line(step.round), err=True)
        if (step.round.batch_id or "").startswith("offline:"):
            typer.echo(_offline_command(step.round, out), err=True)
        typer.echo(f"not done yet: run `fazhi batch collect -o {out}` later", err=True)
        raise typer.Exit(NOT_DONE_EXIT)
    _print_summary(step.summary, out)
    raise typer.Exit(exit_code(step.summary.records))


def _offline_command(r: Round, out: Path) -> str:
    folder = JobFolder(out)
    output = folder.path / OfflineRunner.output_name(str(r.batch_id))
    return (f"run it, e.g.: python -m vllm.entrypoints.openai.run_batch -i "
            f"{folder.round_file(r.number, 'input')} -o {output} --model MODEL")  # fmt: skip


def _round_line(r: Round) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in r.counts.items()) if r.counts else ""
    return (f"round {r.number}: batch {r.batch_id or '(not created)'} {r.status}, "
            f"{len(r.requests)} requests" + (f" ({counts})" if counts else ""))  # fmt: skip


def _describe(state: JobState, out: Path) -> str:
    if not state.rounds:
        return f"no batch submitted for {out} yet"
    lines = [_round_line(r) + (" collected" if r.collected else "") for r in state.rounds]
    if state.failures:
        lines.append(f"{len(state.failures)} requests failed so far, e.g. "
                     f"{next(iter(state.failures.values()))}")  # fmt: skip
    lines.append("finished: the journal is written" if state.finished else "not finished")
    return "\n".join(lines)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"fazhi batch: {message}", err=True)
    raise typer.Exit(code)
