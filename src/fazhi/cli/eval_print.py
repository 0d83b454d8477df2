"""What ``fazhi eval`` prints for one run, and for ``--compare``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fazhi.comparison import Comparison, error_listing
from fazhi.evaluate import Counts, EvalResult


def _counts_table(title: str, first: str, rows: Iterable[tuple[str, Counts]]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in (first, "TP", "FP", "FN", "P", "R", "F1"):
        table.add_column(name, justify="left" if name == first else "right")
    for key, c in rows:
        table.add_row(
            key,
            str(c.tp),
            str(c.fp),
            str(c.fn),
            f"{c.precision:.3f}",
            f"{c.recall:.3f}",
            f"{c.f1:.3f}",
        )
    return table


def print_result(console: Console, result: EvalResult) -> None:
    console.print(
        f"[bold]{len(result.reports)} reports[/] · backend {result.backend} · "
        f"model {result.model or '-'} · prompt {result.prompt_version or '-'}"
    )
    rows = [("all (micro)", result.figures), *result.by_group.items()]
    console.print(_counts_table("Figures", "group", rows))
    meta = Table(title="Meta accuracy", title_justify="left")
    for name in result.meta_accuracy:
        meta.add_column(name, justify="right")
    meta.add_row(*(f"{v:.2f}" for v in result.meta_accuracy.values()))
    console.print(meta)
    text_rows = [
        ("shortcomings", result.shortcomings),
        ("plans", result.plans),
        ("combined", result.text_items),
    ]
    console.print(_counts_table("Text items", "kind", text_rows))
    v = result.verification
    codes = ", ".join(f"{k} {n}" for k, n in v.rejected_by_code.items()) or "none"
    console.print(
        f"Verification: proposed {v.proposed}, accepted {v.accepted}, "
        f"rejected figures {v.rejected_figures}; rejections by code: {codes}"
    )
    u, n = result.usage, max(len(result.reports), 1)
    if u.calls:
        console.print(
            f"Usage: {u.prompt_tokens} prompt + {u.completion_tokens} completion tokens, "
            f"{u.calls} calls ({result.calls_per_report:.1f}/report, "
            f"{(u.prompt_tokens + u.completion_tokens) / n:.0f} tokens/report), "
            f"{u.reasks} re-asks, {u.cached} cached"
        )
    low = result.lowest_fifth
    console.print(
        f"Confidence ranking: the lowest-confidence fifth ({low.fifth} of {low.figures} figures) "
        f"holds {low.describe()} wrong figures (no gold match)"
    )


def print_errors(console: Console, result: EvalResult) -> None:
    listing = error_listing(result)
    if not listing:
        console.print("No figure errors.")
        return
    for indicator, errs in listing.items():
        console.print(
            f"[bold]{indicator}[/]  missed {len(errs.missed)}, "
            f"false positives {len(errs.false_positives)}"
        )
        for tag, items in (("MISS", errs.missed), ("FP  ", errs.false_positives)):
            for e in items:
                console.print(
                    f"  {tag} {e.report}: {e.raw} (= {e.value}) «{e.quote}»",
                    markup=False,
                    highlight=False,
                )


def print_comparison(console: Console, cmp: Comparison, files: tuple[Path, Path]) -> None:
    o = cmp.overall
    console.print(
        f"A = {files[0]}\nB = {files[1]}\n"
        f"Figures F1 {o.a.f1:.3f} → {o.b.f1:.3f} ({o.f1:+.3f}); "
        f"TP {o.tp:+d}, FP {o.fp:+d}, FN {o.fn:+d}"
    )
    # Every group is shown; of the indicators, only those whose counts moved.
    changed = [d for d in cmp.by_indicator if (d.tp, d.fp, d.fn) != (0, 0, 0)]
    unchanged = len(cmp.by_indicator) - len(changed)
    for title, deltas in (
        ("Groups", cmp.by_group),
        (f"Indicators that changed ({unchanged} unchanged)", changed),
    ):
        table = Table(title=title, title_justify="left")
        for name in ("", "F1 A", "F1 B", "ΔF1", "ΔTP", "ΔFP", "ΔFN"):
            table.add_column(name, justify="left" if not name else "right")
        for d in deltas:
            table.add_row(
                d.key,
                f"{d.a.f1:.3f}",
                f"{d.b.f1:.3f}",
                f"{d.f1:+.3f}",
                f"{d.tp:+d}",
                f"{d.fp:+d}",
                f"{d.fn:+d}",
            )
        console.print(table)
    console.print(f"better: {', '.join(cmp.better) or 'none'}")
    console.print(f"worse: {', '.join(cmp.worse) or 'none'}")
