"""cassettes/README.md says where every real recording came from (issue 19: it did not)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"


def _provenance_rows(folder: Path = CASSETTES) -> dict[str, str]:
    text = (folder / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `") and "sha256" not in line]
    return {re.match(r"\| `([^`]+)`", row).group(1): row for row in rows if "| 20" in row}


@pytest.mark.parametrize("folder", [CASSETTES, CASSETTES / "label"], ids=["quote", "label"])
def test_every_recording_names_its_day_server_model_file_and_sha256(folder):
    rows = _provenance_rows(folder)
    stats_files = sorted(folder.glob("*.stats.json"))
    assert stats_files, "no real recordings found"
    for path in stats_files:
        stats = json.loads(path.read_text(encoding="utf-8"))
        row = rows.get(stats["name"])
        assert row is not None, f"{stats['name']} has no provenance row in cassettes/README.md"
        for field in ("recorded", "server", "model_file", "model_sha256", "prompt_version"):
            assert str(stats[field]) in row, f"{stats['name']}: {field} missing from its row"
        assert (folder / f"{stats['name']}.yaml").exists()


def test_the_model_checksums_pinned_by_serve_model_are_the_recorded_ones():
    pinned = set(
        re.findall(r'_SHA256="([0-9a-f]{64})"', (ROOT / "scripts/serve-model").read_text())
    )
    recorded = {
        json.loads(p.read_text(encoding="utf-8"))["model_sha256"]
        for p in CASSETTES.rglob("*.stats.json")
    }
    assert recorded <= pinned, f"recorded with unpinned model files: {recorded - pinned}"
