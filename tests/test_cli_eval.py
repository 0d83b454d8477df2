"""``fazhi eval`` end to end on the bundled gold files: scoring prediction files, exit codes,
the result JSON it writes, and ``--compare``."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fazhi.cli import app, eval_cmd
from fazhi.evaluate import EvalResult
from fazhi.model import Draft, Figure, GoldReport, Result
from tests.conftest import GOLD, REPORTS, ROOT

runner = CliRunner()


@pytest.fixture()
def perfect(tmp_path: Path) -> Path:
    """A predictions directory holding the gold files themselves."""
    pred = tmp_path / "pred"
    pred.mkdir()
    for stem in REPORTS:
        shutil.copy(GOLD / f"{stem}.json", pred / f"{stem}.json")
    return pred


def run_eval(*args: str | Path):
    return runner.invoke(app, ["eval", "--gold", str(GOLD), *map(str, args)])


def test_perfect_predictions_score_one(perfect, tmp_path):
    out = tmp_path / "perfect.json"
    res = run_eval("--predictions", perfect, "--out", out)
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["figures"]["f1"] == 1.0
    assert data["figures"]["tp"] == sum(
        len(
            GoldReport.model_validate_json((GOLD / f"{s}.json").read_text(encoding="utf-8")).figures
        )
        for s in REPORTS
    )
    assert data["text_items"]["f1"] == 1.0
    assert set(data["meta_accuracy"].values()) == {1.0}
    assert f"wrote {out}" in res.stdout.replace("\n", "")


def test_missing_prediction_counts_as_empty_and_is_said(perfect, tmp_path):
    (perfect / f"{REPORTS[0]}.json").unlink()
    out = tmp_path / "partial.json"
    res = run_eval("--predictions", perfect, "--out", out, "--errors")
    assert res.exit_code == 0, res.output
    assert REPORTS[0] in res.stderr and "scored as empty" in res.stderr
    result = EvalResult.from_json(out.read_text(encoding="utf-8"))
    assert result.missing_predictions == [REPORTS[0]]
    assert result.figures.recall < 1.0 and result.figures.precision == 1.0
    assert "MISS" in res.stdout  # --errors lists the missed figures


def test_default_output_name_comes_from_the_predictions(perfect, tmp_path, monkeypatch):
    for path in perfect.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        data.update(backend="llm", model="Qwen/Qwen2.5-7B", prompt_version="v2")
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    res = run_eval("--predictions", perfect)
    assert res.exit_code == 0, res.output
    written = tmp_path / "evals" / "results" / "llm-Qwen_Qwen2.5-7B-v2.json"
    assert EvalResult.from_json(written.read_text(encoding="utf-8")).model == "Qwen/Qwen2.5-7B"


@pytest.mark.parametrize(
    "args",
    [
        ["--predictions", "no/such/dir"],
        ["--gold", "no/such/gold", "--predictions", "."],
        ["--compare", "no/such/a.json", "no/such/b.json"],
    ],
)
def test_bad_directories_exit_2(args, tmp_path):
    res = run_eval(*args, "--out", tmp_path / "x.json")
    assert res.exit_code == 2
    assert "fazhi eval:" in res.stderr and "no/such" in res.stderr
    assert not (tmp_path / "x.json").exists()


def test_unreadable_prediction_file_exits_2(perfect, tmp_path):
    (perfect / f"{REPORTS[1]}.json").write_text("{not json", encoding="utf-8")
    res = run_eval("--predictions", perfect, "--out", tmp_path / "x.json")
    assert res.exit_code == 2
    assert f"{REPORTS[1]}.json" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_without_predictions_extraction_goes_through_extract_all(tmp_path, monkeypatch):
    calls = []

    def fake_extract_all(backend_name, model, corpus, stems, replay=None):
        calls.append((backend_name, model, stems))
        gold = {s: Draft.model_validate_json((GOLD / f"{s}.json").read_bytes()) for s in stems}
        return {s: r.model_copy(update={"backend": "rules"}) for s, r in gold.items()}

    monkeypatch.setattr(eval_cmd, "_extract_all", fake_extract_all)
    monkeypatch.chdir(tmp_path)
    res = run_eval("--backend", "auto")
    assert res.exit_code == 0, res.output
    assert calls == [("auto", None, REPORTS)]
    written = tmp_path / "evals" / "results" / "rules-none-none.json"  # resolved backend name
    assert EvalResult.from_json(written.read_bytes()).figures.f1 == 1.0


def test_extraction_not_wired_yet_exits_2_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "fazhi.pipeline", None)  # makes the import fail
    res = run_eval("--out", tmp_path / "x.json")
    assert res.exit_code == 2
    assert res.stderr.strip() == f"fazhi eval: {eval_cmd.NOT_WIRED}"


def test_compare_two_written_results(perfect, tmp_path):
    full, partial = tmp_path / "full.json", tmp_path / "partial.json"
    assert run_eval("--predictions", perfect, "--out", full).exit_code == 0
    (perfect / f"{REPORTS[0]}.json").unlink()
    assert run_eval("--predictions", perfect, "--out", partial).exit_code == 0
    res = runner.invoke(app, ["eval", "--compare", str(partial), str(full)])
    assert res.exit_code == 0, res.output
    better = res.stdout.split("better:")[1].split("worse:")[0]
    worse = res.stdout.split("worse:")[1]
    assert "reconsideration" in better  # kunshan-2021 labels reconsideration figures
    assert worse.strip() == "none"


@pytest.fixture()
def fake_pipeline(monkeypatch):
    """Stand-ins for the pipeline and the backend factory: _extract_all's wiring, not theirs."""
    import types

    import fazhi.cli.backends as backends

    seen: list[Path] = []

    def extract_file(path, backend):
        seen.append(Path(path))
        gold = Draft.model_validate_json((GOLD / f"{Path(path).stem}.json").read_bytes())
        return None, gold.model_copy(update={"backend": backend.name, "model": backend.model})

    def make_backend(name, opts):
        return types.SimpleNamespace(name=name, model=opts.model, prompt_version=None)

    fake = types.SimpleNamespace(extract_file=extract_file)
    monkeypatch.setitem(sys.modules, "fazhi.pipeline", fake)
    monkeypatch.setattr(backends, "make_backend", make_backend)
    return seen, backends


