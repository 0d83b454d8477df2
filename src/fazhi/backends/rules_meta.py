"""Meta of a report (region, issuer, year, published) from its title, header and signature.

Where the fields come from, in order:

- **title** -- the first line naming the report kind (``rules.yaml`` ``meta.title``): the year
  (``2021年``) and the region written next to it (``昆山市2021年…``, ``2023年青浦区…``); a
  government written in the title (``启东市人民政府2024年度…``) is also the issuer.
- **issuer** -- the body that issues the report: a government named in the title or in a
  header field (``发布机构 | 宿城區人民政府``, ``来源: 启东市人民政府``, or a header line that
  is only a government's name), else the body signing the report at its end (a name line
  followed by a date line). A header ``来源`` naming a department (``来源:太原市司法局``) says
  which site republished the report, not who issued it: no issuer then (``None``), the same
  as for a report that names none (``青浦区``).
- **published** -- the first full date in the page header (the publication date), else the
  signature date; a date before the covered year is never the publication date.

Values are slices of the source as printed (``宿城區``, not the simplified ``宿城区``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from fazhi.backends.rules_text import body_start
from fazhi.numbers import chinese_int

_CJK = "\u4e00-\u9fff"
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年度?")
_DATE_PATTERNS = (
    re.compile(r"(?<!\d)((?:19|20)\d{2})\s*([-./])\s*(\d{1,2})\s*\2\s*(\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
    re.compile(
        r"([〇零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日"
    ),
)
_ORGAN = re.compile(
    rf"^[ \t\u3000]*([{_CJK}]{{2,30}}?(?:人民政府|政府|局|委员会|办公室|厅|委))[ \t\u3000]*$",
    re.M,  # matched from a line's start: ^ must hold there, not only at the text's start
)
# Page lines that label the publication date, in their many forms: 发布时间：, 【发布日期：,
# 发布时间 | , 发布于 ...; a page clock (今天是…, 当前时间) is never the publication date.
_PUBLISHED_LABEL = re.compile(r"(?:发布|公开)(?:时间|日期)|发布于")
_CLOCK = re.compile(r"今天是|今日是|当前时间|现在是|北京时间")
# "2021年，昆山市坚持…", "2023年以来，望江县…": a report without a title line names its
# locality and year in its opening sentence.
_OPENING = re.compile(
    r"^[ \t\u3000]*((?:19|20)\d{2})\s*年度?(?:以来|来)?\s*[，,]\s*"
    r"(?:在[^，,。\n]{1,20}[，,]\s*)?",
    re.M,
)
_OPENING_REACH = 3000  # the opening sentence is near the top of the page
_BREADCRUMB = re.compile(r"[>＞»›]|\s/\s")
_SIGNATURE_LINES = 12  # a signature sits in the last lines of the text


@dataclass(frozen=True)
class MetaRules:
    title: re.Pattern[str]
    region_suffix: str
    issuer_fields: tuple[str, ...]
    issuer_body: str


@dataclass(frozen=True)
class Stated:
    """One meta field's value and the offset where the report states it."""

    field: str
    value: str | int
    offset: int


def find_meta(text: str, norm: str, rules: MetaRules) -> list[Stated]:
    """Every meta field the report states, each once, with where it says so."""
    header_end = body_start(norm)
    title = _title(norm, rules)
    found = _from_title(text, norm, rules, title) if title else []
    opening = _OPENING.search(norm, 0, min(len(norm), header_end + _OPENING_REACH))
    if opening and not any(s.field == "year" for s in found):
        found.append(Stated("year", int(opening.group(1)), opening.start(1)))
    if opening and not any(s.field == "region" for s in found):
        found += _opening_region(text, norm, rules, opening.end())
    year = next((int(s.value) for s in found if s.field == "year"), None)
    # the page header ends where the running text begins, at the latest with the opening
    header_end = max(header_end, opening.start()) if opening else header_end
    if not any(s.field == "issuer" for s in found):
        issuer = _header_issuer(text, norm, rules, header_end) or _signature_issuer(text, norm)
        found += [issuer] if issuer else []
    if not any(s.field == "region" for s in found):
        found += _issuer_region(text, norm, rules, found)
    published = (
        _labelled_date(norm, header_end, year)
        or _header_date(norm, header_end, year)
        or _signature_date(norm, year)
    )
    found += [published] if published else []
    return found


