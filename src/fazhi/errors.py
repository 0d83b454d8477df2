"""The one root of every error a user must act on.

A ``FazhiError`` carries a message written for the user: the CLI prints it as one line on stderr
(``fazhi COMMAND: message``) and exits with code 2, whatever the command (see ``fazhi.cli``).
Anything else that escapes is a bug and keeps its traceback.

This module imports nothing from fazhi, so every layer may derive from it.
"""

from __future__ import annotations


class FazhiError(Exception):
    """Bad input, settings or environment that the user can fix; the message says how."""

    def one_line(self) -> str:
        """The message with every line break and run of spaces folded into one space."""
        return " ".join(str(self).split()) or type(self).__name__