def test_extract_all_runs_the_pipeline_on_each_corpus_report(fake_pipeline, corpus_dir):
    seen, _ = fake_pipeline
    results = eval_cmd._extract_all("hybrid", "m", corpus_dir, REPORTS)
    assert seen == [corpus_dir / f"{s}.txt" for s in REPORTS]
    assert {r.backend for r in results.values()} == {"hybrid"}


def test_backend_that_cannot_be_built_exits_2(fake_pipeline, monkeypatch, tmp_path):
    _, backends = fake_pipeline

    def refuse(name, opts):
        raise backends.BackendChoiceError("the llm backend needs a model: pass --model")

    monkeypatch.setattr(backends, "make_backend", refuse)
    res = run_eval("--backend", "llm", "--out", tmp_path / "x.json")
    assert res.exit_code == 2
    assert res.stderr.strip() == "fazhi eval: the llm backend needs a model: pass --model"


def test_missing_corpus_report_exits_2(fake_pipeline, tmp_path):
    res = run_eval("--corpus", tmp_path, "--out", tmp_path / "x.json")
    assert res.exit_code == 2
    assert "no report for gold" in res.stderr


# --- an LLM run replayed from the real recordings (cassettes/) ---------------------------------

QWEN = ROOT / "cassettes" / "qwen"


def _recorded_stats(prefix: Path) -> dict[str, dict]:
    found = sorted(prefix.parent.glob(f"{prefix.name}-*.stats.json"))
    stats = [json.loads(p.read_text("utf-8")) for p in found]
    return {s["report"].removesuffix(".txt"): s for s in stats}


