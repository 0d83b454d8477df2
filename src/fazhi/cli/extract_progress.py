"""What ``fazhi extract`` shows while and before it works: the progress bar of a batch and
the ``--dry-run`` estimate. Terminal output only; the numbers come from ``fazhi.batch``."""

from __future__ import annotations

from typing import Any

import typer

from fazhi.batch import BatchProgress, Estimate


def print_estimate(estimate: Estimate, engine, prices: tuple) -> None:
    cost = estimate.cost(*prices)
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
        f"  ({estimate.method})",
    ]
    lines += [f"  unreadable: {error}" for error in estimate.unreadable]
    typer.echo("\n".join(lines))


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

    def __enter__(self):
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
        return self.show

    def show(self, progress: BatchProgress) -> None:
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
