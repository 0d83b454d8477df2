"""One asyncio event loop per process, on a daemon thread, that the LLM backends' calls run on.

A batch runs each report on a worker thread of its own, and the backends' ``answer`` is
synchronous. Before, every report started an event loop of its own (``asyncio.run``) and built
an HTTP client for it: a new loop, a new thread for the openai client's platform probe, a new
connection to the endpoint and its TLS handshake, per report. Now a report's coroutine is handed
to this one loop and the worker thread only waits for its result, so a backend keeps one client
and its open connections for all the reports it serves (``bench/run.py``, concurrency section).

The thread is a daemon: a call still running when the process ends (Ctrl-C, ``--deadline``)
dies with it, as the batch's daemon workers do. After a ``fork`` the child makes its own loop.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_owner_pid = 0


def shared_loop() -> asyncio.AbstractEventLoop:
    """This process's loop, started on first use."""
    global _loop, _owner_pid
    with _lock:
        if _loop is None or _owner_pid != os.getpid():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="fazhi-llm-loop", daemon=True)
            thread.start()
            _loop, _owner_pid = loop, os.getpid()
        return _loop


def on_shared_loop() -> bool:
    """Whether the calling coroutine runs on this process's shared loop."""
    try:
        return asyncio.get_running_loop() is _loop and _owner_pid == os.getpid()
    except RuntimeError:
        return False


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the shared loop and wait here for its result (or its exception)."""
    loop = shared_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:  # waiting here would stop the loop that has to do the work
        coro.close()
        raise RuntimeError("fazhi.llm.loop.run called from the shared loop itself: await instead")
    return asyncio.run_coroutine_threadsafe(coro, loop).result()
