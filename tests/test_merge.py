"""merge: chunk answers -> one draft; repeats collapse, disagreements stay visible."""

from __future__ import annotations

import itertools

from fazhi.merge import merge
from fazhi.model import ChunkAnswer, Draft, FigureProposal, Meta, Rejection, TextProposal, Usage
from fazhi.text import char_overlap

# Real statements from evals/corpus/kunshan-2021.txt.
RECEIVED = FigureProposal(
    indicator="reconsideration.received",
    value=169,
    raw="169",
    quote="市政府收到行政复议申请169件",
    scope="市政府",
)
ACCEPTED_SHORT = FigureProposal(
    indicator="reconsideration.accepted", value=138, raw="138", quote="受理138件", scope=None
)
ACCEPTED_LONG = FigureProposal(
    indicator="reconsideration.accepted",
    value=138,
    raw="138",
    quote="市政府收到行政复议申请169件,受理138件",
    scope="市政府",
)
RATE = FigureProposal(
    indicator="reconsideration.mediation_rate", value=40.8, raw="40.8%", quote="占比40.8%"
)
SHORTCOMING = "基层治理体系和治理能力法治化水平有待提高"


def _answer(chunk: int, **fields) -> ChunkAnswer:
    return ChunkAnswer(chunk=chunk, **fields)


def test_exact_duplicates_from_overlapping_chunks_collapse_to_one():
    draft = merge([_answer(0, figures=[RECEIVED, RATE]), _answer(1, figures=[RECEIVED])])
    assert [f.indicator for f in draft.figures] == [RECEIVED.indicator, RATE.indicator]
    assert draft.figures[0].chunk == 0  # the first chunk that proposed it
    assert draft.conflicts == []


def test_figures_are_concatenated_in_chunk_order_and_tagged_with_their_chunk():
    draft = merge([_answer(2, figures=[RATE]), _answer(0, figures=[RECEIVED])])
    assert [(f.indicator, f.chunk) for f in draft.figures] == [
        (RECEIVED.indicator, 0),
        (RATE.indicator, 2),
    ]


def test_same_indicator_and_scope_with_different_values_keeps_both_and_records_a_conflict():
    other = RECEIVED.model_copy(
        update={"value": 196, "raw": "196", "quote": "收到行政复议申请196件"}
    )
    draft = merge([_answer(0, figures=[RECEIVED]), _answer(1, figures=[other])])
    assert [f.value for f in draft.figures] == [169, 196]
    assert len(draft.conflicts) == 1
    conflict = draft.conflicts[0]
    assert (conflict.indicator, conflict.scope, conflict.values) == (
        "reconsideration.received",
        "市政府",
        [169, 196],
    )


def test_same_indicator_for_two_scopes_is_not_a_conflict():
    county = RECEIVED.model_copy(update={"value": 22, "raw": "22", "scope": "区镇"})
    assert merge([_answer(0, figures=[RECEIVED, county])]).conflicts == []


def test_a_quote_contained_in_another_collapses_to_the_longer_quote():
    for first, second in ((ACCEPTED_SHORT, ACCEPTED_LONG), (ACCEPTED_LONG, ACCEPTED_SHORT)):
        draft = merge([_answer(0, figures=[first]), _answer(1, figures=[second])])
        assert [f.quote for f in draft.figures] == [ACCEPTED_LONG.quote]


def test_contained_quote_with_a_different_value_is_not_collapsed():
    wrong = ACCEPTED_SHORT.model_copy(update={"value": 169, "raw": "169"})
    draft = merge([_answer(0, figures=[ACCEPTED_LONG, wrong])])
    assert len(draft.figures) == 2


def test_longer_quote_without_scope_inherits_the_shorter_ones_scope():
    long_no_scope = ACCEPTED_LONG.model_copy(update={"scope": None})
    short_scoped = ACCEPTED_SHORT.model_copy(update={"scope": "市政府"})
    draft = merge([_answer(0, figures=[short_scoped, long_no_scope])])
    assert [(f.quote, f.scope) for f in draft.figures] == [(ACCEPTED_LONG.quote, "市政府")]


def test_text_items_contained_or_mostly_overlapping_collapse_to_the_longer():
    longer = (
        "少数领导干部运用法治思维和法治方式深化改革、推动发展、化解矛盾、维护稳定的能力有待提升"
    )
    cut = longer[:20]
    near = longer.replace("少数", "部分")  # same passage, two characters differ
    assert char_overlap(longer, near) >= 0.8
    draft = merge(
        [
            _answer(0, shortcomings=[TextProposal(quote=cut), TextProposal(quote=SHORTCOMING)]),
            _answer(1, shortcomings=[TextProposal(quote=longer), TextProposal(quote=near)]),
        ]
    )
    assert [t.quote for t in draft.shortcomings] == [longer, SHORTCOMING]
    assert draft.shortcomings[0].chunk == 1


def test_distinct_plans_are_all_kept():
    plans = ["深入学习贯彻习近平法治思想", "支持基层立法联系点建设", "推进行政复议体制改革"]
    draft = merge([_answer(0, plans=[TextProposal(quote=p) for p in plans])])
    assert [t.quote for t in draft.plans] == plans


def test_meta_first_chunk_wins_and_a_later_different_value_is_visible():
    first = Meta(region="昆山市", issuer="昆山市人民政府", year=2021)
    later = Meta(region="昆山市", year=2020, published="2022-03-15")
    draft = merge([_answer(3, meta=later), _answer(0, meta=first)])
    assert draft.meta == Meta(
        region="昆山市", issuer="昆山市人民政府", year=2021, published="2022-03-15"
    )
    assert len(draft.rejected) == 1
    rejection = draft.rejected[0]
    assert (rejection.what, rejection.code, rejection.item, rejection.chunk) == (
        "meta",
        "bad_meta",
        {"year": 2020},
        3,
    )
    assert rejection.reason.startswith("conflicting meta: year")


def test_rejections_usage_and_chunk_errors_are_carried_over():
    gave_up = Rejection(what="figure", code="model_gave_up", reason="no answer after 2 re-asks")
    first_usage = Usage(prompt_tokens=100, completion_tokens=20, calls=1)
    answers = [
        _answer(0, rejected=[gave_up], usage=first_usage),
        _answer(
            1, error="timeout after 3 attempts", usage=Usage(prompt_tokens=90, calls=3, reasks=2)
        ),
    ]
    draft = merge(answers, source="kunshan-2021.txt", chunks=5)
    assert draft.rejected == [gave_up]
    assert draft.usage == Usage(prompt_tokens=190, completion_tokens=20, calls=4, reasks=2)
    assert draft.chunk_errors == ["chunk 1: timeout after 3 attempts"]
    assert (draft.source, draft.chunks) == ("kunshan-2021.txt", 5)
    assert isinstance(draft, Draft) and "verified" not in Draft.model_fields  # not vouched for
    assert merge(answers).chunks == 2


def test_input_order_does_not_change_the_output():
    answers = [
        _answer(
            0,
            figures=[ACCEPTED_SHORT, RATE],
            meta=Meta(region="昆山市"),
            shortcomings=[TextProposal(quote=SHORTCOMING)],
        ),
        _answer(1, figures=[ACCEPTED_LONG, RECEIVED], meta=Meta(region="昆山", year=2021)),
        _answer(
            2, figures=[RECEIVED.model_copy(update={"value": 196, "raw": "196"})], error="bad JSON"
        ),
    ]
    outputs = {merge(list(p)).model_dump_json() for p in itertools.permutations(answers)}
    assert len(outputs) == 1
