"""A qualifier printed before a number stays out of ``raw`` everywhere the number finder is used.

evals/gold/README.md: "a qualifier printed before it (约600, 近100, 超过500, 逾, 不少于) stays
out of raw; a marker after it (50余) stays in"; either way ``approx`` is true. The sentences here
are written for these tests.
"""

from __future__ import annotations

from fazhi.backends.label_answers import problems, proposals
from fazhi.backends.label_view import Layout, render
from fazhi.backends.llm import chunk_check
from fazhi.catalog import default_catalog
from fazhi.index import SourceIndex
from fazhi.model import Chunk, Figure, FigureProposal
from fazhi.verify import check_figure

CATALOG = default_catalog()
TEXT = "全年开展普法宣传活动近120场次，法律援助案件逾300件，行政复议约60件，调解纠纷50余件。"


def figure(raw: str, quote: str, indicator: str = "publicity.events") -> FigureProposal:
    return FigureProposal(indicator=indicator, value=120, raw=raw, quote=quote, approx=False)


def test_the_verifier_accepts_the_number_without_its_qualifier_and_marks_it_approximate():
    checked = check_figure(figure("120", "活动近120场次"), TEXT, CATALOG)
    assert isinstance(checked, Figure), checked
    assert checked.raw == "120" and checked.approx is True
    assert TEXT[checked.raw_span[0] : checked.raw_span[1]] == "120"


def test_a_raw_written_with_its_qualifier_is_read_as_the_number_alone():
    checked = check_figure(figure("近120", "活动近120场次"), TEXT, CATALOG)
    assert isinstance(checked, Figure), checked
    assert checked.raw == "120" and checked.approx is True


def test_the_quote_style_reask_no_longer_calls_the_number_not_whole():
    # the wrong message: "raw '120' is not a whole number in quote '…近120人次'"
    chunk = Chunk(index=0, text=TEXT, start=0, end=len(TEXT))
    check = chunk_check(chunk, CATALOG)
    item = {"indicator": "publicity.events", "raw": "120", "quote": "开展普法宣传活动近120场次"}
    assert check("figure", item) is None


def test_label_answers_build_raw_without_the_qualifier_and_verify():
    index = SourceIndex(TEXT)
    view = render(index, Layout.of(index), 0, len(TEXT), "full")
    by_raw = {c.number.raw: cid for cid, c in view.candidates.items()}
    assert set(by_raw) == {"120", "300", "60", "50余"}
    answer = {
        "figures": {
            by_raw["120"]: ["publicity.events", None],
            by_raw["300"]: ["disputes.legal_aid_cases", None],
            by_raw["50余"]: ["disputes.mediation_cases", None],
        }
    }
    assert problems(answer, view, CATALOG, TEXT) == []
    built = proposals(answer, view, 0, TEXT).figures
    assert [(f.raw, f.value, f.approx) for f in built] == [
        ("120", 120, True),
        ("300", 300, True),
        ("50余", 50, True),
    ]
    for proposed in built:
        assert isinstance(check_figure(proposed, TEXT, CATALOG), Figure)


def test_a_quote_style_answer_with_the_number_alone_needs_no_reask(tmp_path):
    from fazhi.backends.llm import LLMBackend
    from fazhi.chunking import chunk_source
    from fazhi.model import Source
    from tests.llm_stub import answer, running_stub

    source = Source(text="二、主要成效\n全年开展普法宣传活动近120人次。\n")
    figure = {
        "indicator": "publicity.events", "raw": "120", "quote": "开展普法宣传活动近120人次",
        "scope": None,
    }  # fmt: skip
    with running_stub([answer([figure]), answer([figure])]) as stub:
        backend = LLMBackend(model="stub", base_url=stub.url, use_cache=False, concurrency=1)
        [answered] = backend.answer(chunk_source(source, size=1_000), source)
    assert len(stub.requests) == 1  # taken at once: no re-ask about the qualifier
    [kept] = answered.figures
    assert (kept.raw, kept.value, kept.approx) == ("120", 120, True)
