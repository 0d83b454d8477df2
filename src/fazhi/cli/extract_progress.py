"""What ``fazhi extract`` shows while and before it works: the progress bar of a batch and
the ``--dry-run`` estimate with its prices, synchronous and through a Batch API, per report and
in total. Terminal output only; the token counts come from ``fazhi.batch``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from fazhi.batch import BatchPlan, BatchProgress, Estimate, estimate_batch
from fazhi.pipeline import Backend

DEFAULT_BATCH_DISCOUNT = 0.5  # what hosted Batch APIs take off (OpenAI, Together, ...)
PER_REPORT_ROWS = 50  # a dry run of thousands of reports lists the first ones, then the sum


@dataclass(frozen=True)
class Prices:
    """Prices per million prompt and completion tokens, and the Batch API's discount (the share
    taken off: 0.5 is half price)."""

    price_in: float | None = None
    price_out: float | None = None
    batch_discount: float = DEFAULT_BATCH_DISCOUNT

    @property
    def given(self) -> bool:
        return self.price_in is not None or self.price_out is not None

    def sync(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """The synchronous API's price; None without prices."""
        estimate = Estimate(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        return estimate.cost(self.price_in, self.price_out)

    def batch(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """The same tokens through a Batch API: the synchronous price less the discount."""
        cost = self.sync(prompt_tokens, completion_tokens)
        return None if cost is None else cost * (1 - self.batch_discount)


def estimate_reports(
    plan: BatchPlan, engine: Backend, **options: Any
) -> tuple[Estimate, list[tuple[Path, Estimate]]]:
    """The dry run's total and each report's own estimate (the total is their sum)."""
    total = Estimate(
        skipped=len(plan.done), method=estimate_batch(BatchPlan([], {}), engine).method
    )
    each: list[tuple[Path, Estimate]] = []
    for path, sha in plan.todo:
        one = estimate_batch(BatchPlan([(path, sha)], {}), engine, **options)
        total.unreadable += one.unreadable
        if one.reports:
            each.append((path, one))
        for name in ("reports", "chunks", "characters", "prompt_tokens", "completion_tokens"):
            setattr(total, name, getattr(total, name) + getattr(one, name))
    return total, each


def print_estimate(
    estimate: Estimate, engine, prices: Prices, per_report: Sequence[tuple[Path, Estimate]] = ()
) -> None:
    tokens = (estimate.prompt_tokens, estimate.completion_tokens)
    cost, batch_cost = prices.sync(*tokens), prices.batch(*tokens)
    off = f"{prices.batch_discount:.0%} off"
    lines = [
        f"dry run, backend {engine.name}"
        + (f" ({engine.model})" if engine.model else "")
        + ": no model called; tokens and cost are estimates",
        f"  reports to run      {estimate.reports}"
        + (f" ({estimate.skipped} already done)" if estimate.skipped else ""),
        f"  chunks              {estimate.chunks}",
        f"  prompt tokens       ~{estimate.prompt_tokens:,}",
        f"  completion tokens   ~{estimate.completion_tokens:,}",
        f"  estimated cost      {_money(cost) if cost is not None else NO_PRICES}",
    ]
    if batch_cost is not None:
        lines.append(f"  Batch API cost      {_money(batch_cost)} ({off}; fazhi batch)")
    lines.append(f"  ({estimate.method})")
    if prices.given and per_report:
        lines += _per_report_rows(per_report, prices)
    lines += [f"  unreadable: {error}" for error in estimate.unreadable]
    typer.echo("\n".join(lines))


def _per_report_rows(per_report: Sequence[tuple[Path, Estimate]], prices: Prices) -> list[str]:
    rows = [f"  {'per report':<32} {'prompt':>9} {'completion':>10} {'sync':>10} {'batch':>10}"]
    for path, one in per_report[:PER_REPORT_ROWS]:
        tokens = (one.prompt_tokens, one.completion_tokens)
        sync, batch = prices.sync(*tokens) or 0.0, prices.batch(*tokens) or 0.0
        rows.append(
            f"  {_short(path.name, 32):<32} {tokens[0]:>9,} {tokens[1]:>10,} "
            f"{_money(sync):>10} {_money(batch):>10}"
        )
    if len(per_report) > PER_REPORT_ROWS:
        rows.append(f"  ... and {len(per_report) - PER_REPORT_ROWS} more reports (in the total)")
    return rows


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


NO_PRICES = "give --price-in/--price-out (per million tokens)"


def _money(amount: float) -> str:
    return f"{amount:,.4f}" if amount < 1 else f"{amount:,.2f}"


class progress_bar:  # lower case: used like open(), as a context manager
    """A rich progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, prices: tuple) -> None:
        from rich.console import Console

        self.prices = prices
        self.console = Console(stderr=True)
        self.bar: Any = None  # rich.progress.Progress, imported only on a terminal
        self.task: Any = None
        self.started = False

    def __enter__(self):
        return self.show

    def _start(self) -> None:
        # On the first update, not on entering: rich's refresh thread writes to stderr, and a
        # batch with --workers forks its worker processes before its first update; a fork
        # while that thread held stderr's lock would leave a child that hangs on its first log
        # line.
        if self.console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                TextColumn("extract"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
            self.bar.start()

    def show(self, progress: BatchProgress) -> None:
        if not self.started:
            self.started = True
            self._start()
        if self.bar is None:
            return
        if self.task is None:
            self.task = self.bar.add_task("extract", total=progress.total, info="")
        self.bar.update(self.task, completed=progress.finished, info=self._info(progress))

    def _info(self, p: BatchProgress) -> str:
        info = f"complete {p.complete} · partial {p.partial} · failed {p.failed}"
        info += f" · chunks {p.chunks}"
        if p.usage.prompt_tokens or p.usage.completion_tokens:
            info += f" · tokens {p.usage.prompt_tokens:,}/{p.usage.completion_tokens:,}"
        if any(price is not None for price in self.prices):
            spent = Estimate(
                prompt_tokens=p.usage.prompt_tokens, completion_tokens=p.usage.completion_tokens
            ).cost(*self.prices)
            info += f" · ≈{_money(spent or 0)}"
        return info

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.stop()
