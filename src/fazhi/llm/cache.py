"""A disk cache of each chunk's checked answer, so a second run makes no calls.

The key is a sha256 over everything that changes an answer: model, base URL, instructor mode,
prompt version (prompt files + catalog + schema), the chunk text and the generation
parameters. API keys are never part of a key, a value or a log line. Values are JSON text of
whatever the caller stores (the backend stores a ``ChunkAnswer`` without usage).

A cache is a convenience, never a reason for a run to fail: a corrupt store (a truncated or
overwritten sqlite file, a folder that is not one) is moved aside as ``cache.db.corrupt-<UTC
time>`` with one warning line, and the run goes on with a fresh, empty cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import diskcache

DEFAULT_DIR = Path("~/.cache/fazhi")
STORE = "answers"  # the diskcache folder inside the cache folder
DATABASE = "cache.db"  # diskcache's sqlite file, with -wal/-shm beside it
CORRUPT_MARK = ".corrupt-"

log = logging.getLogger("fazhi.llm")
T = TypeVar("T")


def cache_dir(path: str | Path | None = None) -> Path:
    """``path``, else ``$FAZHI_CACHE_DIR``, else ``~/.cache/fazhi``."""
    chosen = path or os.environ.get("FAZHI_CACHE_DIR") or DEFAULT_DIR
    return Path(chosen).expanduser()


def cache_key(
    *,
    model: str,
    base_url: str,
    mode: str,
    prompt_version: str,
    text: str,
    params: dict[str, Any],
) -> str:
    """sha256 of the canonical JSON of everything an answer depends on."""
    payload = {
        "model": model,
        "base_url": base_url.rstrip("/"),
        "mode": mode,
        "prompt_version": prompt_version,
        "text": text,
        "params": params,
    }
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AnswerCache:
    """JSON text by key, in a diskcache folder (safe across processes and threads).

    Every operation that meets a damaged store sets it aside once (``set_aside``), reopens an
    empty one and carries on: a read then misses, a write goes to the fresh store.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = cache_dir(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.folder = self.path / STORE
        self.set_aside_now: list[Path] = []  # what this object moved aside
        self._lock = threading.RLock()
        self._store = self._open()

    def _open(self) -> diskcache.Cache:
        try:
            return self._probed()
        except sqlite3.DatabaseError as exc:
            if not (_is_corrupt(exc) or self.folder.is_file()):
                raise  # locked, unreadable, disk full: not ours to move away
            self._set_aside(exc)
            return self._probed()

    def _probed(self) -> diskcache.Cache:
        store = diskcache.Cache(str(self.folder))
        try:
            len(store)  # a count reads the settings table: a damaged file fails here
        except sqlite3.DatabaseError:
            store.close()
            raise
        return store

    def _set_aside(self, exc: BaseException) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        moved: list[Path] = []
        if self.folder.is_file():
            moved.append(_move(self.folder, self.folder.with_name(f"{STORE}{CORRUPT_MARK}{stamp}")))
        else:
            for suffix in ("", "-wal", "-shm"):
                part = self.folder / f"{DATABASE}{suffix}"
                if part.exists():
                    moved.append(_move(part, part.with_name(f"{part.name}{CORRUPT_MARK}{stamp}")))
        self.set_aside_now += moved
        where = moved[0] if moved else self.folder
        log.warning(
            "fazhi: the LLM answer cache was corrupt (%s); moved aside to %s, going on with "
            "an empty cache", _first_line(exc), where,
        )  # fmt: skip

    def _guarded(self, operation: Callable[[diskcache.Cache], T]) -> T:
        with self._lock:
            store = self._store
            try:
                return operation(store)
            except sqlite3.DatabaseError as exc:
                if not _is_corrupt(exc):
                    raise
                store.close()
                self._set_aside(exc)
                self._store = self._probed()
                return operation(self._store)

    def get(self, key: str) -> str | None:
        value = self._guarded(lambda store: store.get(key))
        return value if isinstance(value, str) else None

    def put(self, key: str, value: str) -> None:
        self._guarded(lambda store: store.set(key, value))

    def __len__(self) -> int:
        return self._guarded(len)

    def clear(self) -> int:
        """Remove every answer; returns how many there were."""
        return self._guarded(lambda store: store.clear())

    def corrupt_files(self, *, with_parts: bool = False) -> list[Path]:
        """Stores set aside as corrupt, by this or an earlier run (``fazhi cache clear`` removes
        them); ``with_parts`` adds the sqlite ``-wal``/``-shm`` files set aside with them."""
        found = list(self.folder.glob(f"*{CORRUPT_MARK}*")) if self.folder.is_dir() else []
        found += self.path.glob(f"{STORE}{CORRUPT_MARK}*")
        parts = (f"{DATABASE}-wal{CORRUPT_MARK}", f"{DATABASE}-shm{CORRUPT_MARK}")
        return sorted(p for p in found if with_parts or not p.name.startswith(parts))

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> AnswerCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """ "file is not a database", "database disk image is malformed" -- not a locked database,
    an I/O error or a full disk (``OperationalError``), which a fresh file would not cure."""
    return not isinstance(exc, sqlite3.OperationalError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:120] if text else type(exc).__name__


def _move(path: Path, target: Path) -> Path:
    with contextlib.suppress(FileNotFoundError):  # another process set it aside first
        path.replace(target)
    return target
