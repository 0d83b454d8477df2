"""Proposals, drafts, verified results and gold are different types, and only the verifier
makes verified ones (issue 13 item 2)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from fazhi.model import (
    ChunkAnswer,
    Draft,
    Figure,
    FigureProposal,
    GoldFigure,
    GoldReport,
    Result,
    TextItem,
)
from fazhi.pipeline import extract
from tests.conftest import CORPUS, GOLD

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "fazhi"
VERIFIER = {"verify.py", "verify_figures.py", "verify_text.py"}
VERIFIED = {"Figure", "TextItem", "Result"}
# reading our own output back (a journal, `fazhi show`) is parsing, not making a verified value
READERS = {"model_validate_json"}


def verified_constructions(code: str) -> list[str]:
    """Every place in ``code`` that makes a verified value: ``Figure(...)``, ``TextItem(...)``,
    ``Result(...)``, or one of them from a dict (``model_validate``, ``model_construct``)."""
    found = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in VERIFIED:
            found.append(f"line {node.lineno}: {func.id}(...)")
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in VERIFIED
            and func.attr.startswith("model_")
            and func.attr not in READERS
        ):
            found.append(f"line {node.lineno}: {func.value.id}.{func.attr}(...)")
    return found


def test_the_check_finds_a_verified_figure_made_outside_the_verifier():
    planted = "from fazhi.model import Figure\nf = Figure(indicator='x', span=(0, 1))\n"
    assert verified_constructions(planted) == ["line 2: Figure(...)"]
    assert verified_constructions("r = Result.model_validate({})\n") == [
        "line 1: Result.model_validate(...)"
    ]
    assert verified_constructions("r = Result.model_validate_json(text)\n") == []
    assert verified_constructions("p = FigureProposal(indicator='x')\n") == []


def test_only_the_verifier_makes_verified_figures_text_items_and_results():
    offenders = {
        str(path.relative_to(PACKAGE)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name not in VERIFIER or path.parent != PACKAGE
        if (found := verified_constructions(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
    assert all(verified_constructions((PACKAGE / name).read_text("utf-8")) for name in VERIFIER)


def test_a_verified_figure_always_carries_its_spans_and_no_optional():
    fields = {"indicator": "litigation.cases", "value": 1, "raw": "1", "quote": "1件"}
    with pytest.raises(ValidationError, match="span"):
        Figure(**fields)
    with pytest.raises(ValidationError, match="span"):
        TextItem(quote="x")
    assert "optional" not in Figure.model_fields
    assert {"optional"} == set(GoldFigure.model_fields) - set(FigureProposal.model_fields)


def test_backends_propose_and_merge_makes_a_draft_not_a_result():
    fields = {"indicator": "litigation.cases", "value": 1, "raw": "1", "quote": "1件"}
    verified = Figure(**fields, span=(0, 2), raw_span=(0, 1))
    with pytest.raises(ValidationError):  # an answer holds proposals, not verified figures
        ChunkAnswer(chunk=0, figures=[verified])
    with pytest.raises(ValidationError):  # nor does a result hold proposals
        Result(figures=[FigureProposal(**fields)])
    assert ChunkAnswer(chunk=0, figures=[verified.as_proposal()]).figures[0].quote == "1件"
    assert {"status", "verified"} == set(Result.model_fields) - set(Draft.model_fields)


def test_gold_files_load_unchanged_as_gold_and_as_drafts():
    for path in sorted(GOLD.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        gold = GoldReport.model_validate(data)
        assert [f.optional for f in gold.figures] == [f["optional"] for f in data["figures"]]
        assert [t.quote for t in gold.shortcomings] == data["shortcomings"]
        draft = Draft.model_validate(data)  # what `fazhi verify` reads
        assert [f.quote for f in draft.figures] == [f["quote"] for f in data["figures"]]


def test_output_figures_have_no_optional_and_keep_the_rest_of_the_format():
    from fazhi.backends.rules import RulesBackend
    from fazhi.ingest import read_source

    result = extract(read_source(CORPUS / "kunshan-2021.txt"), RulesBackend())
    dumped = json.loads(result.model_dump_json())
    assert dumped["figures"] and all("optional" not in f for f in dumped["figures"])
    assert list(dumped["figures"][0]) == [
        "indicator", "value", "raw", "quote", "scope", "approx", "span", "raw_span", "chunk",
        "sources", "review", "confidence",
    ]  # fmt: skip


def test_a_journal_written_by_the_previous_version_still_reads(tmp_path):
    """The previous version wrote ``"optional": false`` on every output figure; its journals
    still read, with their spans, and still make a panel."""
    from fazhi.api import read_journal
    from fazhi.backends.rules import RulesBackend
    from fazhi.export.jsonl import ReportRecord, dump_line
    from fazhi.export.panel import build_tables
    from fazhi.export.tables import report_entries
    from fazhi.ingest import read_source

    source = read_source(CORPUS / "kunshan-2021.txt")
    result = extract(source, RulesBackend())
    record = ReportRecord(
        source=source.path, source_sha256=source.sha256, backend="rules", status="complete",
        result=result,
    )  # fmt: skip
    line = json.loads(dump_line(record))
    for figure in line["result"]["figures"]:
        figure["optional"] = False  # as written before proposals and results were split
    journal = tmp_path / "old.jsonl"
    journal.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    [read] = read_journal(journal)
    assert read.figures == result.figures and read.shortcomings == result.shortcomings
    rows, _ = build_tables(report_entries([read]))["panel_long"]
    assert len(rows) == len(result.figures) > 0


def test_eval_reads_our_own_results_as_results_and_other_files_as_drafts(tmp_path):
    from fazhi.backends.rules import RulesBackend
    from fazhi.cli.eval_cmd import _read_prediction
    from fazhi.ingest import read_source

    ours = tmp_path / "ours.json"
    result = extract(read_source(CORPUS / "kunshan-2021.txt"), RulesBackend())
    ours.write_text(result.model_dump_json(), encoding="utf-8")
    read = _read_prediction(ours)
    assert isinstance(read, Result) and read.figures == result.figures  # confidence kept
    elsewhere = _read_prediction(GOLD / "kunshan-2021.json")  # no spans: proposals
    assert isinstance(elsewhere, Draft) and elsewhere.figures


def test_fazhi_verify_reads_an_output_as_proposals_and_verifies_it_again(tmp_path):
    from typer.testing import CliRunner

    from fazhi.backends.rules import RulesBackend
    from fazhi.cli import app
    from fazhi.ingest import read_source

    report = CORPUS / "kunshan-2021.txt"
    result = extract(read_source(report), RulesBackend())
    data = json.loads(result.model_dump_json())
    for figure in data["figures"]:
        figure["optional"] = False  # an output of the previous version
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    run = CliRunner().invoke(app, ["verify", str(old), "-s", str(report), "--json"])
    assert run.exit_code == 0, run.output
    checked = Result.model_validate_json(run.stdout)
    assert [(f.span, f.raw_span, f.sources) for f in checked.figures] == [
        (f.span, f.raw_span, f.sources) for f in result.figures
    ]
    assert "optional" not in json.loads(run.stdout)["figures"][0]
