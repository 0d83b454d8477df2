"""fazhi: verified structured extraction from 法治政府建设年度报告.

``fazhi.extract``, ``fazhi.read_journal`` and ``fazhi.to_panel`` (see ``fazhi.api``) are loaded
on first use, so ``import fazhi.model`` stays light and free of import cycles.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "extract", "read_journal", "to_panel"]

if TYPE_CHECKING:  # for type checkers; import-linter skips these (exclude_type_checking_imports)
    from fazhi.api import extract, read_journal, to_panel


def __getattr__(name: str) -> Any:
    # Loaded by name at first use: every module imports this package (``__version__``), and
    # the API sits above the CLI, so a static import here would make everything import it.
    if name in ("extract", "read_journal", "to_panel"):
        return getattr(importlib.import_module("fazhi.api"), name)
    raise AttributeError(f"module 'fazhi' has no attribute {name!r}")


def __dir__() -> list[str]:  # tab completion in notebooks shows the lazy names too
    return sorted(set(globals()) | set(__all__))
