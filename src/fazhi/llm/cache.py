"""A disk cache of each chunk's checked answer, so a second run makes no calls.

The key is a sha256 over everything that changes an answer: model, base URL, instructor mode,
prompt version (prompt files + catalog + schema), the chunk text and the generation
parameters. API keys are never part of a key, a value or a log line. Values are JSON text of
whatever the caller stores (the backend stores a ``ChunkAnswer`` without usage).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import diskcache

DEFAULT_DIR = Path("~/.cache/fazhi")


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
    """JSON text by key, in a diskcache folder (safe across processes)."""

    def __init__(self, path: str | Path | None = None):
        self.path = cache_dir(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._store = diskcache.Cache(str(self.path / "answers"))

    def get(self, key: str) -> str | None:
        value = self._store.get(key)
        return value if isinstance(value, str) else None

    def put(self, key: str, value: str) -> None:
        self._store.set(key, value)

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> int:
        """Remove every answer; returns how many there were."""
        return self._store.clear()

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> AnswerCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
