"""Client factory (endpoints, modes, keys) and transport retries with Retry-After."""

import asyncio
import email.utils
import time

import httpx2
import openai
import pytest

from fazhi.catalog import default_catalog
from fazhi.llm.client import (
    LLMConfigError,
    RetryPolicy,
    ask,
    default_mode,
    make_client,
    parse_reply_json,
    reply_text,
    resolve_endpoint,
)
from fazhi.llm.retries import retry_after, retryable, with_retries
from fazhi.llm.schema import answer_model
from tests.llm_stub import answer, reply, running_stub

FIGURE = {
    "quote": "受理138件",
    "raw": "138",
    "indicator": "reconsideration.accepted",
    "scope": None,
}


@pytest.fixture(autouse=True)
def no_endpoint_env(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MY_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("url", "mode"),
    [
        ("http://127.0.0.1:18765/v1", "JSON_SCHEMA"),
        ("http://localhost:8080/v1", "JSON_SCHEMA"),
        ("http://192.168.1.20:8000/v1", "JSON_SCHEMA"),
        ("https://api.openai.com/v1", "TOOLS"),
        ("https://api.deepseek.com/v1", "TOOLS"),
    ],
)
def test_default_mode_per_endpoint(url, mode):
    assert default_mode(url) == mode


def test_a_hosted_endpoint_without_its_key_is_one_clear_error(monkeypatch):
    with pytest.raises(LLMConfigError) as info:
        resolve_endpoint("gpt-4o-mini", "https://api.openai.com/v1", api_key_env="MY_KEY")
    message = str(info.value)
    assert "\n" not in message and "MY_KEY" in message and "api.openai.com" in message
    monkeypatch.setenv("MY_KEY", "sk-test")
    assert (
        resolve_endpoint("gpt-4o-mini", "https://api.openai.com/v1", api_key_env="MY_KEY").mode
        == "TOOLS"
    )


