"""How much of what is wrong the lowest-confidence fifth of figures holds (a dev tool).

    .venv/bin/python bench/confidence_ranking.py --backend rules             # seeds and dev
    .venv/bin/python bench/confidence_ranking.py --backend hybrid --replay cassettes/qwen \\
        --llm-style quote --model qwen2.5-coder-1.5b-instruct-q4_k_m           # seeds only

Extracts every gold report the way ``fazhi eval`` does (the same backend factory and replay),
matches figures to the gold one-to-one (``fazhi.evaluate.match_figures``), and calls a figure
wrong when it matches no gold figure. Figures are ranked by confidence, lowest first; ties keep
report and figure order, so the share at the boundary of the fifth is also given as a range
(best and worst order of the tied figures).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from fazhi.cli.eval_cmd import _extract_all, _read_gold, _Replay
from fazhi.evaluate import match_figures

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "seeds": (ROOT / "evals" / "gold", ROOT / "evals" / "corpus"),
    "dev": (ROOT / "evals" / "dev" / "gold", ROOT / "evals" / "dev" / "corpus"),
}


def ranked(backend: str, model: str | None, replay: _Replay, name: str) -> list[tuple[float, bool]]:
    """(confidence, wrong) for every predicted figure of one gold set."""
    gold_dir, corpus = SETS[name]
    gold = replay.keep(_read_gold(gold_dir))
    predicted = _extract_all(backend, model, corpus, sorted(gold), replay=replay)
    rows = []
    for stem, result in predicted.items():
        matched = set(match_figures(gold[stem].figures, result.figures).values())
        for j, figure in enumerate(result.figures):
            rows.append(
                (figure.confidence if figure.confidence is not None else 1.0, j not in matched)
            )
    return rows


def lowest_fifth_share(rows: list[tuple[float, bool]]) -> tuple[int, int, float, float]:
    """(figures in the fifth, wrong figures, least and most share of them in the fifth)."""
    wrong = sum(w for _, w in rows)
    k = math.ceil(len(rows) / 5)
    if not rows or not wrong:
        return k, wrong, 0.0, 0.0
    cut = sorted(c for c, _ in rows)[k - 1]
    below = [w for c, w in rows if c < cut]
    tied = [w for c, w in rows if c == cut]
    room = k - len(below)
    least = sum(below) + max(0, room - (len(tied) - sum(tied)))
    most = sum(below) + min(room, sum(tied))
    return k, wrong, least / wrong, most / wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="rules")
    parser.add_argument("--model")
    parser.add_argument("--replay")
    parser.add_argument("--llm-style", default="label")
    parser.add_argument("--base-url", default="http://127.0.0.1:18765/v1")
    parser.add_argument("--sets", default="seeds,dev")
    args = parser.parse_args()
    replay = _Replay(args.replay, args.base_url if args.replay else None, args.llm_style)
    for name in args.sets.split(","):
        rows = ranked(args.backend, args.model, replay, name)
        k, wrong, least, most = lowest_fifth_share(rows)
        below_one = sum(1 for c, _ in rows if c < 1)
        print(
            f"{name}: {args.backend} {len(rows)} figures, {wrong} wrong, {below_one} below 1.0;"
            f" lowest-confidence fifth ({k} figures) holds {least:.0%}-{most:.0%} of the wrong"
        )


if __name__ == "__main__":
    main()
