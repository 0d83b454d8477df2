"""The progress bar starts its refresh thread on the first update, not on entering: a batch
with --workers forks its worker processes in between (a fork while that thread holds stderr's
lock would leave a child that hangs on its first log line)."""

from __future__ import annotations

import io
import threading

from rich.console import Console

from fazhi.batch import BatchProgress
from fazhi.cli.extract_progress import progress_bar


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def test_no_thread_before_the_first_update_and_none_after_the_end():
    bar = progress_bar((None, None))
    bar.console = Console(file=io.StringIO(), force_terminal=True)  # a terminal, in a test
    before = _threads()
    with bar as show:
        assert _threads() == before  # entered: nothing started yet
        show(BatchProgress(total=3))
        assert _threads() - before  # the first update starts rich's refresh thread
        show(BatchProgress(total=3, complete=1))
    assert "1/3" in bar.console.file.getvalue()
    for thread in _threads() - before:
        thread.join(timeout=5)  # stopped on exit; rich does not wait for it
    assert not {t for t in _threads() - before if t.is_alive()}


def test_off_a_terminal_the_bar_is_silent_and_starts_nothing():
    bar = progress_bar((None, None))
    bar.console = Console(file=io.StringIO(), force_terminal=False)
    before = _threads()
    with bar as show:
        show(BatchProgress(total=2, complete=2))
        assert _threads() == before
    assert bar.console.file.getvalue() == ""
