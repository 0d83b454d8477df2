"""``fazhi extract``: one report to a Result JSON, or many to a resumable JSONL journal.

Arguments, settings, the progress bar and messages live here; the work is ``fazhi.batch``.
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

from fazhi.batch import (
    check_workers,
    plan_batch,
    run_batch,
    run_one,
)
from fazhi.cli import app
from fazhi.cli.backends import BackendChoiceError, LLMOptions, make_backend
from fazhi.cli.config import EXTRACT_SETTINGS, read_config_file, settle
from fazhi.cli.extract_progress import Prices, estimate_reports, print_estimate, progress_bar
from fazhi.cli.extract_summary import exit_code
from fazhi.cli.extract_summary import print_summary as _print_summary  # batch_cmd imports it
from fazhi.cli.extract_summary import write_csv as _write_csv
from fazhi.cli.output_paths import check_output, describe
from fazhi.discover import discover, skipped_summary
from fazhi.errors import FazhiError
from fazhi.ingest import write_text_beside


class ExtractInputError(FazhiError):
    """A bad invocation: one line on stderr, exit code 2."""


def _option(flag: str, help: str, default=None, **checks):
    """A ``--flag`` option (the settings chain fills ``None`` defaults: flag, env, fazhi.toml)."""
    return typer.Option(default, flag, help=help, **checks)


@app.command("extract")
def extract_command(
    paths: list[str] = typer.Argument(
        ...,
        metavar="PATH...",
        help="Report files, folders (searched recursively for .txt/.html/.htm/.pdf) or glob "
        "patterns.",
    ),
    out: Path | None = typer.Option(
        None,
        "-o",
        "--out",
        help="One report: the Result JSON (default: stdout; the cleaned text goes beside it "
        "as NAME.source.txt). Several: the JSONL journal, required.",
    ),
    backend: str | None = _option(
        "--backend",
        "auto|rules|llm|hybrid (env FAZHI_BACKEND; default auto: llm when an endpoint "
        "and a model are configured, else rules).",
    ),
    model: str | None = _option("--model", "Model name for llm/hybrid (env FAZHI_MODEL)."),
    base_url: str | None = _option(
        "--base-url", "OpenAI-compatible endpoint (env OPENAI_BASE_URL)."
    ),
    api_key_env: str | None = _option(
        "--api-key-env", "Environment variable holding the API key (default OPENAI_API_KEY)."
    ),
    mode: str | None = _option(
        "--mode", "Structured-output mode of the llm backend (e.g. json, tools)."
    ),
    concurrency: int | None = _option(
        "--concurrency",
        "Model calls in flight at most: reports at once in a batch, chunks at once "
        "within them (default 4; with --workers, split across the worker processes).",
    ),
    chunk_size: int | None = _option(
        "--chunk-size", "Characters per chunk (default: the backend's preference)."
    ),
    overlap: bool = _option("--overlap", "Overlap chunks by one sentence.", False),
    cache_dir: str | None = _option(
        "--cache-dir", "LLM answer cache folder (env FAZHI_CACHE_DIR; default ~/.cache/fazhi)."
    ),
    timeout: float | None = _option(
        "--timeout",
        "Seconds to wait for one model answer (env FAZHI_TIMEOUT; default 120; a 1.5B "
        "model on two CPU cores needs ~600).",
    ),
    max_reasks: int | None = _option(
        "--max-reasks",
        "Times a chunk's answer goes back to the model with the verifier's errors "
        "(env FAZHI_MAX_REASKS; default 2).",
    ),
    breaker_after: int = _option(
        "--breaker-after",
        "Stop asking an endpoint after this many connection failures in a row; the chunks "
        "left fail with the reason (default 5).",
        5,
        min=1,
    ),
    llm_style: str | None = _option(
        "--llm-style",
        "label: the model labels the numbers the code marked (default); quote: the model "
        "writes each figure's quote and number (env FAZHI_LLM_STYLE).",
    ),
    hybrid_prefer: str | None = _option(
        "--hybrid-prefer",
        "hybrid only: who wins where rules and model label a number differently. auto "
        "(default): the model on a report where it agrees with the rules on most numbers both "
        "labelled, else the rules; llm: always the model; rules: always the rules. The loser "
        "is kept as an outvoted rejection (env FAZHI_HYBRID_PREFER; docs/confidence.md).",
    ),
    context_tokens: int | None = _option(
        "--context-tokens",
        "Context window of the model in tokens, for label mode's request size (default: "
        "known hosted models' window, 8192 for local servers; env FAZHI_CONTEXT_TOKENS).",
        min=2000,
    ),
    no_cache: bool = _option("--no-cache", "Do not read or write the LLM answer cache.", False),
    csv_path: Path | None = _option(
        "--csv", "Also write the long panel: one CSV row per accepted figure."
    ),
    min_confidence: float | None = _option(
        "--min-confidence",
        "--csv: only figures with at least this confidence (0-1; docs/confidence.md). The "
        "JSON and the journal keep every figure.",
        min=0.0,
        max=1.0,
    ),
    dry_run: bool = _option(
        "--dry-run",
        "Only count reports and chunks and estimate tokens and cost; call no model.",
        False,
    ),
    price_in: float | None = _option(
        "--price-in", "Price per million prompt tokens (for --dry-run and the progress bar)."
    ),
    price_out: float | None = _option("--price-out", "Price per million completion tokens."),
    batch_discount: float | None = _option(
        "--batch-discount",
        "--dry-run: the share a Batch API takes off these prices (default 0.5, half price; "
        "`fazhi batch`).",
    ),
    resume: bool = _option(
        "--resume/--no-resume",
        "Skip reports already done in the JSONL journal (default) or start it afresh.",
        True,
    ),
    strict: bool = _option("--strict", "Exit 1 also when any proposal was rejected.", False),
    sources: Path | None = _option(
        "--sources",
        "Batch: folder for each report's cleaned text, which its offsets index "
        "(default OUT.sources beside the journal).",
    ),
    deadline: float | None = typer.Option(
        None,
        "--deadline",
        help="Stop after this many seconds overall: reports not finished by then are recorded "
        "as failed (reason: the deadline) and run again on resume.",
        min=1,
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        help="Batch: run the reports in this many processes (default 1). Helps where one "
        "process is CPU-bound: the rules backend (one report at a time per process, one "
        "worker per core), or a model backend with many calls in flight against a fast "
        "endpoint (--concurrency 64 and up), whose --concurrency is then split across the "
        "workers (--concurrency 64 --workers 2: 32 reports in flight in each). A slow "
        "endpoint needs more --concurrency, not workers (docs/scaling.md).",
        min=1,
    ),
) -> None:
    r"""Extract verified figures, shortcomings and plans from reports.

    One report: the Result JSON goes to stdout or to -o FILE.
    Several (or a folder, or a glob): one JSON line per report in
    -o OUT.jsonl, appended as each report finishes. Rerunning the same
    command skips reports already done and retries failed ones.

    Every result has a status: complete (every chunk answered), partial
    (some chunks failed or hit a cap; the result holds the rest) or
    failed (nothing usable: unreadable file, backend error, every chunk
    failed, --deadline passed).

    Exit codes: 0 every report complete; 1 some report failed (the
    others were written); 3 none failed but some are partial; 2 bad
    invocation (no inputs, unknown backend, no model for llm, an -o or
    --csv that cannot be written or is an input); 130 interrupted
    (Ctrl-C; finished reports are in the journal). Rejected proposals
    are normal output (listed under "rejected"), not a failure, unless
    --strict (then exit 1).

    Settings: flags, then environment variables, then the \[extract]
    table of ./fazhi.toml, then defaults.

    Examples:
      fazhi extract evals/corpus/kunshan-2021.txt -o kunshan.json
      fazhi extract reports/ -o out.jsonl --csv panel.csv
      fazhi extract 'reports/**/*.pdf' -o out.jsonl --backend llm \
        --model qwen2.5-7b --dry-run --price-in 0.3 --price-out 0.6
    """
    flags: dict[str, object] = {
        "backend": backend,
        "model": model,
        "base_url": base_url,
        "api_key_env": api_key_env,
        "mode": mode,
        "concurrency": concurrency,
        "chunk_size": chunk_size,
        "cache_dir": cache_dir,
        "price_in": price_in,
        "price_out": price_out,
        "batch_discount": batch_discount,
        "timeout": timeout,
        "max_reasks": max_reasks,
        "llm_style": llm_style,
        "context_tokens": context_tokens,
        "hybrid_prefer": hybrid_prefer,
    }
    # A FazhiError raised here (settings, inputs, outputs, backend) is one line and exit 2
    # (mapped once in fazhi.cli).
    settings = settle(flags, EXTRACT_SETTINGS, read_config_file("extract"))
    found = discover(paths)
    inputs = found.inputs
    for line in skipped_summary(found.skipped):
        typer.echo(line, err=True)
    batch = _is_batch(paths, inputs, out)
    for path, flag in ((out, "-o"), (csv_path, "--csv")):
        if path is not None and not dry_run:
            check_output(path, inputs, flag)
    engine = _build_backend(settings, no_cache, len(inputs) if batch else 1, breaker_after)
    if workers > 1 and not batch:
        raise ExtractInputError(f"--workers {workers}: one report runs in one process")
    check_workers(workers, int(settings["concurrency"]), engine)  # type: ignore[call-overload]
    settings["workers"] = workers
    options: dict[str, Any] = {"chunk_size": settings["chunk_size"], "overlap": overlap}
    settings["sources_dir"] = sources
    prices = (settings["price_in"], settings["price_out"])
    if dry_run:
        plan = plan_batch(inputs, engine, out if batch and resume else None, resume=resume)
        estimate, per_report = estimate_reports(plan, engine, **options)
        priced = Prices(*prices, batch_discount=float(settings["batch_discount"]))  # type: ignore[arg-type]
        print_estimate(estimate, engine, priced, per_report)
        raise typer.Exit(1 if estimate.unreadable else 0)
    options["deadline"] = deadline
    try:
        if batch and out is not None:  # a batch always has its journal (_is_batch)
            code = _run_many(
                inputs,
                engine,
                out,
                settings,
                options,
                resume,
                csv_path,
                prices,
                min_confidence,
                strict,
            )
        else:
            code = _run_one(inputs[0], engine, out, options, csv_path, min_confidence, strict)
    except KeyboardInterrupt:
        where = f"finished reports are in {out} -- run the same command again to resume"
        _fail(f"interrupted; {where if batch else 'nothing written'}", code=130)
    except OSError as exc:  # a full disk or a folder gone while writing: say what, no traceback
        _fail(f"cannot write {exc.filename or 'the output'}: {describe(exc)}")
    raise typer.Exit(code)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"fazhi extract: {message}", err=True)
    raise typer.Exit(code)


def _is_batch(arguments: list[str], inputs: list[Path], out: Path | None) -> bool:
    """Many reports, a folder or a glob mean a JSONL journal, which then needs -o."""
    many = len(inputs) > 1 or any(
        Path(a).is_dir() or (not Path(a).exists() and glob.has_magic(a)) for a in arguments
    )
    if out is not None and out.suffix == ".jsonl":
        return True
    if many and out is None:
        raise ExtractInputError(f"{len(inputs)} reports: give -o OUT.jsonl for the JSONL journal")
    if many:
        raise ExtractInputError(
            f"-o {out}: several reports are written as JSONL; name it OUT.jsonl"
        )
    return False


def _build_backend(settings: dict, no_cache: bool, reports: int, breaker_after: int = 5):
    """The backend, with model calls in flight shared between reports and their chunks."""
    total = int(settings["concurrency"])
    per_report = max(1, total // max(1, min(total, reports)))
    options = LLMOptions(
        base_url=settings["base_url"],
        model=settings["model"],
        api_key_env=settings["api_key_env"],
        mode=settings["mode"],
        concurrency=per_report,
        cache_dir=settings["cache_dir"],
        use_cache=not no_cache,
        timeout=float(settings["timeout"]),
        max_reasks=int(settings["max_reasks"]),
        breaker_after=breaker_after,
        llm_style=str(settings["llm_style"]),
        context_tokens=settings["context_tokens"],
        hybrid_prefer=str(settings["hybrid_prefer"]),
    )
    try:
        return make_backend(str(settings["backend"]), options)
    except ImportError as exc:  # a backend module not installed or not written yet
        raise BackendChoiceError(
            f"backend {settings['backend']!r} is not available ({exc})"
        ) from None


def _run_one(
    path: Path,
    engine,
    out: Path | None,
    options: dict,
    csv_path: Path | None,
    min_confidence: float | None = None,
    strict: bool = False,
) -> int:
    """Run one report and write its JSON; returns the exit code."""
    record, source = run_one(path, engine, **options)
    if record.error_stage == "read":
        _fail(record.error or "cannot read the report")
    if record.result is not None:
        text = record.result.model_dump_json(indent=2) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text, encoding="utf-8")
            if source is not None:
                beside = write_text_beside(source, out)
                typer.echo(f"wrote {out} and {beside}", err=True)
    for warning in source.warnings if source is not None else ():
        typer.echo(f"fazhi extract: warning: {path}: {warning}", err=True)
    if record.status != "complete":
        typer.echo(f"fazhi extract: {record.status}: {record.error}", err=True)
    results = [record.result] if record.result is not None else []
    if csv_path is not None:
        _write_csv(results, csv_path, min_confidence)
    return exit_code([record], strict and any(r.rejected for r in results))


def _run_many(
    inputs,
    engine,
    out: Path,
    settings,
    options,
    resume,
    csv_path,
    prices,
    min_confidence=None,
    strict=False,
) -> int:
    """Run the batch; the results stay in the journal, read back one at a time for the CSV and
    --strict. Returns the exit code."""
    at_once = min(int(settings["concurrency"]), len(inputs))
    with progress_bar(prices) as show:
        summary = run_batch(
            inputs,
            engine,
            out,
            concurrency=at_once,
            workers=int(settings["workers"]),
            resume=resume,
            on_progress=show,
            sources_dir=settings["sources_dir"],
            **options,
        )
    _print_summary(summary, out)
    if csv_path is not None:
        _write_csv(summary.results(), csv_path, min_confidence)
    code = exit_code(summary.records)
    if code == 0 and strict:  # read the journal only when the answer depends on it
        code = exit_code(summary.records, any(r.rejected for r in summary.results()))
    return code
