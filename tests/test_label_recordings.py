"""Real label-style recordings (Qwen2.5-Coder-1.5B over xllamacpp, cassettes/label/) replay
offline end to end: the same requests, calls and re-asks as recorded, the same verified figures,
and every figure literal in the source -- whatever the model answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fazhi.backends.llm_label import LabelBackend
from fazhi.ingest import read_source
from fazhi.llm.recording import use_cassette
from fazhi.model import Result
from fazhi.numbers import find_numbers
from fazhi.pipeline import extract
from tests.conftest import CORPUS, ROOT

LABEL = ROOT / "cassettes" / "label"
STATS = sorted(LABEL.glob("*.stats.json"))
# sources, review reasons and confidence are added after verify, not part of the recording
LATER = {"sources", "review", "confidence"}


def test_at_least_two_seed_reports_were_recorded_in_label_style():
    reports = {json.loads(p.read_text(encoding="utf-8"))["report"] for p in STATS}
    assert len(reports) >= 2, "run: FAZHI_RECORD_STYLE=label scripts/record-cassettes qwen ..."
    assert reports <= {p.name for p in CORPUS.glob("*.txt")}


def _backend(stats: dict) -> LabelBackend:
    return LabelBackend(
        model=stats["model"], base_url="http://127.0.0.1:18765/v1", mode=stats["mode"],
        max_reasks=stats["max_reasks"], concurrency=1, use_cache=False,
        max_tokens=stats["params"]["max_tokens"], context_tokens=8192,
    )  # fmt: skip


@pytest.mark.parametrize("stats_path", STATS, ids=[p.name.split(".")[0] for p in STATS])
def test_a_label_recording_replays_to_the_recorded_result(stats_path: Path):
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    source = read_source(CORPUS / stats["report"])
    backend = _backend(stats)
    assert backend.prompt_version == stats["prompt_version"], (
        "label prompts changed: re-record (FAZHI_RECORD_STYLE=label scripts/record-cassettes)"
    )
    with use_cassette(LABEL / f"{stats['name']}.yaml") as played:
        result = extract(source, backend, chunk_size=stats["chunk_size"])
    assert played.all_played
    totals = stats["totals"]
    assert (result.usage.calls, result.usage.reasks) == (totals["calls"], totals["reasks"])
    assert len(result.figures) == totals["verified_figures"]
    saved = Result.model_validate_json(
        stats_path.with_name(f"{stats['name']}.result.json").read_text("utf-8")
    )
    assert [f.model_dump(exclude=LATER) for f in result.figures] == [
        f.model_dump(exclude=LATER) for f in saved.figures
    ]
    assert [r.code for r in result.rejected] == [r.code for r in saved.rejected]
    for f in result.figures:  # the code built every quote and raw from the index: literal
        assert source.text[f.span[0] : f.span[1]] == f.quote
        assert source.text[f.raw_span[0] : f.raw_span[1]] == f.raw
        assert any(n.raw == f.raw for n in find_numbers(f.quote))
