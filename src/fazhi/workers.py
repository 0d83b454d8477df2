"""A thread pool that never keeps the process alive: daemon workers handing back ``Future``s.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits, so one
report stuck in a hung HTTP call keeps ``fazhi extract`` running after Ctrl-C or a deadline,
however the pool is shut down. These workers are daemon threads: whoever waits on the futures
decides when to stop waiting, and an abandoned call dies with the process.

``ProcessPool`` has the same two methods on forked worker processes, for CPU-bound work
(``fazhi extract --workers N`` with the rules backend).
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
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


class _Inherited:
    """Stands, in a task sent to a worker process, for the object every worker inherited."""


_INHERITED = _Inherited()
_adopted: list[Any] = []  # in a worker process: the object it inherited from the parent


def _adopt(shared: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _adopted[:] = [shared]


def _run_adopted(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    def back(value: Any) -> Any:
        return _adopted[0] if isinstance(value, _Inherited) else value

    return fn(*map(back, args), **{k: back(v) for k, v in kwargs.items()})


class ProcessPool:
    """``submit`` and ``shutdown`` as ``DaemonPool`` has them, on ``workers`` forked processes.

    For CPU-bound jobs, which threads would run one at a time under the interpreter lock.
    ``shared`` (a backend: a cache, a lock or a client need not pickle) is inherited by every
    worker when it is forked; an argument that *is* ``shared`` is sent as a placeholder and
    becomes the worker's copy. Everything else is pickled both ways. Workers ignore Ctrl-C (the
    parent decides); ``shutdown(cancel_futures=True)`` terminates them, so a job stuck in a
    worker never keeps the process alive. A worker that dies (killed, out of memory) fails the
    jobs not finished with ``BrokenProcessPool``.
    """

    def __init__(self, workers: int, shared: Any = None) -> None:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise OSError("worker processes need fork (Linux, macOS); run with one worker")
        self._shared = shared
        self._executor = ProcessPoolExecutor(
            max(1, workers),
            mp_context=multiprocessing.get_context("fork"),
            initializer=_adopt,
            initargs=(shared,),  # inherited through the fork, not pickled
        )
        self._pending: list[Future] = []

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        def out(value: Any) -> Any:
            return _INHERITED if value is self._shared and value is not None else value

        future = self._executor.submit(
            _run_adopted, fn, tuple(map(out, args)), {k: out(v) for k, v in kwargs.items()}
        )
        self._pending.append(future)
        return future

    def shutdown(self, *, cancel_futures: bool = False) -> int:
        """Let the workers end after the queued jobs (never waits on a running job); with
        ``cancel_futures`` cancel those and terminate the workers at once. Returns how many jobs
        were still running."""
        running = sum(f.running() for f in self._pending)
        if cancel_futures:
            for future in self._pending:
                future.cancel()
            # ProcessPoolExecutor has no public way to stop a running job (3.14 adds one)
            for process in list(getattr(self._executor, "_processes", {}).values()):
                process.terminate()
        elif running:
            self._executor.shutdown(wait=False)
            return 0
        # Nothing is left running: joining is quick, and an executor shut down without it
        # trips over its own closed pipe at interpreter exit.
        self._executor.shutdown(wait=True, cancel_futures=cancel_futures)
        return running if cancel_futures else 0
