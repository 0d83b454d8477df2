"""Where ``fazhi extract`` may write: checked before any report runs, so a bad ``-o`` or
``--csv`` costs one line and exit 2, never a traceback after an hour of work, and never the
input report itself."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from fazhi.errors import FazhiError


class OutputPathError(FazhiError):
    """An output path that cannot or must not be written: one line, exit code 2."""


def check_output(path: Path, inputs: Sequence[Path], flag: str) -> None:
    """Refuse an output that is an input, a folder, under a missing folder or not writable."""
    if path.is_dir():
        raise OutputPathError(f"{flag} {path}: is a folder; give a file name")
    for report in inputs:
        if _same_file(path, report):
            raise OutputPathError(f"{flag} {path}: is the input report; refusing to overwrite it")
    parent = path.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise OutputPathError(f"{flag} {path}: folder {parent} {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"{flag} {path}: not writable (permission denied)")
    try:  # the only sure test of a folder (permissions, read-only mounts, root or not)
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise OutputPathError(
            f"{flag} {path}: cannot write in {parent} ({describe(exc)})"
        ) from None


def describe(exc: OSError) -> str:
    """An OSError in a few words ("no space left on device"), without a traceback."""
    if exc.errno is not None and exc.errno in errno.errorcode:
        return os.strerror(exc.errno).lower()
    return str(exc)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False
