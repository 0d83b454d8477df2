"""Which files of the arguments are reports, and which were passed over and why.

``discover(arguments)`` expands files, folders (walked recursively) and glob patterns. An
explicit file is taken as is (ingest judges it); inside folders and globs only report types are
taken, and every other file is returned in ``skipped`` with its reason -- another file type, an
old ``.doc`` to convert, a text fazhi wrote beside a result, a dangling symbolic link, a link
that loops back to a folder above it -- so the caller can count and name them. Symbolic links
to files and folders are followed once; a report reached twice (by a link) is taken once.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fazhi.errors import FazhiError
from fazhi.ingest import CONVERT_FIRST, SUPPORTED, expected_types

REPORT_SUFFIXES = tuple(SUPPORTED)
BESIDE_SUFFIX = ".source.txt"  # text fazhi wrote next to a result: output, not a report
SOURCES_SUFFIX = ".sources"  # folder of the texts a batch wrote (JOURNAL.sources/): output too


class NoInputsError(FazhiError, ValueError):
    """An input argument that names no report (one line, for the user)."""


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


@dataclass
class Discovery:
    inputs: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def find_inputs(arguments: Sequence[str]) -> list[Path]:
    """The report files ``discover`` finds (see there); raises ``NoInputsError``."""
    return discover(arguments).inputs


def discover(arguments: Sequence[str]) -> Discovery:
    """Reports named by the arguments, in order without duplicates, and the files passed over.

    Every argument must name at least one report, else ``NoInputsError``.
    """
    found = Discovery()
    seen: set[str] = set()
    for argument in arguments:
        before = len(found.inputs)
        for item in _expand(argument):
            if isinstance(item, Skipped):
                found.skipped.append(item)
            elif _real(item) not in seen:
                seen.add(_real(item))
                found.inputs.append(item)
        if len(found.inputs) == before and not _named_again(argument, seen):
            raise NoInputsError(_nothing_found(argument))
    if not found.inputs:
        raise NoInputsError("no input reports given")
    return found


def _named_again(argument: str, seen: set[str]) -> bool:
    # The same report given twice is no argument without reports.
    path = Path(argument)
    return path.is_file() and _real(path) in seen


def _expand(argument: str) -> Iterator[Path | Skipped]:
    path = Path(argument)
    if path.is_dir():
        yield from _walk(path, {_real(path)})
    elif path.exists() or path.is_symlink():
        yield path  # explicit: ingest says what is wrong with it (a dangling link, a .doc...)
    elif glob.has_magic(argument):
        for hit in sorted(Path(p) for p in glob.glob(argument, recursive=True)):
            yield from _walk(hit, {_real(hit)}) if hit.is_dir() else _judge(hit)


def _walk(folder: Path, ancestors: set[str]) -> Iterator[Path | Skipped]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield Skipped(folder, f"cannot list folder: {exc.strerror or exc}")
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink() and not path.exists():
            yield Skipped(path, "dangling symbolic link (its target does not exist)")
        elif path.is_dir():
            real = _real(path)
            if real in ancestors:
                yield Skipped(path, "symbolic link loop (points to a folder above it)")
            else:
                yield from _walk(path, ancestors | {real})
        else:
            yield from _judge(path)


def _judge(path: Path) -> Iterator[Path | Skipped]:
    suffix = path.suffix.lower()
    if path.name.endswith(BESIDE_SUFFIX):
        yield Skipped(path, "text fazhi wrote beside a result")
    elif path.parent.name.endswith(SOURCES_SUFFIX):
        yield Skipped(path, "text fazhi wrote for a batch")
    elif path.is_symlink() and not path.exists():
        yield Skipped(path, "dangling symbolic link (its target does not exist)")
    elif suffix in CONVERT_FIRST:
        yield Skipped(path, CONVERT_FIRST[suffix])
    elif suffix in REPORT_SUFFIXES:
        yield path
    else:
        yield Skipped(path, f"not a report type ({path.suffix or 'no extension'})")


def _real(path: Path) -> str:
    return os.path.realpath(path)


def _nothing_found(argument: str) -> str:
    if Path(argument).is_dir():
        return f"{argument}: folder holds no {expected_types()} reports"
    if glob.has_magic(argument):
        return f"{argument}: pattern matches no {expected_types()} report"
    return f"{argument}: no such file or folder"


def skipped_summary(skipped: Sequence[Skipped]) -> list[str]:
    """Lines for stderr: a count, then each file passed over with its reason."""
    if not skipped:
        return []
    lines = [f"skipped {len(skipped)} file(s) that are not reports:"]
    lines += [f"  {item.path}: {item.reason}" for item in skipped]
    return lines
