"""The notebook API: fazhi.extract, fazhi.read_journal, fazhi.to_panel."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

import fazhi
from fazhi.backends.rules import RulesBackend
from fazhi.batch import run_batch
from fazhi.export.tables import MissingExtraError

REPO = Path(__file__).resolve().parents[1]
KUNSHAN = REPO / "evals/corpus/kunshan-2021.txt"


def test_extract_takes_a_path_or_the_text_and_verifies():
    from_path = fazhi.extract(KUNSHAN)
    from_str = fazhi.extract(str(KUNSHAN))
    from_text = fazhi.extract(KUNSHAN.read_text(encoding="utf-8"))
    assert from_path.verified and from_path.figures
    values = [(f.indicator, f.value) for f in from_path.figures]
    assert values == [(f.indicator, f.value) for f in from_str.figures]
    assert values == [(f.indicator, f.value) for f in from_text.figures]
    assert from_path.meta.region == "昆山市"


def test_an_unknown_backend_or_option_is_refused():
    with pytest.raises(ValueError, match="unknown backend"):
        fazhi.extract("some text", backend="nope")
    with pytest.raises(TypeError, match="unknown option.*modle.*base_url"):
        fazhi.extract("some text", backend="llm", modle="qwen")


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "out.jsonl"
    reports = [
        KUNSHAN,
        REPO / "evals/corpus/taiyuan-2021.txt",
        REPO / "evals/corpus/qidong-2024.txt",
    ]
    run_batch(reports, RulesBackend(), out)
    return out


def test_read_journal_and_to_panel(journal):
    results = fazhi.read_journal(journal)
    assert sorted(r.meta.region for r in results) == ["启东市", "太原市", "昆山市"]
    wide = fazhi.to_panel(results, sources=journal.with_name("out.sources"))
    assert len(wide) == 3 and str(wide["year"].dtype) == "Int64"
    taiyuan = wide[wide["adcode"] == "140100"].iloc[0]
    assert taiyuan["oversight.cppcc_proposals__values"] == 3
    long = fazhi.to_panel(results, wide=False)
    assert len(long) == sum(len(r.figures) for r in results)
    assert str(long["chosen"].dtype) == "boolean"
    items = fazhi.to_panel(results, table="text_items")
    assert set(items["item"]) == {"shortcoming", "plan"}


def test_to_panel_without_pandas_says_how_to_get_it(journal, monkeypatch):
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(MissingExtraError, match=r"pip install 'fazhi\[panel\]'"):
        fazhi.to_panel(fazhi.read_journal(journal))
