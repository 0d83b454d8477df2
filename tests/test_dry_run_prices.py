"""Dry-run prices: synchronous and Batch API, per report and in total (the arithmetic)."""

from __future__ import annotations

import re

import pytest

from fazhi.cli.extract_progress import Prices
from tests.conftest import CORPUS
from tests.llm_faults_support import in_process


def test_prices_are_per_million_tokens_and_the_batch_takes_its_discount_off():
    prices = Prices(price_in=0.3, price_out=0.6)  # default discount: half price
    assert prices.sync(1_000_000, 500_000) == pytest.approx(0.3 + 0.3)
    assert prices.batch(1_000_000, 500_000) == pytest.approx(0.3)
    assert Prices(2.0, 8.0, batch_discount=0.25).batch(250_000, 100_000) == pytest.approx(
        (0.5 + 0.8) * 0.75
    )
    assert Prices(1.0, None, batch_discount=0.0).batch(10, 10) == pytest.approx(1e-5)


def test_without_prices_there_is_no_cost():
    assert Prices().sync(1000, 1000) is None and Prices().batch(1000, 1000) is None


def _rows(output: str) -> list[tuple[int, int, float, float]]:
    row = re.compile(r"^  \S+\.txt\s+([\d,]+)\s+([\d,]+)\s+([\d.,]+)\s+([\d.,]+)$", re.M)
    return [
        (int(a.replace(",", "")), int(b.replace(",", "")), float(c), float(d))
        for a, b, c, d in row.findall(output)
    ]


def _number(label: str, output: str) -> float:
    found = re.search(rf"^  {label}\s+~?([\d.,]+)", output, re.M)
    assert found, output
    return float(found.group(1).replace(",", ""))


@pytest.mark.usefixtures("clean_environment")
def test_the_dry_run_prints_each_report_and_the_total_sync_and_batch():
    result = in_process(
        "extract", str(CORPUS), "-o", "out.jsonl", "--backend", "llm", "--model", "m",
        "--base-url", "http://127.0.0.1:9/v1", "--no-cache", "--dry-run",
        "--price-in", "3", "--price-out", "12", "--batch-discount", "0.4",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    assert len(rows) == 5
    prompt, completion = (
        _number("prompt tokens", result.output),
        _number("completion tokens", result.output),
    )
    assert sum(r[0] for r in rows) == prompt and sum(r[1] for r in rows) == completion
    sync = (prompt * 3 + completion * 12) / 1e6
    assert _number("estimated cost", result.output) == pytest.approx(sync, abs=0.01)
    assert _number("Batch API cost", result.output) == pytest.approx(sync * 0.6, abs=0.01)
    assert "40% off" in result.output
    for p, c, each_sync, each_batch in rows:
        assert each_sync == pytest.approx((p * 3 + c * 12) / 1e6, abs=1e-4)
        assert each_batch == pytest.approx(each_sync * 0.6, abs=1e-4)


@pytest.mark.usefixtures("clean_environment")
def test_a_discount_outside_0_to_1_is_refused():
    result = in_process(
        "extract", str(CORPUS / "kunshan-2021.txt"), "--backend", "rules", "--dry-run",
        "--batch-discount", "1.5",
    )  # fmt: skip
    assert result.exit_code == 2 and "batch-discount" in result.output
