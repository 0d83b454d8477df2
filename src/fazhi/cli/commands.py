"""Imports every command module so each registers on the app. Add one line per module."""

from fazhi.cli import schema_cmd  # noqa: F401
from fazhi.cli import eval_cmd  # noqa: F401
from fazhi.cli import verify_cmd  # noqa: F401
from fazhi.cli import extract_cmd  # noqa: F401
from fazhi.cli import show_cmd  # noqa: F401
from fazhi.cli import cache_cmd  # noqa: F401
