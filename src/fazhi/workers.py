"""A thread pool that never keeps the process alive: daemon workers handing back ``Future``s.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits, so one
report stuck in a hung HTTP call keeps ``fazhi extract`` running after Ctrl-C or a deadline,
however the pool is shut down. These workers are daemon threads: whoever waits on the futures
decides when to stop waiting, and an abandoned call dies with the process.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

_busy: set[threading.Thread] = set()  # workers inside a job right now, in every pool
_busy_lock = threading.Lock()


def busy_workers() -> int:
    """How many daemon workers are inside a job now (e.g. abandoned in a hung call)."""
    with _busy_lock:
        return len(_busy)


class DaemonPool:
    """``submit`` and ``shutdown`` as ``ThreadPoolExecutor`` has them, on daemon threads."""

    def __init__(self, workers: int, name: str = "fazhi-worker") -> None:
        self._jobs: queue.SimpleQueue[tuple[Future, Callable, tuple, dict] | None] = (
            queue.SimpleQueue()
        )
        self._pending: list[Future] = []
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        self._pending.append(future)
        self._jobs.put((future, fn, args, kwargs))
        return future

    def shutdown(self, *, cancel_futures: bool = False) -> int:
        """Let the workers end after their current job; returns how many jobs are still running.

        Never waits. With ``cancel_futures`` the jobs not started yet are cancelled.
        """
        if cancel_futures:
            for future in self._pending:
                future.cancel()  # only succeeds for jobs not started yet
        for _ in self._threads:
            self._jobs.put(None)  # tells one worker to end
        return sum(f.running() for f in self._pending)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args, kwargs = job
            if not future.set_running_or_notify_cancel():
                continue
            with _busy_lock:
                _busy.add(threading.current_thread())
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to whoever waits, as the executor does
                future.set_exception(exc)
            finally:
                with _busy_lock:
                    _busy.discard(threading.current_thread())
