"""Against a real model server (``-m server``; skipped by default and when no server answers).

Start one first: ``scripts/serve-model start qwen`` (or ``smollm2``). The endpoint and model come
from FAZHI_TEST_BASE_URL / FAZHI_TEST_MODEL, defaulting to what serve-model runs. Whatever the
model answers, nothing unverified may reach ``figures``: that is what this checks, not quality.
"""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from fazhi.backends.llm import LLMBackend
from fazhi.model import Source
from fazhi.numbers import parse_raw, values_equal
from fazhi.pipeline import extract
from tests.conftest import report_text

pytestmark = pytest.mark.server

BASE_URL = os.environ.get("FAZHI_TEST_BASE_URL", "http://127.0.0.1:18765/v1")


def _served_model() -> str:
    """The model the server announces, or skip: a missing server is not a failure here."""
    try:
        with urllib.request.urlopen(f"{BASE_URL}/models", timeout=5) as resp:
            models = json.load(resp)["data"]
    except OSError as err:
        pytest.skip(
            f"no model server at {BASE_URL} ({err}); start one: scripts/serve-model start qwen"
        )
    return os.environ.get("FAZHI_TEST_MODEL") or models[0]["id"]


def _paragraph() -> str:
    """The kunshan paragraph on 行政复议: short, so one call on two cores takes about a minute."""
    text = report_text("kunshan-2021")
    start = text.index("市政府收到行政复议申请")
    return text[text.rfind("\n", 0, start) + 1 : text.index("\n", start)]


def test_a_live_extraction_puts_only_verified_numbers_into_figures(tmp_path):
    model = _served_model()
    paragraph = _paragraph()
    backend = LLMBackend(model=model, base_url=BASE_URL, max_reasks=1, use_cache=False,
                         cache_dir=tmp_path / "cache", timeout=600)  # fmt: skip
    result = extract(Source(path="kunshan-paragraph.txt", text=paragraph), backend)
    assert result.usage.calls >= 1 and not result.chunk_errors
    for f in result.figures:
        assert paragraph[f.span[0] : f.span[1]] == f.quote
        assert paragraph[f.raw_span[0] : f.raw_span[1]] == f.raw
        assert values_equal(f.value, parse_raw(f.raw).value)
