"""Hybrid measured against rules and llm on the gold, with a STAND-IN for a capable model: label
answers written from the gold with seeded errors by scripts/make_label_answers.py (no model).

The stand-in is served live by a loopback stub, so these tests follow prompt changes; the
recorded copies in cassettes/synthetic/capable-*.yaml are what `fazhi eval --replay` replays
(the last test checks they still match the requests).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fazhi.backends.hybrid import HybridBackend
from fazhi.backends.llm_label import LabelBackend
from fazhi.backends.rules import RulesBackend
from fazhi.catalog import default_catalog
from fazhi.evaluate import EvalResult, evaluate
from fazhi.ingest import read_source
from fazhi.model import GoldReport, Result
from fazhi.pipeline import extract
from tests.conftest import ROOT
from tests.llm_stub import running_stub

_spec = importlib.util.spec_from_file_location(
    "make_label_answers", ROOT / "scripts" / "make_label_answers.py"
)
assert _spec and _spec.loader
answers = importlib.util.module_from_spec(_spec)
sys.modules["make_label_answers"] = answers  # dataclasses look their module up
_spec.loader.exec_module(answers)

SETS = {"seeds": (ROOT / "evals" / "gold", ROOT / "evals" / "corpus"),
        "dev": (ROOT / "evals" / "dev" / "gold", ROOT / "evals" / "dev" / "corpus")}  # fmt: skip


def _scores(name: str, how) -> dict[str, EvalResult]:
    gold_dir, corpus = SETS[name]
    gold = {p.stem: GoldReport.model_validate_json(p.read_bytes()) for p in gold_dir.glob("*.json")}
    state: dict = {}
    predicted: dict[str, dict[str, Result]] = {"rules": {}, "llm": {}, "hybrid": {}}
    with running_stub([]) as stub:
        stub.responder = answers._responder(state)
        llm = LabelBackend(answers.MODEL, base_url=stub.url, use_cache=False, concurrency=1)
        backends = {
            "rules": RulesBackend(),
            "llm": llm,
            "hybrid": HybridBackend(RulesBackend(), llm),
        }
        for stem, labels in sorted(gold.items()):
            source = read_source(next(corpus.glob(f"{stem}.*")))
            state["now"] = answers.plan(labels, source, default_catalog(), how, stem)
            for label, backend in backends.items():
                predicted[label][stem] = extract(source, backend)
    return {label: evaluate(gold, results) for label, results in predicted.items()}


@pytest.mark.parametrize("name", ["seeds", "dev"])
def test_hybrid_is_at_least_the_better_labeller_on_figures_and_text(name):
    scored = _scores(name, answers.Perturbation())
    rules, llm, hybrid = scored["rules"], scored["llm"], scored["hybrid"]
    assert llm.figures.fp > 0 and llm.figures.fn > 0  # the stand-in does make mistakes
    assert hybrid.figures.f1 >= max(rules.figures.f1, llm.figures.f1)
    assert hybrid.text_items.f1 >= max(rules.text_items.f1, llm.text_items.f1)
    assert hybrid.verification.rejected_by_code.get("outvoted", 0) > 0  # recorded, not dropped


def test_without_perturbations_the_stand_in_labels_the_gold():
    none = answers.Perturbation(miss=0.0, confuse=0.0, plant=0)
    llm = _scores("dev", none)["llm"]
    assert llm.figures.fp == 0 and llm.figures.recall >= 0.95


def test_the_plan_states_every_perturbation_it_applies():
    gold_dir, corpus = SETS["dev"]
    stem = "s3_tinglanxian_2022"
    gold = GoldReport.model_validate_json((gold_dir / f"{stem}.json").read_bytes())
    source = read_source(corpus / f"{stem}.txt")
    how = answers.Perturbation(miss=0.0, confuse=1.0, plant=2)
    planned = answers.plan(gold, source, default_catalog(), how, stem)
    assert sum(line.startswith("planted") for line in planned.log) == 2
    confused = [line for line in planned.log if line.startswith("confused")]
    assert len(confused) >= len(gold.figures) // 2  # every figure whose group has a same-kind peer
    again = answers.plan(gold, source, default_catalog(), how, stem)
    assert again.figures == planned.figures  # seeded: the same answers every run


def test_the_recorded_stand_in_replays_side_by_side(tmp_path: Path):
    from fazhi.cli import app

    args = ["eval", "--backend", "rules,llm,hybrid", "--model", answers.MODEL,
            "--base-url", answers.BASE_URL, "--replay", "cassettes/synthetic/capable",
            "--gold", "evals/dev/gold", "--corpus", "evals/dev/corpus",
            "--out", str(tmp_path)]  # fmt: skip
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, (
        f"{result.output}\nre-record: .venv/bin/python scripts/make_label_answers.py"
    )
    assert "Side by side" in result.stdout and "hybrid (label)" in result.stdout
    scored = {
        r.backend: r
        for r in (EvalResult.from_json(p.read_bytes()) for p in tmp_path.glob("*.json"))
    }
    assert set(scored) == {"rules", "llm", "hybrid"}
    assert scored["hybrid"].figures.f1 >= max(scored["rules"].figures.f1, scored["llm"].figures.f1)
    assert json.loads((next(tmp_path.glob("llm-*.json"))).read_text())["usage"]["calls"] > 0
