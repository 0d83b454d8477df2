"""A thread pool that never keeps the process alive: daemon workers handing back ``Future``s.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits, so one
report stuck in a hung HTTP call keeps ``fazhi extract`` running after Ctrl-C or a deadline,
however the pool is shut down. These workers are daemon threads: whoever waits on the futures
decides when to stop waiting, and an abandoned call dies with the process.

``ProcessPool`` has the same two methods on forked worker processes, for work one process
cannot keep up with (``fazhi extract --workers N``: the rules backend, or a model backend with
many calls in flight); each worker runs its jobs on daemon threads of its own.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import pickle
import queue
import signal
import struct
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
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


class WorkerDied(Exception):
    """A job's worker process ended before the job did (killed, out of memory, terminated)."""


class _Inherited:
    """Stands, in a task sent to a worker process, for the object every worker inherited."""


_INHERITED = _Inherited()
_adopted: list[Any] = []  # in a worker process: the object it inherited from the parent


def _run_adopted(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    def back(value: Any) -> Any:
        return _adopted[0] if isinstance(value, _Inherited) else value

    return fn(*map(back, args), **{k: back(v) for k, v in kwargs.items()})


_JOB_ID = struct.Struct("<Q")  # leads every outcome sent back, so even one that fails to
# unpickle in the parent is matched to its job


def _pickled_outcome(job: int, fn: Callable[..., Any], args: tuple, kwargs: dict) -> bytes:
    """A job's id, then ``(ok, value or exception)`` pickled; an exception that does not pickle
    is sent as its text."""
    try:
        outcome: tuple[bool, Any] = (True, _run_adopted(fn, args, kwargs))
    except BaseException as exc:  # handed to whoever waits, as an executor does
        outcome = (False, exc)
    try:
        return _JOB_ID.pack(job) + pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        problem = RuntimeError(f"a job's outcome could not be sent back: {exc}")
        return _JOB_ID.pack(job) + pickle.dumps((False, problem), pickle.HIGHEST_PROTOCOL)


def _how_it_ended(process: multiprocessing.process.BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    else:
        how = f"exited (code {code})"
    return f"worker process {process.pid} {how} while running this job"


def _serve(jobs: Connection, results: Connection, threads: int, shared: Any, inherited) -> None:
    """A worker process: run each job it is sent on one of ``threads`` daemon threads.

    The parent sends a job only to a worker with a free thread, so every job here runs at once
    and the parent always knows which jobs die with this process. ``None`` means stop; the end
    of the pipe (the parent is gone) ends the process at once, hung jobs and all.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for connection in inherited:  # other workers' pipe ends: their ends of file must be theirs
        connection.close()
    _adopted[:] = [shared]
    sending = threading.Lock()
    pool = DaemonPool(threads, name="fazhi-report")

    def run(job: int, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        payload = _pickled_outcome(job, fn, args, kwargs)
        with sending:
            results.send_bytes(payload)

    while True:
        try:
            message = jobs.recv()
        except (EOFError, OSError):
            os._exit(0)  # the parent died: nobody is left to hand a result to
        if message is None:
            pool.shutdown()
            return  # the parent sends it only when none of this worker's jobs is running
        pool.submit(run, *message)


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    jobs: Connection  # parent → worker
    results: Connection  # worker → parent
    slots: int
    running: dict[int, Future] = field(default_factory=dict)
    stopping: bool = False

    def free(self) -> int:
        return self.slots - len(self.running)


class ProcessPool:
    """``submit`` and ``shutdown`` as ``DaemonPool`` has them, on forked worker processes.

    For CPU-bound work, which threads would run one at a time under the interpreter lock: the
    rules backend (one job at a time per worker), or a model backend with many calls in flight
    (``threads`` jobs at once per worker, each process with its own event loop and client).
    ``threads`` is one count for every worker or one per worker.

    ``shared`` (a backend: a cache, a lock or a client need not pickle) is inherited by every
    worker when it is forked; an argument that *is* ``shared`` is sent as a placeholder and
    becomes the worker's copy. Everything else is pickled both ways. Workers ignore Ctrl-C (the
    parent decides); ``shutdown(cancel_futures=True)`` terminates them, so a job stuck in a
    worker never keeps the process alive. A worker that dies (killed, out of memory) fails the
    jobs it was running with ``WorkerDied``; the others go on to the workers left (it is not
    replaced: forking again from this process, with its threads running, is unsafe).
    """

    def __init__(self, workers: int, shared: Any = None, threads: int | Sequence[int] = 1) -> None:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise OSError("worker processes need fork (Linux, macOS); run with one worker")
        counts = [threads] * max(1, workers) if isinstance(threads, int) else list(threads)
        self._shared = shared
        self._lock = threading.Lock()
        self._queue: deque[tuple[Future, int, Callable, tuple, dict]] = deque()
        self._jobs = itertools.count()
        self._closing = False
        self._workers = self._fork(counts, shared)
        self._live = list(self._workers)
        self._collector = threading.Thread(target=self._collect, name="fazhi-pool", daemon=True)
        self._collector.start()

    @staticmethod
    def _fork(counts: list[int], shared: Any) -> list[_Worker]:
        context = multiprocessing.get_context("fork")
        workers: list[_Worker] = []
        for slots in counts:
            jobs_in, jobs_out = context.Pipe(duplex=False)
            results_in, results_out = context.Pipe(duplex=False)
            inherited = [c for w in workers for c in (w.jobs, w.results)] + [jobs_out, results_in]
            process = context.Process(
                target=_serve,
                args=(jobs_in, results_out, max(1, slots), shared, inherited),
                name=f"fazhi-worker-{len(workers)}",
                daemon=True,  # terminated, not waited for, if this process exits first
            )
            process.start()
            jobs_in.close()
            results_out.close()
            workers.append(_Worker(process, jobs_out, results_in, max(1, slots)))
        return workers

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        def out(value: Any) -> Any:
            return _INHERITED if value is self._shared and value is not None else value

        future: Future = Future()
        job = (
            future,
            next(self._jobs),
            fn,
            tuple(map(out, args)),
            {k: out(v) for k, v in kwargs.items()},
        )
        with self._lock:
            if self._closing:
                raise RuntimeError("cannot submit to a pool that was shut down")
            if not self._live:
                future.set_exception(WorkerDied("no worker process is left to run this job"))
                return future
            self._queue.append(job)
            self._dispatch()
        return future

    def shutdown(self, *, cancel_futures: bool = False) -> int:
        """Let the workers end after the queued jobs (never waits on a running job); with
        ``cancel_futures`` cancel those and terminate the workers at once. Returns how many jobs
        were still running when cancelled (0 without ``cancel_futures``)."""
        with self._lock:
            self._closing = True
            running = sum(len(w.running) for w in self._live)
            if cancel_futures:
                while self._queue:
                    self._queue.popleft()[0].cancel()
                for worker in self._live:
                    worker.process.terminate()
            else:
                self._stop_idle()
        if cancel_futures or not running:
            # Nothing is left running (or it was terminated): the workers end at once, and
            # reaping them here counts their CPU time to this process's children.
            self._collector.join(timeout=5)
        return running if cancel_futures else 0

    def _dispatch(self) -> None:
        """Send queued jobs to the live workers with free threads, the freest first (lock held)."""
        while self._queue:
            worker = max(self._live, key=_Worker.free, default=None)
            if worker is None or worker.free() <= 0:
                return
            future, job, fn, args, kwargs = self._queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while queued
            try:
                worker.jobs.send((job, fn, args, kwargs))
            except Exception as exc:  # a job that does not pickle, or a worker gone
                future.set_exception(exc)
                continue
            worker.running[job] = future

    def _stop_idle(self) -> None:
        """Once closing, tell each worker with nothing left to do to end (lock held)."""
        if not self._closing or self._queue:
            return
        for worker in self._live:
            if not worker.running and not worker.stopping:
                worker.stopping = True
                with contextlib.suppress(OSError):
                    worker.jobs.send(None)

    def _collect(self) -> None:
        """The pool's one reader: results back to their futures, dead workers noticed."""
        while True:
            with self._lock:
                live = list(self._live)
            if not live:
                return
            by_handle: dict[Any, _Worker] = {}
            for worker in live:
                by_handle[worker.results] = by_handle[worker.process.sentinel] = worker
            for ready in wait(list(by_handle)):
                worker = by_handle[ready]
                if worker not in self._live:
                    continue  # buried a moment ago, with what it had sent
                if ready is worker.results:
                    self._receive(worker)
                else:
                    self._bury(worker)

    def _receive(self, worker: _Worker) -> bool:
        """One outcome from ``worker`` to its future; False at the end of its pipe."""
        try:
            data = worker.results.recv_bytes()
        except (EOFError, OSError):
            return False  # the worker is gone: its sentinel says so
        (job,) = _JOB_ID.unpack_from(data)
        try:
            ok, value = pickle.loads(data[_JOB_ID.size :])
        except Exception as exc:  # an outcome that does not unpickle here
            ok, value = False, exc
        with self._lock:
            future = worker.running.pop(job, None)
            self._dispatch()
            self._stop_idle()
        if future is not None:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        return True

    def _bury(self, worker: _Worker) -> None:
        """A worker ended: take what it sent before, fail what it was running; with no worker
        left, fail the queued jobs too."""
        while worker.results.poll() and self._receive(worker):
            pass
        worker.process.join(timeout=5)
        died = WorkerDied(_how_it_ended(worker.process))
        with self._lock:
            self._live.remove(worker)
            lost = list(worker.running.values())
            worker.running.clear()
            if not self._live:  # nobody left to run the queued jobs
                lost += [job[0] for job in self._queue if job[0].set_running_or_notify_cancel()]
                self._queue.clear()
            else:
                self._dispatch()
        for future in lost:
            future.set_exception(died)
        worker.jobs.close()
        worker.results.close()
