"""Where the project's data files are: ``prompts/``, ``schemas/``, ``evals/gold``, ``evals/corpus``.

They live at the top of the repository so they are reviewed like code. An editable install
reads them there; a built wheel carries copies under ``fazhi/_bundled`` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder ``name`` ("prompts", "schemas", "evals/gold", "evals/corpus"), bundled copy
    first, then the repo's."""
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"fazhi data folder {name!r} not found (broken install?)")


def data_file(folder: str, name: str) -> Path:
    return data_dir(folder) / name