def _title(norm: str, rules: MetaRules) -> re.Match[str] | None:
    """The first title line; a breadcrumb (``首页 > … > 法治政府建设年度报告``) is none."""
    for match in rules.title.finditer(norm):
        line_start = norm.rfind("\n", 0, match.start()) + 1
        line_end = norm.find("\n", match.end())
        if not _BREADCRUMB.search(norm, line_start, len(norm) if line_end < 0 else line_end):
            return match
    return None


def _opening_region(text: str, norm: str, rules: MetaRules, start: int) -> list[Stated]:
    """``2022年，澄溪区坚持…`` (or ``澄溪区人民政府坚持…``): the locality the opening sentence
    starts with (not 我区, 全县, nor a body such as 县政府 or 区委区政府)."""
    name = re.compile(rf"(?![我全本该各])([{_CJK}]{{1,8}}?{rules.region_suffix})(?!委|党|级|直|属)")
    match = name.match(norm, start)
    if not match or len(match.group(1)) < 2 or re.search("委|政府|党", match.group(1)):
        return []
    s, e = _own_unit(norm, match.start(1), match.end(1), rules)
    return [Stated("region", text[s:e], s)]


def _issuer_region(text: str, norm: str, rules: MetaRules, found: list[Stated]) -> list[Stated]:
    """No title and no opening names the locality: the issuing government's does
    (``发布机构：柳湾区人民政府`` or the signature -> ``柳湾区``)."""
    issuer = next((s for s in found if s.field == "issuer"), None)
    if issuer is None:
        return []
    end = issuer.offset + len(str(issuer.value))
    name = re.compile(rf"[{_CJK}]+?{rules.region_suffix}(?=(?:人民)?政府$)")
    match = name.match(norm[:end], issuer.offset)
    if not match:
        return []
    s, e = _own_unit(norm, match.start(), match.end(), rules)
    return [Stated("region", text[s:e], s)]


def _own_unit(norm: str, start: int, end: int, rules: MetaRules) -> tuple[int, int]:
    """``北宸市岚峰区`` -> ``岚峰区``: a locality names itself, not the units above it."""
    inner = re.fullmatch(
        rf"[{_CJK}]+?(?:省|自治区|市|自治州|州|盟)([{_CJK}]{{2,8}}?(?:区|县|市|旗|自治县))",
        norm[start:end],
    )
    return (start + inner.start(1), end) if inner else (start, end)


def _labelled_date(norm: str, header_end: int, year: int | None) -> Stated | None:
    """The date a ``发布时间`` / ``发布日期`` label of the page gives (``【发布日期：2025-02-11】``,
    ``发布时间 | 2024/01/30``)."""
    for label in _PUBLISHED_LABEL.finditer(norm, 0, header_end):
        found = _first_date(norm, label.end(), min(label.end() + 24, len(norm)), year)
        if found:
            return found
    return None


def _from_title(text: str, norm: str, rules: MetaRules, title: re.Match[str]) -> list[Stated]:
    """Year, region and (when the title names a government) issuer from the title line."""
    start = norm.rfind("\n", 0, title.start()) + 1
    year = _YEAR.search(norm, start, title.start())
    found = [Stated("year", int(year.group(1)), year.start())] if year else []
    name_end = year.start() if year else title.start()
    before = re.search(rf"([{_CJK}]+)\s*$", norm[start:name_end])
    if before:
        found += _names(text, norm, rules, start + before.start(1), start + before.end(1))
    if year and not any(s.field == "region" for s in found):
        # "2023年青浦区法治政府建设情况报告": the region follows the year
        after = re.compile(
            rf"\s*([{_CJK}]+?{rules.region_suffix})(?={rules.issuer_body}|法治|依法)"
        )
        match = after.match(norm, year.end(), title.end())
        if match:
            found.append(Stated("region", text[match.start(1) : match.end(1)], match.start(1)))
    return found


