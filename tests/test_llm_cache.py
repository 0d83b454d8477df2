"""Cache keys cover everything an answer depends on, and nothing secret."""

import pytest

from fazhi.llm.cache import AnswerCache, cache_dir, cache_key

BASE = {
    "model": "qwen2.5-coder-1.5b-instruct-q4_k_m",
    "base_url": "http://127.0.0.1:18765/v1",
    "mode": "JSON_SCHEMA",
    "prompt_version": "abc123",
    "text": "市政府收到行政复议申请169件",
    "params": {"temperature": 0.0, "max_tokens": 1024, "max_reasks": 2},
}


@pytest.mark.parametrize(
    "change",
    [
        {"model": "smollm2-135m-instruct-q4_1"},
        {"base_url": "http://127.0.0.1:9999/v1"},
        {"mode": "JSON"},
        {"prompt_version": "abc124"},
        {"text": "市政府收到行政复议申请196件"},
        {"params": {**BASE["params"], "temperature": 0.2}},
        {"params": {**BASE["params"], "max_tokens": 512}},
        {"params": {**BASE["params"], "max_reasks": 0}},
    ],
)
def test_every_input_of_an_answer_changes_the_key(change):
    assert cache_key(**{**BASE, **change}) != cache_key(**BASE)


def test_the_key_is_stable_and_ignores_a_trailing_slash():
    assert cache_key(**BASE) == cache_key(**{**BASE, "base_url": BASE["base_url"] + "/"})
    assert len(cache_key(**BASE)) == 64


def test_cache_dir_parameter_then_environment_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("FAZHI_CACHE_DIR", str(tmp_path / "env"))
    assert cache_dir(tmp_path / "param") == tmp_path / "param"
    assert cache_dir() == tmp_path / "env"
    monkeypatch.delenv("FAZHI_CACHE_DIR")
    assert cache_dir().parts[-2:] == (".cache", "fazhi")


def test_values_survive_a_new_cache_object(tmp_path):
    first = AnswerCache(tmp_path)
    first.put("k", '{"chunk": 0}')
    first.close()
    second = AnswerCache(tmp_path)
    assert second.get("k") == '{"chunk": 0}' and second.get("other") is None and len(second) == 1


def test_clear_removes_every_answer_and_says_how_many(tmp_path):
    with AnswerCache(tmp_path) as cache:
        cache.put("k1", "{}")
        cache.put("k2", "{}")
        assert cache.clear() == 2
        assert len(cache) == 0 and cache.get("k1") is None
        assert cache.clear() == 0
    with AnswerCache(tmp_path) as reopened:  # cleared on disk, not only in this object
        assert len(reopened) == 0
