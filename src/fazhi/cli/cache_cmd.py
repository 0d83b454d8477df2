"""``fazhi cache stats|clear``: the LLM answer cache on disk (see ``fazhi.llm.cache``).

Both work on a damaged cache: opening it sets a corrupt store aside (one warning line) and
``stats`` lists what was set aside; ``clear`` removes the answers and the set-aside files, and
when even that fails, the whole store folder (it holds nothing but cached answers).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from fazhi.cli import app

cache_app = typer.Typer(
    help="Inspect or empty the LLM answer cache.\n\nExample: fazhi cache stats",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")

CACHE_DIR_HELP = "Cache folder (default: $FAZHI_CACHE_DIR, else ~/.cache/fazhi)."


@cache_app.command("stats")
def stats_command(
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help=CACHE_DIR_HELP),
) -> None:
    """Print where the cache is, how many answers it holds and its size on disk.

    Example: fazhi cache stats --cache-dir /tmp/fazhi-cache
    """
    location, cache = _cache_at(cache_dir)
    if cache is None:
        typer.echo(f"location  {location}\nentries   0 (no cache folder yet)\nsize      0 B")
        return
    with cache:
        entries = len(cache)
        corrupt = cache.corrupt_files()
    typer.echo(
        f"location  {location}\nentries   {entries}\nsize      {_size(_bytes_under(location))}"
    )
    if corrupt:
        names = ", ".join(p.name for p in corrupt)
        typer.echo(
            f"corrupt   {len(corrupt)} file(s) set aside ({names}); fazhi cache clear removes them"
        )


@cache_app.command("clear")
def clear_command(
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help=CACHE_DIR_HELP),
) -> None:
    """Remove every cached answer (the next run asks the model again).

    Example: fazhi cache clear
    """
    from fazhi.llm.cache import STORE

    location = _location(cache_dir)
    if not location.is_dir():
        typer.echo(f"nothing to clear: no cache at {location}")
        return
    try:
        _, cache = _cache_at(cache_dir)
        assert cache is not None
        with cache:
            entries: int | str = cache.clear()
            corrupt = cache.corrupt_files()
            every_part = cache.corrupt_files(with_parts=True)
        for path in every_part:
            _remove(path)
    except Exception:  # whatever state the store is in, clearing it must work
        _remove(location / STORE)
        entries, corrupt = "all", []
    extra = f" and {len(corrupt)} corrupt file(s) set aside" if corrupt else ""
    typer.echo(f"cleared {entries} cached answers{extra} from {location}")


def _location(cache_dir: Path | None) -> Path:
    from fazhi.llm.cache import cache_dir as resolve

    return resolve(cache_dir)


def _cache_at(cache_dir: Path | None):
    """The cache folder, and the cache in it (``None`` when the folder does not exist yet:
    looking must not create it)."""
    from fazhi.llm.cache import AnswerCache

    location = _location(cache_dir)
    return location, (AnswerCache(location) if location.is_dir() else None)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _bytes_under(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"
