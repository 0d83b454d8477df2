"""Shared fixtures: the bundled corpus and gold labels.

They are read from the project itself (a user's clone has nothing beside it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "evals" / "corpus"
GOLD = ROOT / "evals" / "gold"
REPORTS = sorted(p.stem for p in CORPUS.glob("*.txt"))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def gold_dir() -> Path:
    return GOLD


def report_text(stem: str) -> str:
    return (CORPUS / f"{stem}.txt").read_text(encoding="utf-8")


def gold_json(stem: str) -> dict:
    return json.loads((GOLD / f"{stem}.json").read_text(encoding="utf-8"))


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    """No key, endpoint or fazhi setting of the machine may leak in; cwd has no fazhi.toml."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "FAZHI_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
