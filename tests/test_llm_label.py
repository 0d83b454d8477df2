"""Label mode: the model answers ids, the code builds quotes from the index, verify decides.

Every answer here is written by hand in the test (a scripted loopback stub, not a model).
"""

from __future__ import annotations

import json
import re

from fazhi.backends.label_view import Layout, render
from fazhi.backends.llm_label import LabelBackend, context_budget
from fazhi.index import SourceIndex
from fazhi.llm.label_schema import SCHEMA_FILE, label_schema_json
from fazhi.model import GoldReport, Source
from fazhi.pipeline import extract
from fazhi.resources import data_file
from tests.llm_stub import completion, reply, running_stub

REPORT = (
    "昆山市2021年法治政府建设年度报告\n"
    "一、主要成效\n"
    "市政府收到行政复议申请169件，审结150件，其中维持61件。\n"
    "行政诉讼案件保持“零败诉”，行政机关负责人出庭应诉率达100%。\n"
    "全市开展普法活动50余场。\n"
    "二、存在的不足和下一步打算\n"
    "执法队伍专业化水平有待提高。基层法治力量仍然薄弱。\n"
    "2022年将继续深化行政复议体制改革。\n"
    "昆山市人民政府\n2022年3月15日\n"
)


def source() -> Source:
    return Source(text=REPORT, path="kunshan-test.txt")


def request_text(body: dict) -> str:
    return body["messages"][1]["content"]


def candidate_after(body: dict, raw: str) -> str:
    """The id the request marked right after ``raw`` (what a model would read off the text)."""
    match = re.search(re.escape(raw) + r"\[(n\d+)\]", request_text(body))
    assert match, f"{raw} not marked in the request"
    return match.group(1)


def sentence_of(body: dict, words: str) -> str:
    match = re.search(r"\[(s\d+)\][^[]*?" + re.escape(words), request_text(body))
    assert match, f"no marked sentence with {words}"
    return match.group(1)


def label_reply(content: dict, finish_reason: str = "stop") -> tuple:
    return reply(200, completion(json.dumps(content, ensure_ascii=False), finish_reason))


def good_answer(body: dict) -> dict:
    return {
        "figures": {
            candidate_after(body, "169"): ["reconsideration.received", "市政府"],
            candidate_after(body, "零"): ["litigation.lost", None],
            candidate_after(body, "50余"): ["publicity.events", None],
        },
        "shortcomings": [f"{sentence_of(body, '执法队伍')}-{sentence_of(body, '基层法治')}"],
        "plans": [sentence_of(body, "2022年将继续")],
        "meta": {"region": "昆山市", "issuer": "昆山市人民政府", "year": 2021,
                 "published": "2022-03-15"},
    }  # fmt: skip


def backend(url: str, tmp_path, **options) -> LabelBackend:
    return LabelBackend(model="stub", base_url=url, cache_dir=tmp_path / "cache", **options)


def test_request_marks_candidates_and_tail_sentences_only():
    index = SourceIndex(REPORT)
    view = render(index, Layout.of(index), 0, len(REPORT), "full")
    assert "169[" in view.text and "“零[" in view.text and "50余[" in view.text
    assert "2021[" not in view.text and "15[" not in view.text  # a year, a date: no candidates
    assert "[s" not in view.text.split("二、")[0]  # sentences are marked in the tail section only
    assert {index.text[s:e].strip() for s, e in view.sentences.values()} >= {
        "执法队伍专业化水平有待提高。"
    }


def test_compact_view_leaves_out_sentences_without_candidates():
    text = REPORT.replace("全市开展", "各部门认真学习。全市开展")
    index = SourceIndex(text)
    full = render(index, Layout.of(index), 0, len(text), "full")
    compact = render(index, Layout.of(index), 0, len(text), "compact")
    assert "各部门认真学习" in full.text and "各部门认真学习" not in compact.text
    assert compact.candidates.keys() == full.candidates.keys()
    assert "…" in compact.text


def test_labels_become_verified_figures_quoted_from_the_index(tmp_path):
    with running_stub([]) as stub:
        stub.responder = lambda body: label_reply(good_answer(body))
        result = extract(source(), backend(stub.url, tmp_path))
    assert len(stub.requests) == 1  # the whole report in one request
    got = {(f.indicator, f.value, f.raw, f.quote, f.approx) for f in result.figures}
    assert got == {
        ("reconsideration.received", 169, "169", "市政府收到行政复议申请169件", False),
        ("litigation.lost", 0, "零", "行政诉讼案件保持“零败诉”", False),
        ("publicity.events", 50, "50余", "全市开展普法活动50余场", True),
    }
    assert all(REPORT[f.span[0] : f.span[1]] == f.quote for f in result.figures)
    assert [s.quote for s in result.shortcomings] == [
        "执法队伍专业化水平有待提高。基层法治力量仍然薄弱。"
    ]
    assert [p.quote for p in result.plans] == ["2022年将继续深化行政复议体制改革。"]
    assert result.meta.model_dump() == good_answer(stub.requests[0]["body"])["meta"]
    assert result.rejected == [] and result.chunk_errors == []


