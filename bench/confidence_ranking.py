"""How much of what is wrong the lowest-confidence fifth of figures holds, per backend and set.

    .venv/bin/python bench/confidence_ranking.py --backends rules                # seeds and dev
    .venv/bin/python bench/confidence_ranking.py --backends rules,llm,hybrid \\
        --replay cassettes/synthetic/capable --model synthetic-capable \\
        --base-url http://127.0.0.1:18797/v1                                      # seeds and dev
    .venv/bin/python bench/confidence_ranking.py --backends llm,hybrid --replay cassettes/qwen \\
        --llm-style quote --model qwen2.5-coder-1.5b-instruct-q4_k_m --sets seeds  # seeds only

Extracts every gold report the way ``fazhi eval`` does (the same backend factory and replay)
and scores it with ``fazhi.evaluate``: a figure is wrong when it matches no gold figure (a false
positive or a wrong value). The share of the wrong ones in the lowest-confidence fifth is
``fazhi.ranking.lowest_share`` -- what ``fazhi eval`` prints too; ties at the fifth's boundary
give a range.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fazhi.cli.eval_cmd import _extract_all, _read_gold, _Replay
from fazhi.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "seeds": (ROOT / "evals" / "gold", ROOT / "evals" / "corpus"),
    "dev": (ROOT / "evals" / "dev" / "gold", ROOT / "evals" / "dev" / "corpus"),
}


def ranking_line(backend: str, model: str | None, replay: _Replay, name: str) -> str:
    gold_dir, corpus = SETS[name]
    gold = replay.keep(_read_gold(gold_dir))
    model = model if backend != "rules" else None
    predicted = _extract_all(backend, model, corpus, sorted(gold), replay=replay)
    scored = evaluate(gold, predicted)
    low, below_one = scored.lowest_fifth, sum(c < 1 for r in scored.reports for c, _ in r.ranking)
    return (
        f"{name}: {backend} {low.figures} figures, {low.wrong} wrong, {below_one} below 1.0;"
        f" the lowest-confidence fifth ({low.fifth} figures) holds {low.describe()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="rules")
    parser.add_argument("--model")
    parser.add_argument("--replay")
    parser.add_argument("--llm-style", default="label")
    parser.add_argument("--base-url", default="http://127.0.0.1:18765/v1")
    parser.add_argument("--sets", default="seeds,dev")
    args = parser.parse_args()
    for name in args.sets.split(","):
        for backend in args.backends.split(","):
            # the rules under the replay too: the same reports, and they send no request
            replay = _Replay(args.replay, args.base_url, args.llm_style)
            print(ranking_line(backend, args.model, replay, name))


if __name__ == "__main__":
    main()
