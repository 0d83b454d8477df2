"""``fazhi eval``: score extraction against the gold labels, or compare two scored runs.

Reading files, running extraction and printing happen here; the scoring is ``fazhi.evaluate``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from fazhi.cli import app
from fazhi.cli.eval_print import print_comparison, print_errors, print_result
from fazhi.cli.eval_side import MODEL_BACKENDS, Run, plan_runs, side_by_side, split_list
from fazhi.comparison import compare
from fazhi.errors import FazhiError
from fazhi.evaluate import EvalResult, evaluate
from fazhi.model import Draft, GoldReport, Result
from fazhi.resources import data_dir

NOT_WIRED = "extraction backends not available yet; use --predictions"
RESULTS_DIR = Path("evals/results")


class EvalInputError(FazhiError):
    """Bad input for the eval command: one line for the user, exit code 2."""


@app.command("eval")
def eval_command(
    backend: str | None = typer.Option(
        None,
        "--backend",
        help="rules|llm|hybrid|auto (default auto when extracting; with --predictions, a label "
        "for the run, else taken from the prediction files). Several, comma-separated "
        "(rules,llm,hybrid): one run each, printed side by side.",
    ),
    model: str | None = typer.Option(
        None, "--model", help="Model name for the llm/hybrid backend."
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI-compatible endpoint (else OPENAI_BASE_URL)."
    ),
    replay: str | None = typer.Option(
        None,
        "--replay",
        metavar="PREFIX",
        help="Replay recorded HTTP exchanges PREFIX-<report>.yaml (vcrpy cassettes, e.g. "
        "cassettes/qwen) instead of calling the endpoint; reports with no recording are left out. "
        "With several --llm-style values, one prefix per style, comma-separated.",
    ),
    llm_style: str = typer.Option(
        "label",
        "--llm-style",
        help="label (the model labels marked numbers) or quote (the model writes quotes); "
        "a replay needs the style it was recorded in. Both (label,quote): one run each.",
    ),
    gold: Path | None = typer.Option(
        None, "--gold", help="Directory of gold JSON files (default: the bundled evals/gold)."
    ),
    corpus: Path | None = typer.Option(
        None, "--corpus", help="Directory of the reports (default: the bundled evals/corpus)."
    ),
    predictions: Path | None = typer.Option(
        None,
        "--predictions",
        help="Score Result JSON files made elsewhere (DIR/<stem>.json) instead of extracting.",
    ),
    errors: bool = typer.Option(False, "--errors", help="List missed figures and false positives."),
    compare_files: tuple[Path, Path] | None = typer.Option(
        None, "--compare", metavar="A.json B.json", help="Compare two eval result files (B - A)."
    ),
    hybrid_prefer: str = typer.Option(
        "auto",
        "--hybrid-prefer",
        help="hybrid runs only: auto (the model where it agrees with the rules on most shared "
        "numbers, else the rules), llm or rules; a preference other than auto is part of the "
        "run's label (hybrid-prefer-rules).",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Where to write the result JSON "
        "(default ./evals/results/<backend>-<model>-<prompt>.json under the current folder, "
        "never inside the installed package); with several runs, the folder to write them in.",
    ),
) -> None:
    """Score extraction against the gold labels: figures P/R/F1, meta, text items, verification.

    Examples:
      fazhi eval --backend rules --errors
      fazhi eval --predictions runs/qwen7b/
      fazhi eval --backend llm --model qwen2.5-coder-1.5b-instruct-q4_k_m \\
        --base-url http://127.0.0.1:18765/v1 --replay cassettes/qwen --llm-style quote
      fazhi eval --backend rules,llm,hybrid --model M --base-url URL \\
        --replay cassettes/qwen --llm-style quote
      fazhi eval --backend hybrid --hybrid-prefer rules --model M --base-url URL \\
        --replay cassettes/label/qwen-label
      fazhi eval --compare evals/results/rules-none-none.json evals/results/llm-qwen-v3.json
    """
    console = Console()
    # Any FazhiError (gold, corpus, backend, endpoint) is one line and exit 2 (fazhi.cli).
    if compare_files is not None:
        a, b = (_read_eval_result(p) for p in compare_files)
        print_comparison(console, compare(a, b), compare_files)
        return
    # defaults work from any folder: the gold and corpus shipped with fazhi
    gold = gold or data_dir("evals/gold")
    corpus = corpus or data_dir("evals/corpus")
    runs = plan_runs(split_list(backend) or ["auto"], split_list(llm_style), split_list(replay))
    if len(runs) > 1:
        if predictions is not None:
            raise EvalInputError("--predictions scores one run: give one --backend")
        _run_side_by_side(console, runs, model, base_url, gold, corpus, out, errors, hybrid_prefer)
        return
    run = runs[0]
    replayed = _Extraction(run.replay, base_url, run.style or "label", hybrid_prefer)
    result = _run(run.backend if backend else None, model, gold, corpus, predictions, replayed)
    print_result(console, result)
    if errors:
        print_errors(console, result)
    _write(console, result, out or RESULTS_DIR / _result_name(result))


def _run_side_by_side(
    console: Console,
    runs: list[Run],
    model: str | None,
    base_url: str | None,
    gold_dir: Path,
    corpus: Path,
    out: Path | None,
    errors: bool,
    hybrid_prefer: str = "auto",
) -> None:
    """Every run on the same gold reports: those every replay prefix recorded."""
    gold = _read_gold(gold_dir)
    for prefix in {r.replay for r in runs if r.replay}:
        gold = _Extraction(prefix, base_url).keep(gold)
    results = []
    for run in runs:
        replayed = _Extraction(run.replay, base_url, run.style or "label", hybrid_prefer)
        asked = model if run.backend in MODEL_BACKENDS else None  # a rules run has no model
        result = _score(run.backend, asked, gold, corpus, None, replayed)
        console.print(f"[bold]{run.label}[/]")
        print_result(console, result)
        if errors:
            print_errors(console, result)
        _write(console, result, (out or RESULTS_DIR) / _result_name(result))
        results.append(result)
    side_by_side(console, runs, results)


def _write(console: Console, result: EvalResult, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(result.to_json() + "\n", encoding="utf-8")
    except OSError as err:
        raise EvalInputError(f"cannot write {path}: {err.strerror or err}") from None
    console.print(f"wrote {path}")


class _Extraction:
    """How eval extracts: where the HTTP goes (the live endpoint, or recorded cassettes
    ``PREFIX-<stem>.yaml``), the LLM style, and who wins in hybrid."""

    def __init__(
        self,
        prefix: str | None,
        base_url: str | None,
        llm_style: str = "label",
        hybrid_prefer: str = "auto",
    ):
        self.prefix, self.base_url, self.llm_style = prefix, base_url, llm_style
        self.hybrid_prefer = hybrid_prefer

    def cassette(self, stem: str) -> Path:
        return Path(f"{self.prefix}-{stem}.yaml")

    def keep(self, gold: dict[str, GoldReport]) -> dict[str, GoldReport]:
        """With a replay prefix, only the gold reports that were recorded are scored."""
        if not self.prefix:
            return gold
        kept = {stem: g for stem, g in gold.items() if self.cassette(stem).is_file()}
        if not kept:
            raise EvalInputError(f"no recordings {self.prefix}-<report>.yaml for the gold reports")
        for stem in sorted(set(gold) - set(kept)):
            typer.echo(f"fazhi eval: no recording {self.cassette(stem)}; {stem} left out", err=True)
        return kept

    def recorded_max_tokens(self, stems: list[str]) -> int | None:
        """The ``max_tokens`` the recordings were made with (their ``.stats.json``), so the
        replayed requests are the recorded ones; None without a replay or stats."""
        found: set[int] = set()
        for stem in stems if self.prefix else []:
            stats = Path(f"{self.prefix}-{stem}.stats.json")
            if stats.is_file():
                params = json.loads(stats.read_text(encoding="utf-8")).get("params", {})
                if params.get("max_tokens"):
                    found.add(int(params["max_tokens"]))
        if len(found) > 1:
            raise EvalInputError(
                f"recordings {self.prefix}-* were made with different max_tokens {sorted(found)}"
            )
        return next(iter(found), None)

    def around(self, stem: str) -> contextlib.AbstractContextManager[object]:
        if not self.prefix:
            return contextlib.nullcontext()
        from fazhi.llm.recording import use_cassette  # vcrpy, record_mode none: never the network

        return use_cassette(self.cassette(stem))


def _run(
    backend: str | None,
    model: str | None,
    gold_dir: Path,
    corpus: Path,
    predictions: Path | None,
    replay: _Extraction,
) -> EvalResult:
    return _score(backend, model, replay.keep(_read_gold(gold_dir)), corpus, predictions, replay)


def _score(
    backend: str | None,
    model: str | None,
    gold: dict[str, GoldReport],
    corpus: Path,
    predictions: Path | None,
    replay: _Extraction,
) -> EvalResult:
    predicted: Mapping[str, Result | Draft]
    if predictions is not None:
        predicted = _read_predictions(predictions, gold)
        label = backend or _common(r.backend for r in predicted.values()) or "predictions"
    else:
        predicted = _extract_all(backend or "auto", model, corpus, sorted(gold), replay=replay)
        label = _common(r.backend for r in predicted.values()) or backend or "auto"
        if label == "hybrid" and replay.hybrid_prefer != "auto":
            label = f"hybrid-prefer-{replay.hybrid_prefer}"  # its own result file and column
    return evaluate(
        gold,
        predicted,
        backend=label,
        model=model or _common(r.model for r in predicted.values()),
        prompt_version=_common(r.prompt_version for r in predicted.values()),
    )


def _extract_all(
    backend_name: str,
    model: str | None,
    corpus: Path,
    stems: list[str],
    replay: _Extraction | None = None,
) -> dict[str, Result]:
    """Run the pipeline over each gold report: the one place eval touches extraction."""
    replay = replay or _Extraction(None, None)
    try:
        from fazhi.cli.backends import LLMOptions, make_backend
        from fazhi.pipeline import extract_file
    except ImportError:
        raise EvalInputError(NOT_WIRED) from None
    try:
        # A replay must send exactly the recorded requests: no cached answer may stand in.
        opts = LLMOptions(
            model=model, base_url=replay.base_url, use_cache=not replay.prefix,
            llm_style=replay.llm_style, max_tokens=replay.recorded_max_tokens(stems),
            hybrid_prefer=replay.hybrid_prefer,
        )  # fmt: skip
        backend = make_backend(backend_name, opts)
    except ModuleNotFoundError as err:  # the factory imports each backend lazily too
        raise EvalInputError(f"{NOT_WIRED} (no module {err.name})") from None
    results: dict[str, Result] = {}
    for stem in stems:
        path = _corpus_file(corpus, stem)
        with replay.around(stem):
            _, results[stem] = extract_file(path, backend)
    return results


def _corpus_file(corpus: Path, stem: str) -> Path:
    if not corpus.is_dir():
        raise EvalInputError(f"corpus directory not found: {corpus}")
    found = sorted(corpus.glob(f"{stem}.*"))
    if not found:
        raise EvalInputError(f"no report for gold {stem!r} in {corpus}")
    return found[0]


# --- reading ---------------------------------------------------------------------------------

_Read = TypeVar("_Read", GoldReport, Draft, Result)


def _read_result(path: Path, kind: type[_Read]) -> _Read:
    try:
        return kind.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as err:
        raise EvalInputError(f"cannot read {path}: {_first_line(err)}") from None


def _read_prediction(path: Path) -> Result | Draft:
    """Our own output as it was written (its confidence ranks the figures); any other result
    file, e.g. one without spans, as proposals (scoring needs no spans)."""
    try:
        return _read_result(path, Result)
    except EvalInputError:
        return _read_result(path, Draft)


def _first_line(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "file"
        return f"{where}: {first['msg']}"
    return str(err).splitlines()[0]


def _read_gold(gold_dir: Path) -> dict[str, GoldReport]:
    if not gold_dir.is_dir():
        raise EvalInputError(f"gold directory not found: {gold_dir}")
    files = sorted(gold_dir.glob("*.json"))
    if not files:
        raise EvalInputError(f"no gold JSON files in {gold_dir}")
    return {p.stem: _read_result(p, GoldReport) for p in files}


def _read_predictions(pred_dir: Path, gold: dict[str, GoldReport]) -> dict[str, Result | Draft]:
    if not pred_dir.is_dir():
        raise EvalInputError(f"predictions directory not found: {pred_dir}")
    predicted: dict[str, Result | Draft] = {}
    for stem in sorted(gold):
        path = pred_dir / f"{stem}.json"
        if path.exists():
            predicted[stem] = _read_prediction(path)
        else:
            typer.echo(f"fazhi eval: no prediction {path}; scored as empty", err=True)
    return predicted


def _read_eval_result(path: Path) -> EvalResult:
    try:
        return EvalResult.from_json(path.read_bytes())
    except (OSError, ValidationError) as err:
        raise EvalInputError(f"cannot read eval result {path}: {_first_line(err)}") from None


def _common(values: Iterable[str | None]) -> str | None:
    """The one value all results agree on; ``mixed`` if they differ; None if none is set."""
    distinct = {v for v in values if v}
    if len(distinct) > 1:
        return "mixed"
    return next(iter(distinct), None)


def _result_name(result: EvalResult) -> str:
    parts = (result.backend or "none", result.model or "none", result.prompt_version or "none")
    # Model names carry '/' and ':' (Qwen/Qwen2.5-7B, qwen2.5:7b): keep the file name flat.
    return "-".join(re.sub(r"[^\w.+-]", "_", p) for p in parts) + ".json"