def test_reasks_name_each_problem_in_chinese_one_line_each(tmp_path):
    def answer(body: dict) -> tuple:
        if len(body["messages"]) > 2:
            return label_reply(good_answer(body))
        bad = good_answer(body)
        n169 = candidate_after(body, "169")
        bad["figures"] = {
            "n999": ["reconsideration.received", None],
            n169: ["reconsideration.unknown", None],
            candidate_after(body, "100%"): ["reconsideration.received"],
        }
        bad["plans"] = ["s999"]
        bad["meta"] = {"region": "苏州市"}
        return label_reply(bad)

    with running_stub([]) as stub:
        stub.responder = answer
        result = extract(source(), backend(stub.url, tmp_path))
    first, second = (r["body"] for r in stub.requests)
    n169, n100 = candidate_after(first, "169"), candidate_after(first, "100%")
    assert second["messages"][-1]["content"] == (
        "上一个答案有以下问题，请改正后重新输出完整的 JSON：\n"
        "- 候选 n999 不在本段：只用本段原文里标出的 [n…] 编号\n"
        f"- 指标 id “reconsideration.unknown” 不在指标表中（候选 {n169}）：从指标表选一个 id\n"
        f"- 候选 {n100}（“100%”）不能标为 reconsideration.received："
        "该指标要件数或金额，不是百分数\n"
        "- plans（工作打算）的 “s999” 不是本段标出的句子编号：写 s12 或 s12-s14\n"
        "- meta.region（地区）“苏州市” 原文中没有：照原文写或写 null"
    )
    assert second["messages"][-2]["role"] == "assistant"
    assert second["messages"][0] == first["messages"][0]  # the fixed prefix, byte for byte
    assert len(result.figures) == 3 and result.usage.reasks == 1 and result.usage.calls == 2


def test_what_is_still_wrong_after_the_reasks_is_rejected_by_verify(tmp_path):
    def answer(body: dict) -> tuple:
        return label_reply(
            {"figures": {candidate_after(body, "169"): ["no.such", None],
                         "n999": ["reconsideration.received", None]}}
        )  # fmt: skip

    with running_stub([]) as stub:
        stub.responder = answer
        result = extract(source(), backend(stub.url, tmp_path, max_reasks=1))
    assert len(stub.requests) == 2 and result.figures == []
    assert sorted(r.code for r in result.rejected) == ["number_not_in_source", "unknown_indicator"]


def test_a_cut_off_answer_splits_its_request_and_loses_nothing(tmp_path):
    # The "model" can answer at most one candidate per request: more and it is cut off.
    def answer(body: dict) -> tuple:
        full = good_answer_safe(body)
        if len(set(re.findall(r"\[n\d+\]", request_text(body)))) > 1:
            first = dict(list(full["figures"].items())[:1])
            return label_reply({"figures": first}, finish_reason="length")
        return label_reply(full)

    with running_stub([]) as stub:
        stub.responder = answer
        result = extract(source(), backend(stub.url, tmp_path))
    assert {f.value for f in result.figures} == {169, 0, 50}
    assert result.chunk_errors == [] and len(stub.requests) > 3


def good_answer_safe(body: dict) -> dict:
    """``good_answer`` for whatever part of the report a request shows."""
    text = request_text(body)
    figures = {
        m.group(2): [ind, None]
        for raw, ind in (("169", "reconsideration.received"), ("零", "litigation.lost"),
                         ("50余", "publicity.events"))
        for m in re.finditer("(" + re.escape(raw) + r")\[(n\d+)\]", text)
    }  # fmt: skip
    return {"figures": figures}


def test_a_dense_sentence_beyond_every_cap_is_recorded_not_dropped(tmp_path):
    dense = "各镇分别受理" + "、".join(f"{k}件" for k in range(10, 90)) + "。\n"
    text = REPORT.replace("全市开展", dense + "全市开展")

    def answer(body: dict) -> tuple:
        if "各镇分别受理" in request_text(body):
            return label_reply({"figures": {}}, finish_reason="length")  # always too long
        return label_reply(good_answer_safe(body))

    with running_stub([]) as stub:
        stub.responder = answer
        result = extract(Source(text=text), backend(stub.url, tmp_path))
    assert {f.value for f in result.figures} == {169, 0, 50}  # the rest of the chunk kept
    lost = [r for r in result.rejected if r.code == "model_gave_up"]
    assert sorted(int(r.item["raw"]) for r in lost) == list(range(10, 90))  # each one, named
    assert all("cut off at max_tokens" in r.reason for r in lost)
    assert result.chunk_errors and "labels lost" in result.chunk_errors[0]


def test_a_second_run_is_answered_from_the_cache(tmp_path):
    with running_stub([]) as stub:
        stub.responder = lambda body: label_reply(good_answer(body))
        first = extract(source(), backend(stub.url, tmp_path))
        second = extract(source(), backend(stub.url, tmp_path))
    assert len(stub.requests) == 1 and second.usage.cached == 1 and second.usage.calls == 0
    assert [f.model_dump() for f in second.figures] == [f.model_dump() for f in first.figures]


