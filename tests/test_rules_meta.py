"""Meta of the rules backend on pages without a title line, and on title and opening forms
the bundled reports do not show (issue 15), each on text written for this test."""

from __future__ import annotations

import pytest

from fazhi.backends.rules import RulesBackend
from fazhi.model import Source
from fazhi.pipeline import extract


def meta_of(text: str) -> dict:
    result = extract(Source(text=text), RulesBackend())
    return result.meta.model_dump()


# --- meta without a title line --------------------------------------------------------------

_NO_TITLE = """今天是2023年5月8日 星期一
首页 > 政务公开 > 法治政府建设 > 年度报告
发布机构：{poster} | 生成日期：2023-03-01
发布时间：2023年03月06日 09:30

2022年，{region}坚持以习近平法治思想为指导，统筹推进法治政府建设，现将有关情况报告如下。
一、行政复议
全年收到行政复议申请40件，受理36件。
"""


def test_locality_and_year_from_the_opening_sentence():
    meta = meta_of(_NO_TITLE.format(poster="某区司法局", region="柳湾区"))
    assert (meta["region"], meta["year"]) == ("柳湾区", 2022)


def test_the_opening_sentence_names_no_locality_when_it_names_a_body():
    text = _NO_TITLE.format(poster="某区司法局", region="区政府")
    assert meta_of(text)["region"] is None


def test_publication_date_from_its_label_never_the_page_clock():
    meta = meta_of(_NO_TITLE.format(poster="某区司法局", region="柳湾区"))
    assert meta["published"] == "2023-03-06"


@pytest.mark.parametrize(
    "line",
    ["【发布日期：2023-03-06】【字号：大 中 小】", "发布时间 | 2023/03/06", "发布于 2023.3.6"],
)
def test_publication_date_labels_in_their_forms(line):
    text = f"生成日期：2023-03-01\n{line}\n\n2022年，柳湾区坚持依法行政，各项工作取得新进展。\n"
    assert meta_of(text)["published"] == "2023-03-06"


def test_issuer_from_a_poster_line_only_when_it_is_the_government():
    department = _NO_TITLE.format(poster="柳湾区司法局", region="柳湾区")
    assert meta_of(department)["issuer"] is None
    government = _NO_TITLE.format(poster="柳湾区人民政府", region="柳湾区")
    assert meta_of(government)["issuer"] == "柳湾区人民政府"


def test_issuer_from_the_signature():
    text = "2022年，柳湾区坚持依法行政。\n收到复议申请40件。\n\n柳湾区人民政府\n2023年2月20日\n"
    meta = meta_of(text)
    assert (meta["issuer"], meta["published"]) == ("柳湾区人民政府", "2023-02-20")


def test_locality_from_the_issuing_government_when_nothing_else_names_it():
    body = (
        "今年以来，我区坚持以习近平法治思想为指导，统筹推进依法行政各项工作，"
        "法治政府建设取得新进展，人民群众的获得感不断增强。"
    )
    meta = meta_of(f"发布机构：栖梧市柳湾区人民政府\n\n{body}\n")
    assert (meta["region"], meta["issuer"]) == ("柳湾区", "栖梧市柳湾区人民政府")
    assert meta_of(f"发布机构：柳湾区司法局\n\n{body}\n")["region"] is None


def test_a_locality_names_itself_not_the_units_above_it():
    text = "栖梧市柳湾区2022年法治政府建设工作报告\n\n2022年，全区坚持依法行政。\n"
    assert meta_of(text)["region"] == "柳湾区"


_BODY = "\n\n一、行政复议\n全年收到行政复议申请40件，受理36件。\n"


@pytest.mark.parametrize(
    ("head", "region", "issuer"),
    [
        ("关于柳湾区2022年度法治政府建设工作情况的报告", "柳湾区", None),
        ("柳湾区人民政府关于2022年度法治政府建设工作情况的报告", "柳湾区", "柳湾区人民政府"),
        ("2022年柳湾区法治政府建设年度报告", "柳湾区", None),
        ("栖梧市柳湾区2022年度法治政府建设工作报告", "柳湾区", None),
        ("柳湾区关于2022年法治政府建设工作的报告", "柳湾区", None),
        ("柳湾区2022年度法治政府建设工作情况", "柳湾区", None),
        ("關於柳灣區2022年度法治政府建設工作情況的報告", "柳灣區", None),
        (
            "关于2022年度法治政府建设情况的报告\n\n2022年，柳湾区人民政府坚持依法行政。",
            "柳湾区",
            None,
        ),
        (
            "关于2022年度法治政府建设情况的报告\n\n2022年，在区委领导下，柳湾区推进法治建设。",
            "柳湾区",
            None,
        ),
        (
            "关于2022年度法治政府建设情况的报告\n\n2022年，区委区政府高度重视法治政府建设。",
            None,
            None,
        ),
    ],
)
def test_title_and_opening_forms(head, region, issuer):
    meta = meta_of(head + _BODY)
    assert (meta["region"], meta["issuer"], meta["year"]) == (region, issuer, 2022)
