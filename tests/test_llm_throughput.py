"""What keeps a batch's Python side small per call: one loop and one client per backend, the
answer model prepared for instructor once (bench/run.py's concurrency section measures it)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from instructor.v2.core.function_calls import ResponseSchema

from fazhi.backends import llm as llm_backend
from fazhi.backends.llm import LLMBackend
from fazhi.catalog import default_catalog
from fazhi.chunking import chunk_source
from fazhi.llm import loop
from fazhi.llm.client import RetryPolicy, prepared_model
from fazhi.llm.label_schema import LabelReply
from fazhi.llm.schema import answer_model
from fazhi.model import Source
from fazhi.testing.replay_server import ReplayServer

TEXT = "一、基本情况\n全年办理行政复议案件120件，同比增长5%。\n二、存在问题\n执法水平有待提高。\n"


@pytest.mark.parametrize("model", [answer_model(default_catalog()), LabelReply])
def test_the_prepared_model_renders_the_same_schema_once(model):
    prepared = prepared_model(model)
    assert prepared is prepared_model(model)  # made once per model
    assert issubclass(prepared, ResponseSchema)  # so instructor does not wrap it again per call
    assert prepared.__name__ == model.__name__
    assert prepared.model_json_schema() == model.model_json_schema()
    first = prepared.model_json_schema()
    first["title"] = "changed by a caller"
    assert prepared.model_json_schema() == model.model_json_schema()  # a copy each time


def test_one_client_serves_every_report_from_every_thread(monkeypatch):
    made = []
    real = llm_backend.make_client

    def counting(*args, **kwargs):
        made.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(llm_backend, "make_client", counting)
    source = Source(text=TEXT)
    chunks = chunk_source(source, size=500)
    with ReplayServer(mode="echo") as server:
        backend = LLMBackend(
            model="replay", base_url=server.url, use_cache=False, timeout=10,
            retry=RetryPolicy(attempts=1),
        )  # fmt: skip
        results: list = []
        threads = [
            threading.Thread(target=lambda: results.append(backend.answer(chunks, source)))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(results) == 4 and all(not a.error for answers in results for a in answers)
        assert server.stats.requests == 4 * len(chunks)
    assert made == ["fazhi-llm-loop"]  # one client, made on the shared loop


def test_answer_async_in_the_callers_own_loop_gets_a_client_of_its_own(monkeypatch):
    source = Source(text=TEXT)
    chunks = chunk_source(source, size=500)
    with ReplayServer(mode="echo") as server:
        backend = LLMBackend(model="replay", base_url=server.url, use_cache=False, timeout=10)
        answers = asyncio.run(backend.answer_async(chunks, source))
        again = backend.answer(chunks, source)  # then the shared loop, with its own client
    assert [a.error for a in answers] == [None] * len(chunks)
    assert [a.figures for a in again] == [a.figures for a in answers]


def test_waiting_on_the_shared_loop_from_the_loop_itself_is_refused():
    async def inner():
        return 1

    async def outer():
        coro = inner()
        with pytest.raises(RuntimeError, match="await instead"):
            loop.run(coro)
        return loop.on_shared_loop()

    assert loop.run(outer()) is True
    assert loop.on_shared_loop() is False