def test_schema_file_is_the_generated_schema_and_has_no_caps_or_enum():
    assert data_file("schemas", SCHEMA_FILE).read_text(encoding="utf-8") == label_schema_json()
    schema = label_schema_json()
    assert "maxItems" not in schema and "enum" not in schema and "maxLength" not in schema


def test_context_budget_picks_one_request_per_report_for_hosted_models():
    assert context_budget("gpt-4o-mini", local=False) == 128_000
    assert context_budget("qwen2.5-coder-1.5b", local=True) == 8_192
    assert context_budget("anything", local=True, given=32_000) == 32_000
    hosted = LabelBackend(model="stub", base_url="http://127.0.0.1:9/v1", context_tokens=128_000)
    assert hosted.preferred_chunk_size > 50_000


def test_dates_times_and_codes_are_not_candidates():
    text = "索引号kss622/2022-00020，时间：2022-03-15 13:41，第9次会议，〔2022〕7号，受理12件。"
    index = SourceIndex(text)
    view = render(index, Layout.of(index), 0, len(text), "full")
    assert [c.number.raw for c in view.candidates.values()] == ["12"]


def test_split_budget_exhausted_is_recorded_as_lost(tmp_path):
    with running_stub([]) as stub:
        stub.responder = lambda body: label_reply({"figures": {}}, finish_reason="length")
        result = extract(source(), backend(stub.url, tmp_path, max_splits=1))
    assert len(stub.requests) == 3  # the report, then its two halves, each cut off again
    lost = {r.item["raw"] for r in result.rejected if r.code == "model_gave_up"}
    assert lost == {"169", "150", "61", "零", "100%", "50余"} and result.chunk_errors


def test_dry_run_estimate_counts_the_rendered_requests_and_calls_nothing():
    from fazhi.chunking import chunk_source
    from fazhi.text import estimate_tokens

    label = LabelBackend(model="m", base_url="http://127.0.0.1:9/v1", use_cache=False)
    chunks = chunk_source(source(), label.preferred_chunk_size)
    prompt, completion = label.estimate_tokens(chunks)
    requests = label.requests(chunks, source())
    assert len(requests) == 1
    assert prompt == sum(estimate_tokens(m["content"]) for m in requests[0])
    assert completion == 12 * 6  # six candidates shown, as if each were labelled


def test_an_unreachable_endpoint_is_a_chunk_error_not_a_lost_report(tmp_path):
    from fazhi.llm.client import RetryPolicy

    quick = RetryPolicy(attempts=1)
    result = extract(source(), backend("http://127.0.0.1:9/v1", tmp_path, retry=quick))
    assert result.figures == [] and len(result.chunk_errors) == 1
    assert "127.0.0.1:9" in result.chunk_errors[0]


def test_every_gold_figure_is_a_marked_candidate_of_the_default_view():
    from fazhi.numbers import values_equal
    from fazhi.verify import occurrences
    from tests.conftest import ROOT

    sets = [("evals/corpus", "evals/gold"), ("evals/dev/corpus", "evals/dev/gold")] + [
        (f"evals/{name}/corpus", f"evals/{name}/gold")
        for name in ("heldout", "heldout-after", "heldout-final")
    ]
    checked = 0
    for corpus, gold_dir in sets:
        for path in sorted((ROOT / corpus).glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            index = SourceIndex(text)
            view = render(index, Layout.of(index), 0, len(text), "compact")
            gold = GoldReport.model_validate_json(
                (ROOT / gold_dir / f"{path.stem}.json").read_bytes()
            )
            for figure in gold.figures:
                spans = occurrences(figure.quote, text)
                assert any(
                    start <= c.number.start < end and values_equal(c.number.value, figure.value)
                    for c in view.candidates.values()
                    for start, end in spans
                ), f"{path.stem}: {figure.raw} in {figure.quote} is not marked"
                checked += 1
    assert checked > 400


def test_the_fixed_prefix_comes_first_and_cached_prompt_tokens_are_counted(tmp_path):
    from fazhi.chunking import chunk_source

    def cached_reply(body: dict) -> tuple:
        body_out = completion(json.dumps(good_answer(body), ensure_ascii=False))
        body_out["usage"]["prompt_tokens_details"] = {"cached_tokens": 1_152}
        return reply(200, body_out)

    other = Source(text=REPORT.replace("审结150件", "审结151件"), path="other.txt")
    with running_stub([]) as stub:
        stub.responder = cached_reply
        label = backend(stub.url, tmp_path, use_cache=False)
        stats = []
        for report in (source(), other):
            _, found = label.answer_with_stats(chunk_source(report, 100_000), report)
            stats += found
    first, second = (r["body"]["messages"] for r in stub.requests)
    assert first[0]["role"] == "system" and first[0] == second[0]  # byte-identical prefix
    assert first[1] != second[1]
    assert [s.cached_prompt_tokens for s in stats] == [1_152, 1_152]
