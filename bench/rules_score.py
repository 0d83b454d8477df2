"""Score the rules backend on the bundled gold reports (a dev tool, not part of the package).

    /work/venv/bin/python bench/rules_score.py            # scores, misses, false positives
    /work/venv/bin/python bench/rules_score.py --speed 20 # also reports/second over 20 rounds

Runs each report through the real pipeline (chunk -> rules backend -> merge -> verify,
``fazhi.pipeline.extract``) and scores it with ``fazhi.evaluate`` (the rules of
``evals/gold/README.md``). Prints micro figures P/R/F1, per report and per indicator group,
meta and text-item scores, every miss and false positive, and every verifier rejection.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fazhi.backends.rules import RulesBackend
from fazhi.evaluate import EvalResult, evaluate
from fazhi.model import GoldReport, Result, Source
from fazhi.pipeline import extract

ROOT = Path(__file__).resolve().parents[1]
CORPUS, GOLD = ROOT / "evals" / "corpus", ROOT / "evals" / "gold"


def run(backend: RulesBackend) -> dict[str, Result]:
    results = {}
    for path in sorted(CORPUS.glob("*.txt")):
        source = Source(text=path.read_text(encoding="utf-8"), path=path.name)
        results[path.stem] = extract(source, backend)
    return results


def fmt(c) -> str:
    return f"P {c.precision:.3f}  R {c.recall:.3f}  F1 {c.f1:.3f}  (tp {c.tp} fp {c.fp} fn {c.fn})"


def report(scored: EvalResult, results: dict[str, Result]) -> None:
    print(f"figures micro: {fmt(scored.figures)}")
    for rep in scored.reports:
        meta_ok = "all" if all(rep.meta.values()) else [k for k, ok in rep.meta.items() if not ok]
        print(f"  {rep.report:14s} {fmt(rep.figures)}  meta ok: {meta_ok}")
    print("by group:")
    for group, counts in sorted(scored.by_group.items()):
        print(f"  {group:20s} {fmt(counts)}")
    print(f"meta accuracy: {scored.meta_accuracy}")
    print(f"shortcomings: {fmt(scored.shortcomings)}")
    print(f"plans:        {fmt(scored.plans)}")
    for rep in scored.reports:
        for err in rep.missed:
            print(f"MISS {rep.report}: {err.indicator} {err.raw}  «{err.quote}»")
        for err in rep.false_positives:
            print(f"FP   {rep.report}: {err.indicator} {err.raw}  «{err.quote}»")
    for stem, result in results.items():
        for rej in result.rejected:
            print(f"REJECTED {stem}: {rej.what} {rej.code}: {rej.reason}")


def speed(backend: RulesBackend, rounds: int) -> float:
    sources = [Source(text=p.read_text(encoding="utf-8")) for p in sorted(CORPUS.glob("*.txt"))]
    started = time.perf_counter()
    for _ in range(rounds):
        for source in sources:
            extract(source, backend)
    return rounds * len(sources) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--speed",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="also time ROUNDS passes over the five reports",
    )
    args = parser.parse_args(argv)
    backend = RulesBackend()
    results = run(backend)
    gold = {
        p.stem: GoldReport.model_validate_json(p.read_text(encoding="utf-8"))
        for p in sorted(GOLD.glob("*.json"))
    }
    report(evaluate(gold, results, prompt_version=backend.prompt_version), results)
    if args.speed:
        print(
            f"speed: {speed(backend, args.speed):.1f} reports/second "
            f"(full pipeline, {args.speed} rounds x {len(gold)} reports)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
