"""The ``fazhi`` command line: argument parsing and printing only; the work is done below.

Each command lives in its own module under ``fazhi.cli`` and registers itself on ``app``.
Errors a user must act on are ``fazhi.errors.FazhiError``: ``_Commands.invoke`` turns every one,
from any command, into one line on stderr and exit code 2, so no command keeps its own list.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer import _click  # typer vendors click; TyperGroup.invoke takes its Context
from typer.core import TyperGroup

from fazhi import __version__
from fazhi.errors import FazhiError

USER_ERROR_EXIT = 2  # exit 1 means "a report failed"; 2 is "fix the invocation or the input"


class _Commands(TyperGroup):
    """The command group: maps every ``FazhiError`` to ``fazhi COMMAND: message`` and exit 2."""

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FazhiError as err:
            if os.environ.get("FAZHI_DEBUG"):  # FAZHI_DEBUG=1: the traceback, for a bug report
                raise
            command = f"fazhi {ctx.invoked_subcommand}" if ctx.invoked_subcommand else "fazhi"
            typer.echo(f"{command}: {err.one_line()}", err=True)
            raise typer.Exit(USER_ERROR_EXIT) from None


app = typer.Typer(
    cls=_Commands,
    name="fazhi",
    help="Verified extraction of figures from 法治政府建设年度报告 (annual rule-of-law reports).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fazhi {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Verified extraction of figures from 法治政府建设年度报告 (annual rule-of-law reports).

    Every number in the output appears literally in the source, with a verbatim quote and its
    character offsets; anything that does not verify is listed under "rejected" with the reason.
    """
    if not os.environ.get("FAZHI_DEBUG"):  # FAZHI_DEBUG=1 keeps instructor's re-ask dumps
        from fazhi.llm import quiet_reask_logs

        quiet_reask_logs()


# Command modules register themselves on `app` when imported.
from fazhi.cli import commands  # noqa: E402,F401


def main() -> None:
    try:
        app()
    except SystemExit as done:
        _exit_past_hung_workers(done)
        raise


def _exit_past_hung_workers(done: SystemExit) -> None:
    """After Ctrl-C or ``--deadline`` a report may still sit in a hung model call on a daemon
    worker: everything is written and flushed, so leave at once rather than spend seconds in
    interpreter shutdown with it (the journal is fsynced line by line; locks die with us)."""
    from fazhi.workers import busy_workers

    if busy_workers():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(done.code if isinstance(done.code, int) else 1)
