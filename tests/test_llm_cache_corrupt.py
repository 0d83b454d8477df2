"""A corrupt LLM answer cache is set aside with one warning and the run goes on; ``fazhi cache``
works on any garbage. Runs against a loopback replay server (synthetic echo, NOT a model)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from fazhi.backends.llm import LLMBackend
from fazhi.batch import run_batch
from fazhi.llm.cache import AnswerCache
from fazhi.testing.replay_server import ReplayServer
from tests.llm_faults_support import cli, in_process, small_reports

# --- 3. a corrupt cache is set aside, the run goes on -------------------------------------------


def filled_cache(folder: Path, entries: int = 50) -> Path:
    with AnswerCache(folder) as cache:
        for i in range(entries):
            cache.put(f"key-{i}", "x" * 2000)
    return folder / "answers" / "cache.db"


def truncate(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 3)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "store-is-a-file"])
def test_a_corrupt_cache_is_moved_aside_with_one_warning_and_a_fresh_one_used(
    tmp_path, caplog, damage
):
    database = filled_cache(tmp_path)
    if damage == "truncated":
        truncate(database)
    elif damage == "garbage":
        database.write_bytes(b"not a database " * 100)
    else:
        shutil.rmtree(database.parent)
        database.parent.write_text("junk")
    with caplog.at_level(logging.WARNING, logger="fazhi.llm"):
        cache = AnswerCache(tmp_path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "corrupt" in warnings[0] and ".corrupt-" in warnings[0]
    with cache:
        assert cache.get("key-1") is None and len(cache) == 0
        cache.put("key-1", "fresh")
        assert cache.get("key-1") == "fresh"
        [aside] = cache.corrupt_files()
    assert aside.exists() and ".corrupt-" in aside.name
    with AnswerCache(tmp_path) as again:  # the fresh store is a working one
        assert again.get("key-1") == "fresh"


class FailingStore:
    """Stands in for a diskcache store whose file went bad (or got locked) while open."""

    def __init__(self, error: Exception):
        self.error = error

    def get(self, key):
        raise self.error

    def close(self):
        pass


def test_corruption_met_during_a_run_sets_the_store_aside_and_the_read_misses(tmp_path, caplog):
    import sqlite3

    filled_cache(tmp_path)
    cache = AnswerCache(tmp_path)
    cache._store = FailingStore(sqlite3.DatabaseError("database disk image is malformed"))
    with caplog.at_level(logging.WARNING, logger="fazhi.llm"):
        assert cache.get("key-1") is None  # the fresh store has nothing
    assert len(caplog.records) == 1 and "malformed" in caplog.records[0].getMessage()
    cache.put("key-1", "fresh")
    assert cache.get("key-1") == "fresh" and len(cache.corrupt_files()) == 1
    cache.close()


def test_a_locked_cache_is_not_mistaken_for_a_corrupt_one(tmp_path):
    import sqlite3

    filled_cache(tmp_path)
    cache = AnswerCache(tmp_path)
    cache._store = FailingStore(sqlite3.OperationalError("database is locked"))
    with pytest.raises(sqlite3.OperationalError):
        cache.get("key-1")
    assert cache.corrupt_files() == [] and (tmp_path / "answers" / "cache.db").exists()


def test_cache_stats_and_clear_work_on_garbage(tmp_path):
    database = filled_cache(tmp_path / "cache")
    database.write_bytes(b"\x00garbage" * 500)
    stats = in_process("cache", "stats", "--cache-dir", str(tmp_path / "cache"))
    assert stats.exit_code == 0, stats.output
    assert "entries   0" in stats.stdout and "corrupt   1 file(s) set aside" in stats.stdout
    cleared = in_process("cache", "clear", "--cache-dir", str(tmp_path / "cache"))
    assert cleared.exit_code == 0 and "1 corrupt file(s) set aside" in cleared.stdout
    assert not list((tmp_path / "cache").rglob("*.corrupt-*"))
    (tmp_path / "cache" / "answers").rename(tmp_path / "moved")
    (tmp_path / "cache" / "answers").write_text("junk")  # a store that is not even a folder
    assert in_process("cache", "clear", "--cache-dir", str(tmp_path / "cache")).exit_code == 0
    assert in_process("cache", "stats", "--cache-dir", str(tmp_path / "cache")).exit_code == 0


def test_corrupt_cache_scenario_the_batch_goes_on_and_matches(tmp_path):
    """Fault-suite scenario "corrupt-cache": a batch fills the cache, the sqlite file is cut to a
    third, and the next batch warns once on stderr, sets the file aside, asks again and ends
    with the same results as the first."""
    reports = small_reports(tmp_path / "reports", 4)
    cache = tmp_path / "cache"
    with ReplayServer(mode="echo") as server:
        # the first batch fills the cache (in this process: one interpreter start-up less)
        filling = LLMBackend(model="replay", base_url=server.url, cache_dir=cache)
        first = run_batch(reports, filling, tmp_path / "first.jsonl")
        assert all(r.status == "complete" for r in first.records)
        filling.cache.close()
        truncate(cache / "answers" / "cache.db")
        args = ["extract", str(tmp_path / "reports"), "--backend", "llm", "--model", "replay",
                "--llm-style", "quote",  # the style the echo server answers in
                "--base-url", server.url, "--cache-dir", str(cache)]  # fmt: skip
        server.reset_stats()
        second = cli(*args, "-o", str(tmp_path / "second.jsonl"))
        asked = server.stats.requests
    assert second.returncode == 0, second.stderr
    warned = [line for line in second.stderr.splitlines() if "cache was corrupt" in line]
    assert len(warned) == 1 and "moved aside" in warned[0]
    assert asked == len(reports)  # one chunk each, none of them served from the lost cache
    assert len(list((cache / "answers").glob("cache.db.corrupt-*"))) == 1
    assert _figures(tmp_path / "first.jsonl") == _figures(tmp_path / "second.jsonl")


def _figures(journal: Path) -> list:
    records = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    return sorted((r["source"], json.dumps(r["result"]["figures"])) for r in records)