def test_an_llm_eval_replays_the_recordings_and_scores_what_they_recorded(tmp_path):
    stats = _recorded_stats(QWEN)
    assert stats, "no Qwen recordings in cassettes/"
    model = next(iter(stats.values()))["model"]
    out = tmp_path / "llm.json"
    result = run_eval("--backend", "llm", "--model", model, "--base-url", "http://127.0.0.1:18765/v1",
                      "--replay", QWEN, "--llm-style", "quote", "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Figures" in result.stdout and "Verification: proposed" in result.stdout
    scored = EvalResult.from_json(out.read_bytes())
    assert sorted(r.report for r in scored.reports) == sorted(
        stats
    )  # reports without a recording are left out
    assert (scored.backend, scored.model) == ("llm", model)
    # The replay reproduces the recording run: same calls, re-asks and gold counts per report.
    assert scored.usage.calls == sum(s["totals"]["calls"] for s in stats.values())
    assert scored.usage.reasks == sum(s["totals"]["reasks"] for s in stats.values())
    assert scored.figures.tp == sum(s["totals"]["gold"]["tp"] for s in stats.values())
    assert scored.figures.fp == sum(s["totals"]["gold"]["fp"] for s in stats.values())
    assert scored.verification.accepted == sum(
        s["totals"]["verified_figures"] for s in stats.values()
    )


def test_hybrid_preference_is_chosen_and_named_in_the_result(tmp_path):
    # the stand-in answers (cassettes/synthetic/capable-*): seeded errors the rules do not make
    capable = Path(QWEN).parent / "synthetic" / "capable"
    scored = {}
    for prefer in ("auto", "rules"):
        out = tmp_path / f"{prefer}.json"
        result = run_eval("--backend", "hybrid", "--hybrid-prefer", prefer, "--replay", capable,
                          "--model", "synthetic-capable", "--base-url", "http://127.0.0.1:18797/v1",
                          "--out", out)  # fmt: skip
        assert result.exit_code == 0, result.output
        scored[prefer] = EvalResult.from_json(out.read_bytes())
    assert scored["auto"].backend == "hybrid"
    assert scored["rules"].backend == "hybrid-prefer-rules"
    assert scored["rules"].figures.fp < scored["auto"].figures.fp  # the planted errors lose


def test_an_unknown_hybrid_preference_is_one_line_and_exit_2(tmp_path):
    argv = ["--backend", "hybrid", "--hybrid-prefer", "model", "--model", "m"]
    result = run_eval(*argv, "--base-url", "http://127.0.0.1:9/v1", "--out", tmp_path / "x.json")
    assert result.exit_code == 2 and "unknown hybrid preference 'model'" in result.output


def test_replay_with_no_recording_for_any_gold_report_exits_2(tmp_path):
    result = run_eval("--backend", "llm", "--model", "m", "--replay", tmp_path / "nothing")
    assert result.exit_code == 2
    assert "no recordings" in result.stderr


# --- several runs side by side ----------------------------------------------------------------


def test_several_backends_print_side_by_side_and_write_one_result_each(tmp_path, monkeypatch):
    calls = []

    def fake_extract_all(backend_name, model, corpus, stems, replay=None):
        calls.append((backend_name, model, replay.llm_style if replay else None))
        out = {}
        for s in stems:
            gold = GoldReport.model_validate_json((GOLD / f"{s}.json").read_bytes())
            figures = [  # as extraction would give them: verified (spans made up), confident
                Figure(**f.model_dump(exclude={"optional"}), span=(0, 1), raw_span=(0, 1))
                for f in gold.figures
            ]
            figures = [f.model_copy(update={"confidence": 1.0}) for f in figures]
            if backend_name == "hybrid":  # one wrong figure, the least confident of the report
                wrong = figures[0].model_copy(update={"value": 123456789, "confidence": 0.1})
                figures.append(wrong)
            out[s] = Result(
                source=gold.source, meta=gold.meta, backend=backend_name, figures=figures
            )
        return out

    monkeypatch.setattr(eval_cmd, "_extract_all", fake_extract_all)
    res = run_eval("--backend", "rules,hybrid", "--model", "m", "--out", tmp_path)
    assert res.exit_code == 0, res.output
    assert calls == [("rules", None, "label"), ("hybrid", "m", "label")]
    table = res.stdout.split("Side by side")[1]
    assert "rules" in table and "hybrid (label)" in table
    assert f"100% of {len(REPORTS)}" in table  # every wrong figure is in the lowest fifth
    written = {EvalResult.from_json(p.read_bytes()).backend for p in tmp_path.glob("*.json")}
    assert written == {"rules", "hybrid"}


def test_runs_are_planned_per_backend_and_style():
    from fazhi.cli.eval_side import EvalRunsError, Run, plan_runs

    runs = plan_runs(["rules", "llm"], ["quote", "label"], ["cassettes/qwen", "cassettes/l"])
    assert runs == [
        Run("rules"),
        Run("llm", "quote", "cassettes/qwen"),
        Run("llm", "label", "cassettes/l"),
    ]
    assert [r.label for r in runs] == ["rules", "llm (quote)", "llm (label)"]
    with pytest.raises(EvalRunsError, match="one per style"):
        plan_runs(["llm"], ["quote", "label"], ["a", "b", "c"])
    with pytest.raises(EvalRunsError, match="twice"):
        plan_runs(["rules", "rules"], [], [])


def test_several_runs_with_predictions_exit_2(perfect, tmp_path):
    res = run_eval("--backend", "rules,llm", "--predictions", perfect, "--out", tmp_path)
    assert res.exit_code == 2 and "--predictions scores one run" in res.stderr