def _names(text: str, norm: str, rules: MetaRules, start: int, end: int) -> list[Stated]:
    """The names before a title's year: ``昆山市`` is a region; ``启东市人民政府`` a region and
    an issuer; ``X县人民政府关于X县`` an issuer, then the region."""
    about = norm.find("关于", start, end)
    issuer_part = (start, about if about >= 0 else end)
    region_part = (about + 2, end) if about >= 0 and about + 2 < end else issuer_part
    found = []
    body = re.compile(rf"{rules.issuer_body}$")
    is_government = body.search(norm, *issuer_part)
    if is_government:
        found.append(Stated("issuer", text[slice(*issuer_part)], issuer_part[0]))
    region_end = region_part[1]
    ends_with_body = body.search(norm, *region_part)
    if ends_with_body:
        region_end = ends_with_body.start()
    if re.fullmatch(rf"[{_CJK}]+?{rules.region_suffix}", norm[region_part[0] : region_end]):
        s, e = _own_unit(norm, region_part[0], region_end, rules)
        found.insert(0, Stated("region", text[s:e], s))
    return found


def _header_issuer(text: str, norm: str, rules: MetaRules, header_end: int) -> Stated | None:
    fields = "|".join(map(re.escape, rules.issuer_fields))
    government = rf"[{_CJK}]{{2,30}}?{rules.issuer_body}"
    labelled = re.compile(rf"(?:{fields})\s*[:：|]?\s*\|?\s*({government})(?![{_CJK}])")
    alone = re.compile(rf"^[ \t\u3000]*({government})[ \t\u3000]*$", re.M)
    for pattern in (labelled, alone):
        match = pattern.search(norm, 0, header_end)
        if match:
            return Stated("issuer", text[match.start(1) : match.end(1)], match.start(1))
    return None


def _tail_lines(norm: str) -> list[tuple[int, int]]:
    """(start, end) of the last non-blank lines."""
    lines, offset = [], 0
    for line in norm.splitlines(keepends=True):
        if line.strip():
            lines.append((offset, offset + len(line.rstrip("\r\n"))))
        offset += len(line)
    return lines[-_SIGNATURE_LINES:]


def _signature_issuer(text: str, norm: str) -> Stated | None:
    lines = _tail_lines(norm)
    for (s, e), (ds, de) in zip(lines, lines[1:], strict=False):
        organ = _ORGAN.match(norm, s, e)
        if organ and _date_in(norm, ds, de, whole=True):
            return Stated("issuer", text[organ.start(1) : organ.end(1)], organ.start(1))
    return None


def _header_date(norm: str, header_end: int, year: int | None) -> Stated | None:
    return _first_date(norm, 0, header_end, year)


def _signature_date(norm: str, year: int | None) -> Stated | None:
    for s, e in reversed(_tail_lines(norm)):
        found = _date_in(norm, s, e, whole=True)
        if found and _plausible(found, year):
            return Stated("published", found.isoformat(), s)
    return None


def _first_date(norm: str, start: int, end: int, year: int | None) -> Stated | None:
    hits = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(norm, start, end):
            if _CLOCK.search(norm, norm.rfind("\n", 0, match.start()) + 1, match.start()):
                continue  # 今天是2023年4月2日: the reader's clock, not the report's date
            day = _to_date(match)
            if day and _plausible(day, year):
                hits.append((match.start(), day))
    if not hits:
        return None
    offset, day = min(hits)
    return Stated("published", day.isoformat(), offset)


def _date_in(norm: str, start: int, end: int, whole: bool = False) -> date | None:
    for pattern in _DATE_PATTERNS:
        match = pattern.search(norm, start, end)
        if match and (
            not whole or not norm[start : match.start()].strip() + norm[match.end() : end].strip()
        ):
            day = _to_date(match)
            if day:
                return day
    return None


def _to_date(match: re.Match[str]) -> date | None:
    groups = [g for g in match.groups() if g not in "-./"]
    try:
        y, m, d = (int(g) if g.isdigit() else _chinese_number(g) for g in groups)
        if y is None or m is None or d is None:
            return None
        return date(y, m, d)
    except (TypeError, ValueError):
        return None


def _chinese_number(numeral: str) -> int | None:
    if len(numeral) == 4:  # a year is written digit by digit: 二〇二二
        return int("".join(str(chinese_int(ch)) for ch in numeral))
    return chinese_int(numeral)


def _plausible(day: date, year: int | None) -> bool:
    """A report on ``year`` is published in that year or within the two after it."""
    return year is None or year <= day.year <= year + 2
