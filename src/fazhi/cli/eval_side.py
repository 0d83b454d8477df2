"""``fazhi eval`` with several runs side by side: ``--backend rules,llm,hybrid`` and/or
``--llm-style quote,label`` (one ``--replay`` prefix per style).

One run per backend, and per LLM style for the backends that call a model; every run scores the
same gold reports (with replays: the reports every prefix recorded). The table shows what the
issue asks to compare: figures P/R/F1, meta, text items, the share of wrong figures in the
lowest-confidence fifth, and for LLM runs tokens per report, calls and re-asks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from fazhi.errors import FazhiError
from fazhi.evaluate import EvalResult

MODEL_BACKENDS = ("llm", "hybrid", "auto")  # the ones an --llm-style and --replay apply to


class EvalRunsError(FazhiError):
    """A list of runs that cannot be made: one line, exit code 2."""


@dataclass(frozen=True)
class Run:
    """One column: a backend, and for a model backend its style and replay prefix."""

    backend: str
    style: str | None = None
    replay: str | None = None

    @property
    def label(self) -> str:
        return self.backend if self.style is None else f"{self.backend} ({self.style})"


def split_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def plan_runs(backends: Sequence[str], styles: Sequence[str], replays: Sequence[str]) -> list[Run]:
    """Every backend once; a model backend once per style, with that style's replay prefix."""
    styles = list(styles) or ["label"]
    if len(replays) > 1 and len(replays) != len(styles):
        raise EvalRunsError(
            f"{len(replays)} --replay prefixes for {len(styles)} --llm-style values: "
            "give one prefix, or one per style in the same order"
        )
    runs = []
    for backend in backends:
        if backend not in MODEL_BACKENDS:
            runs.append(Run(backend))
            continue
        for k, style in enumerate(styles):
            prefix = replays[k] if len(replays) > 1 else next(iter(replays), None)
            runs.append(Run(backend, style, prefix))
    if len(set(runs)) != len(runs):
        raise EvalRunsError("the same run is listed twice in --backend/--llm-style")
    return runs


def _f(value: float) -> str:
    return f"{value:.3f}"


def _per_report(result: EvalResult, what: Callable[[EvalResult], float], digits: int = 1) -> str:
    if not result.usage.calls:
        return "-"
    return f"{what(result) / max(len(result.reports), 1):.{digits}f}"


ROWS: list[tuple[str, Callable[[EvalResult], str]]] = [
    ("reports", lambda r: str(len(r.reports))),
    ("figures TP/FP/FN", lambda r: f"{r.figures.tp}/{r.figures.fp}/{r.figures.fn}"),
    ("figures P", lambda r: _f(r.figures.precision)),
    ("figures R", lambda r: _f(r.figures.recall)),
    ("figures F1", lambda r: _f(r.figures.f1)),
    *[
        (f"meta {name}", lambda r, name=name: f"{r.meta_accuracy[name]:.2f}")
        for name in ("region", "issuer", "year", "published")
    ],
    ("shortcomings F1", lambda r: _f(r.shortcomings.f1)),
    ("plans F1", lambda r: _f(r.plans.f1)),
    ("text items F1", lambda r: _f(r.text_items.f1)),
    ("wrong in lowest 20 %", lambda r: r.lowest_fifth.describe()),
    ("outvoted labels", lambda r: str(r.verification.rejected_by_code.get("outvoted", 0))),
    (
        "tokens/report",
        lambda r: _per_report(r, lambda x: x.usage.prompt_tokens + x.usage.completion_tokens, 0),
    ),
    ("calls/report", lambda r: _per_report(r, lambda x: x.usage.calls)),
    ("re-asks/report", lambda r: _per_report(r, lambda x: x.usage.reasks)),
]


def side_by_side(console: Console, runs: Sequence[Run], results: Sequence[EvalResult]) -> None:
    table = Table(title="Side by side", title_justify="left")
    table.add_column("")
    for run in runs:
        table.add_column(run.label, justify="right")
    for name, cell in ROWS:
        table.add_row(name, *(cell(result) for result in results))
    console.print(table)
    for run, result in zip(runs, results, strict=True):
        where = f"replayed from {run.replay}-<report>.yaml" if run.replay else "run live"
        if run.backend not in MODEL_BACKENDS:
            where = "no model"
        console.print(
            f"{run.label}: backend {result.backend}, model {result.model or '-'}, "
            f"prompt {result.prompt_version or '-'}; {where}",
            markup=False,
            highlight=False,
        )
