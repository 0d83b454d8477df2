"""Hybrid's policies side by side on every labelled set, and who was right where the labellers
disagreed (a dev tool: the evidence for hybrid's default, docs/confidence.md).

    .venv/bin/python bench/hybrid_policies.py --replay cassettes/synthetic/capable \\
        --model synthetic-capable --base-url http://127.0.0.1:18797/v1 --llm-style label
    .venv/bin/python bench/hybrid_policies.py --replay cassettes/qwen --llm-style quote \\
        --model qwen2.5-coder-1.5b-instruct-q4_k_m --sets seeds

Each report is extracted once per labeller (rules, and the model from the replay); every
policy then combines the same two answers (``fazhi.backends.hybrid.combine``), so the policies
differ only in how they combine. "Disagreements" counts the numbers both labellers labelled
with different indicators, by which label the gold bears out (same indicator and value).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from fazhi.backends.hybrid import POLICIES, HybridBackend
from fazhi.backends.rules import RulesBackend
from fazhi.chunking import chunk_source
from fazhi.cli.backends import LLMOptions, make_backend
from fazhi.cli.eval_cmd import _read_gold, _Replay
from fazhi.evaluate import evaluate
from fazhi.ingest import read_source
from fazhi.llm.recording import use_cassette
from fazhi.model import ChunkAnswer, GoldReport, Result
from fazhi.numbers import values_equal
from fazhi.pipeline import chunk_size_for, extract

ROOT = Path(__file__).resolve().parents[1]
SETS = {"seeds": (ROOT / "evals" / "gold", ROOT / "evals" / "corpus")} | {
    name: (ROOT / "evals" / name / "gold", ROOT / "evals" / name / "corpus")
    for name in ("dev", "heldout", "heldout-after", "heldout-final")
}


class Recorded:
    """A backend that hands back answers computed once (so every policy sees the same)."""

    def __init__(self, name: str, answers: list[ChunkAnswer], like) -> None:
        self.name, self._answers = name, answers
        self.model, self.prompt_version = like.model, like.prompt_version
        self.preferred_chunk_size = getattr(like, "preferred_chunk_size", None)

    def answer(self, chunks, source) -> list[ChunkAnswer]:
        return self._answers


def _bears_out(gold: GoldReport, indicator: str, value: float) -> bool:
    return any(g.indicator == indicator and values_equal(g.value, value) for g in gold.figures)


def disagreements(gold: GoldReport, hybrid: Result) -> Counter:
    """Where both labelled a number differently: which label the gold bears out."""
    out: Counter = Counter()
    outvoted = {
        tuple(r.item.get("raw_span") or ()): r.item
        for r in hybrid.rejected
        if r.code == "outvoted" and r.what == "figure" and r.item.get("raw_span")
    }
    for figure in hybrid.figures:
        if not any(x.startswith("labellers_disagree") for x in figure.review):
            continue
        lost = outvoted.get(tuple(figure.raw_span or ()))
        if lost is None:
            continue
        winner_ok = _bears_out(gold, figure.indicator, figure.value)
        loser_ok = _bears_out(gold, lost["indicator"], lost["value"])
        side = figure.sources[0]
        other = "rules" if side == "llm" else "llm"
        out[side if winner_ok else other if loser_ok else "neither"] += 1
    return out


def run_set(name: str, args, llm) -> None:
    gold_dir, corpus = SETS[name]
    replay = _Replay(args.replay, args.base_url, args.llm_style)
    gold = replay.keep(_read_gold(gold_dir))
    rules = RulesBackend()
    labels = ["rules", "llm", *(f"hybrid {p}" for p in POLICIES)]
    predicted: dict[str, dict[str, Result]] = {label: {} for label in labels}
    disagree: dict[str, Counter] = {f"hybrid {p}": Counter() for p in POLICIES}
    for stem in sorted(gold):
        source = read_source(next(iter(sorted(corpus.glob(f"{stem}.*")))))
        hybrid = HybridBackend(rules, llm)
        chunks = chunk_source(source, size=chunk_size_for(hybrid))
        with use_cassette(replay.cassette(stem)):
            by_llm = llm.answer(chunks, source)
        by_rules = rules.answer(chunks, source)
        predicted["rules"][stem] = extract(source, rules)  # as `fazhi eval --backend rules`
        recorded = Recorded("llm", by_llm, llm)
        predicted["llm"][stem] = extract(source, recorded, chunk_size=hybrid_size(hybrid))
        for policy in POLICIES:
            both = HybridBackend(
                Recorded("rules", by_rules, rules), Recorded("llm", by_llm, llm), prefer=policy
            )
            result = extract(source, both, chunk_size=hybrid_size(hybrid))
            predicted[f"hybrid {policy}"][stem] = result
            disagree[f"hybrid {policy}"] += disagreements(gold[stem], result)
    for label, results in predicted.items():
        scored = evaluate(gold, results)
        f, t = scored.figures, scored.text_items
        extra = ""
        if label in disagree:
            d = disagree[label]
            extra = (
                f"  disagreements: rules right {d['rules']}, llm right {d['llm']}, "
                f"neither {d['neither']}"
            )
        print(
            f"{name:13s} {label:14s} figures {f.tp}/{f.fp}/{f.fn} F1 {f.f1:.3f}  "
            f"text F1 {t.f1:.3f}  lowest fifth {scored.lowest_fifth.describe()}{extra}"
        )


def hybrid_size(hybrid: HybridBackend) -> int | None:
    return getattr(hybrid, "preferred_chunk_size", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replay", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--base-url", default="http://127.0.0.1:18797/v1")
    parser.add_argument("--llm-style", default="label")
    parser.add_argument("--sets", default="seeds,dev")
    args = parser.parse_args()
    opts = LLMOptions(
        model=args.model, base_url=args.base_url, use_cache=False, llm_style=args.llm_style
    )
    llm = make_backend("llm", opts, announce=False)
    for name in args.sets.split(","):
        run_set(name, args, llm)


if __name__ == "__main__":
    main()
