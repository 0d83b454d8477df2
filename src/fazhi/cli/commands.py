"""Imports every command module so each registers on the app. Add one line per module."""

from fazhi.cli import (
    batch_cmd,  # noqa: F401
    cache_cmd,  # noqa: F401
    eval_cmd,  # noqa: F401
    extract_cmd,  # noqa: F401
    panel_cmd,  # noqa: F401
    schema_cmd,  # noqa: F401
    show_cmd,  # noqa: F401
    verify_cmd,  # noqa: F401
)