def test_a_local_server_needs_no_key_and_the_environment_gives_the_url(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1/")
    endpoint = resolve_endpoint("qwen")
    assert endpoint.base_url == "http://127.0.0.1:9999/v1" and endpoint.mode == "JSON_SCHEMA"
    assert "key" not in repr(endpoint).replace("api_key_env", "")


@pytest.mark.parametrize("given", ["tools", "json_schema", "JSON", "md-json"])
def test_every_instructor_mode_can_be_chosen(given):
    endpoint = resolve_endpoint("m", "http://127.0.0.1:1/v1", mode=given)
    client = make_client(endpoint)
    assert client.mode.name == endpoint.mode
    assert client.client.max_retries == 0  # retries belong to tenacity


def test_unknown_mode_and_missing_model_are_refused():
    with pytest.raises(LLMConfigError, match="TOOLS, JSON_SCHEMA, JSON, MD_JSON"):
        resolve_endpoint("m", "http://127.0.0.1:1/v1", mode="FUNCTIONS")
    with pytest.raises(LLMConfigError, match="model"):
        resolve_endpoint("", "http://127.0.0.1:1/v1")


def _error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    cls = {
        429: openai.RateLimitError,
        500: openai.InternalServerError,
        400: openai.BadRequestError,
    }.get(status, openai.APIStatusError)
    return cls("stub", response=response, body=None)


def test_retry_after_in_seconds_or_as_an_http_date():
    assert retry_after(_error(429, {"retry-after": "3"})) == 3.0
    soon = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8 <= retry_after(_error(429, {"retry-after": soon})) <= 10
    assert retry_after(_error(429)) is None
    assert retry_after(_error(429, {"retry-after": "86400"})) == 120.0  # capped


def test_what_is_retried():
    assert retryable(_error(429)) and retryable(_error(500)) and retryable(_error(503))
    assert not retryable(_error(400)) and not retryable(ValueError("bug"))


def _run_with_retries(failures, attempts=4):
    slept, calls = [], []

    async def sleep(seconds):
        slept.append(seconds)

    async def create():
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "ok"

    policy = RetryPolicy(attempts=attempts, initial=0.5, maximum=4, sleep=sleep)
    result = asyncio.run(with_retries(create, policy)())
    return result, slept, len(calls)


def test_retry_after_is_honoured_and_backoff_grows_with_jitter():
    result, slept, calls = _run_with_retries(
        [_error(429, {"retry-after": "2"}), _error(500), _error(503)]
    )
    assert result == "ok" and calls == 4
    assert slept[0] == 2.0  # what the server asked for
    assert 1.0 <= slept[1] <= 2.0 and 2.0 <= slept[2] <= 3.0  # 0.5 * 2**n, plus up to 1 s jitter


def test_retries_are_bounded_and_the_last_error_surfaces():
    with pytest.raises(openai.RateLimitError):
        _run_with_retries([_error(429)] * 10, attempts=3)


def test_a_client_error_is_not_retried():
    with pytest.raises(openai.BadRequestError):
        _run_with_retries([_error(400)])


def _ask(stub_url, max_reasks=2, policy=None, text="市政府收到行政复议申请169件,受理138件"):
    endpoint = resolve_endpoint("stub-model", stub_url)
    client = make_client(endpoint, policy)
    model = answer_model(default_catalog())

    def check(what, item):
        return None if item["quote"] in text else "[quote_not_in_source] not in the text"

    messages = [{"role": "user", "content": text}]
    return asyncio.run(
        ask(client, endpoint, model, messages, check=check, max_reasks=max_reasks,
            temperature=0.0, max_tokens=256)
    )  # fmt: skip


def test_a_429_with_retry_after_then_success_over_http():
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    script = [
        reply(429, {"error": {"message": "slow down"}}, {"retry-after": "1"}),
        answer([FIGURE]),
    ]
    with running_stub(script) as stub:
        outcome = _ask(stub.url, policy=RetryPolicy(sleep=sleep))
    assert slept == [1.0] and len(stub.requests) == 2
    assert outcome.reply.figures[0].raw == "138"
    assert outcome.log.calls == 1 and outcome.log.reasks == 0  # a retry is not a re-ask


def test_a_verifier_error_becomes_a_reask_carrying_its_message():
    wrong = {**FIGURE, "quote": "受理了138件"}  # paraphrased
    with running_stub([answer([wrong]), answer([FIGURE])]) as stub:
        outcome = _ask(stub.url)
    assert outcome.reply is not None and outcome.log.calls == 2 and outcome.log.reasks == 1
    reask = stub.requests[1]["body"]["messages"][-1]["content"]
    assert "quote_not_in_source" in reask and "figures.0" in reask
    assert outcome.log.prompt_tokens == 200 and outcome.log.completion_tokens == 40  # summed


def test_report_text_that_looks_like_a_template_reaches_the_model_unchanged():
    # web residue: a page template's {{ }} and {% %}; instructor would render them as Jinja
    # if it were given a context (it is not: the check travels in a context variable)
    text = "  {{ page.title }} {% if menu %}首页\n市政府受理138件，办结{# 注 #}120件\n"
    with running_stub([answer([FIGURE])]) as stub:
        outcome = _ask(stub.url, text=text)
    assert outcome.reply is not None and outcome.log.calls == 1
    assert stub.requests[0]["body"]["messages"][-1]["content"] == text


def test_when_reasks_run_out_the_last_answer_is_kept_for_salvage():
    wrong = {**FIGURE, "quote": "受理了138件"}
    with running_stub([answer([wrong, FIGURE])] * 3) as stub:
        outcome = _ask(stub.url, max_reasks=2)
    assert outcome.reply is None and outcome.log.calls == 3 and len(stub.requests) == 3
    assert "3 attempt" in outcome.problem
    assert len(parse_reply_json(outcome.log.last_text)["figures"]) == 2


def test_a_request_that_fails_for_good_raises_the_transport_error():
    async def sleep(seconds):
        pass

    with (
        running_stub([reply(503, {"error": {"message": "down"}})] * 5) as stub,
        pytest.raises(openai.InternalServerError),
    ):
        _ask(stub.url, policy=RetryPolicy(attempts=3, sleep=sleep))
    assert len(stub.requests) == 3


def test_reply_text_and_partial_json():
    class Message:
        tool_calls = None
        content = '```json\n{"figures": []}\n```'

    assert reply_text(Message()) == '{"figures": []}\n'
    cut = (
        '{"figures": [{"quote": "受理138件", "raw": "138", "indicator": "x", "scope": null}, '
        '{"quote": "审结'
    )
    assert parse_reply_json(cut)["figures"][0]["raw"] == "138"
    assert parse_reply_json("I cannot help with that") is None
