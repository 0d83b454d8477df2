"""Every number as printed in a Chinese report, with its exact span.

``find_numbers(text)`` returns each number left to right as a ``Number``: ``raw`` is the text
exactly as printed -- including a 万/亿 multiplier, a percent sign or 百分之 prefix and an
approximation marker printed after it (``50余``, ``100多``) -- but never the measure word, which
goes to ``unit``, nor a qualifier printed before it (``约600``, ``近100``, ``逾``, ``超过500``,
``不少于``: raw ``600``, ``approx`` true), as the gold labelling conventions have it.
``value`` is in base units (``"2193万"`` -> 21930000, ``"40.8%"`` -> 40.8).
Simplified and traditional script are handled alike.

Rules chosen where the text is ambiguous:

* Arabic digit runs (ASCII or full width) are always numbers: dates (``2022-03-15`` gives
  three numbers), ordinals (``第1``), code names (``12345热线``). A minus sign is never read:
  in these reports ``-`` joins ranges and dates.
* A comma (``,`` or ``，``) is a thousands separator only between a leading group of 1-3 digits
  and groups of exactly three digits (``1,234``); otherwise it is punctuation.
* A decimal point may be followed by one space (scraping artefact ``44. 5%``); the space is
  part of ``raw``.
* Chinese numerals count only as quantities: the run must be followed (after an optional
  余/多 and 万/亿) by a measure word (``十期``, ``三十三次``, ``两个``, ``二〇二一年``), or
  stand after 百分之, or be a lone ``零`` (``零败诉``). They are *not* numbers after 第/统/逐/唯/
  每/之, right after an opening quote or title mark (slogans: ``“一件事”``, ``“三项制度”``,
  but a lone ``零`` in quotes is a count: ``保持“零败诉”``),
  ``《两个…``), in the fixed words listed in ``_CN_WORDS`` (``一起``, ``一批``, ``一次性``…), or
  as the ``一`` of ``上一级``/``下一年度``. So ``一是``, ``（一）``, ``第一``, ``统一``, ``一体化``,
  ``进一步``, ``十九大``, ``十四五`` are not numbers.
* ``多`` after a number is a marker only when a measure word, 万/亿 or % follows (``100多次``)
  or the text ends there.
* 以上/左右 after the measure word (``50人以上``) and 约/近/逾/超过/不少于/不低于/多于 before
  the number (``约600件``, ``超过150件``) set ``approx`` without being part of ``raw``; these
  are the cases where ``parse_raw(n.raw).approx`` differs from ``n.approx``.
* 约 and 近 are markers only where they stand alone (not 签约, 节约, 附近, 就近, 最近), and 近
  before a span of time is "the last" (``近3年``: raw ``3``, not approximate).
* Not read: Chinese decimals (``一点五``), fractions (``三分之一``), 成 (tenths), ``近百``,
  ``一万亿`` in Chinese numerals (``1.2万亿`` is read), 以下/以内 as markers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Number", "find_numbers", "parse_raw", "values_equal"]


@dataclass(frozen=True, slots=True)  # slots: a report holds one per number it prints
class Number:
    """One number as printed: ``raw == text[start:end]``."""

    value: int | float
    raw: str
    start: int
    end: int
    unit: str | None = None
    percent: bool = False
    approx: bool = False


# Longest first so that 场次 wins over 场 and 个月 over 个.
_UNIT_WORDS = (
    "个百分点 個百分點 百分点 百分點 平方公里 平方米 公里 千米 千克 千瓦时 "
    "千瓦時 千瓦 场次 場次 人次 件次 户次 戶次 家次 批次 班次 车次 車次 架次 "
    "小时 小時 个月 個月 分钟 分鐘 工作日 课时 課時 学时 學時 件 次 元 个 "
    "個 人 名 条 條 项 項 家 份 场 場 期 年 月 日 天 周 週 户 戶 所 "
    "轮 輪 例 起 篇 部 本 册 冊 处 處 座 台 臺 宗 笔 筆 亩 畝 吨 噸 "
    "米 岁 歲 位 支 类 類 种 種 套 张 張 级 級 层 層 批 间 間 栋 棟 "
    "辆 輛 块 塊 节 節 堂 门 門 款 首 幅 单 單 分 秒 斤 倍"
)
_UNITS = sorted(dict.fromkeys(_UNIT_WORDS.split()), key=len, reverse=True)
_UNIT_RE = "|".join(map(re.escape, _UNITS))
_UNIT_AT = re.compile(_UNIT_RE)
_UNIT_STRINGS = {unit: unit for unit in _UNITS}  # one string per measure word, not per number

_FULLWIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
_DIGITS = "0-9０-９"  # as a character class body
_DIGIT = f"[{_DIGITS}]"
_SMALL_MULT = {"百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_MULT = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
# 万/亿 (optionally led by 百/千: 千万, 百亿) or a lone 千; never the 千 of 千米/千克/千瓦 or the
# 百 of 百分之/百分点.
_MULT = r"(?:(?:[百佰千仟](?![分瓦克米]))?(?:[万萬][亿億]?|[亿億])|[千仟](?![瓦克米]))"
# 约/近 are markers only on their own: not the 约 of 签约/节约/制约, nor the 近 of 附近/就近/最近.
_PRE = (
    r"(?P<pre>大约|大約|(?<![签簽节節制合预預特公条條邀履违違契集简簡相盟])[约約]"
    r"|(?<![附就最临臨靠亲親贴貼])近|逾)?(?P<pct_pre>百分之)?"
)
# 近 before a span of time (近3年, 近三个月) means "the last", not "nearly".
_PERIOD_UNITS = {"年", "个月", "個月", "月", "天", "日", "周", "週"}
_POST = rf"(?P<mark>余|餘|多(?=(?:{_UNIT_RE}|{_MULT}|[%％]|\Z)))?"
_SUFFIX = r"(?P<pct>[%％])?(?P<post>以上|左右)?"

_ARABIC = re.compile(
    _PRE
    + rf"(?P<int>{_DIGIT}{{1,3}}(?:[,，]{_DIGIT}{{3}})+(?!{_DIGIT})|{_DIGIT}+)"
    + rf"(?:[.．][ \u00a0]?(?P<frac>{_DIGIT}+))?"
    + rf"(?P<mult>{_MULT})?"
    + _POST
    + rf"(?P<mult2>(?(mark){_MULT}))?"
    + _SUFFIX
)

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_CN_SMALL = {"十": 10, "拾": 10, **_SMALL_MULT}
_CN_CHARS = "".join(_CN_DIGITS) + "".join(_CN_SMALL) + "".join(_BIG_MULT)
_CN_RUN = f"[{_CN_CHARS}]+"
_CHINESE = re.compile(
    _PRE
    + rf"(?P<run>{_CN_RUN})"
    + rf"(?P<mark>余|餘|多(?=(?:{_UNIT_RE}|[万萬亿億]|\Z)))?"
    + r"(?P<mult2>(?(mark)[万萬亿億]))?"
    + _SUFFIX
)

# Every character a match of _ARABIC or _CHINESE can start with: a qualifier of _PRE (大约, 约,
# 近, 逾), the 百 of 百分之, or the number itself. The patterns open with optional groups, which
# leaves the regex engine no first character to skip ahead to: ``_matches`` finds these first.
_PRE_FIRST = "大约約近逾百"
_ARABIC_FIRST = re.compile(f"[{_PRE_FIRST}{_DIGITS}]")
_CHINESE_FIRST = re.compile(f"[{_PRE_FIRST}{_CN_CHARS}]")


def _matches(pattern: re.Pattern[str], first: re.Pattern[str], text: str) -> Iterator[re.Match]:
    """``pattern.finditer(text)``, the same matches: the leftmost match at or after ``pos`` is
    the first one that the pattern makes at a possible first character (a match is never
    empty, so the next one is looked for from its end)."""
    pos = 0
    while (candidate := first.search(text, pos)) is not None:
        match = pattern.match(text, candidate.start())
        pos = match.end() if match else candidate.start() + 1
        if match:
            yield match


# Chinese numerals right after these are ordinals or parts of words (第一, 统一, 逐一, 唯一, 每一,
# 之一), or names in quotes and titles (“三项制度”, 《两个…》).
_CN_BLOCKED_BEFORE = set('第统統逐唯每之“「『《〈‘"')
_OPENING_QUOTES = set('“「『‘"')
# Qualifiers before a number that make it approximate without being part of raw (like 以上
# after the measure word): 超过500, 不少于40.
_QUALIFIERS_BEFORE = ("超过", "不少于", "不低于", "多于")
# Fixed words whose numeral is not a count although a measure word follows.
_CN_WORDS = (
    "一起", "一部分", "一次性", "一把手", "一条龙", "一條龍", "一件事", "一批", "一系列",
    "三位一体", "三位一體", "一份子",
)  # fmt: skip
# A measure word that begins a longer word: 三分之一, 一条例 (“一法一条例”), 一元化.
_CN_UNIT_WORDS = ("分之", "条例", "條例", "元化")
# 零 alone is the count zero (零败诉, 零投诉) except in these words.
_ZERO_WORDS = set("星散售工部件碎钱錢食头頭花用点點")


def values_equal(a: float, b: float) -> bool:
    """The gold scoring rule: equal within a relative tolerance of 1e-6."""
    return math.isclose(float(a), float(b), rel_tol=1e-6)


# Invisible characters that no reader sees: digits on both sides of them are one number split
# by page residue (``1\u200b69件``), which is never read as two (fazhi.ingest removes them).
_INVISIBLE = "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
_SPLIT_BEFORE = re.compile(rf"{_DIGIT}[.．,，]?{_INVISIBLE}+[.．,，]?\Z")
_SPLIT_AFTER = re.compile(rf"[.．,，]?{_INVISIBLE}+[.．,，]?{_DIGIT}")
_ANY_INVISIBLE = re.compile(_INVISIBLE)


def _split_by_invisible(number: Number, text: str) -> bool:
    before = text[max(0, number.start - 12) : number.start]
    starts_digit = number.raw[:1].translate(_FULLWIDTH).isdigit()
    ends_digit = number.raw[-1:].translate(_FULLWIDTH).isdigit()
    return bool(
        (starts_digit and _SPLIT_BEFORE.search(before))
        or (ends_digit and _SPLIT_AFTER.match(text, number.end))
    )


def find_numbers(text: str) -> list[Number]:
    """Every number in ``text``, left to right, non-overlapping; digits split by an invisible
    character (``1\u200b69``) give no number at all rather than a wrong one."""
    found = _arabic_numbers(text)
    if _ANY_INVISIBLE.search(text):  # (cleaned text has none: no number to look at again)
        found = [n for n in found if not _split_by_invisible(n, text)]
    found += _chinese_numbers(text)
    found.sort(key=lambda n: (n.start, -n.end))
    kept: list[Number] = []
    for number in found:
        if not kept or number.start >= kept[-1].end:
            kept.append(number)
    return kept


def parse_raw(raw: str) -> Number | None:
    """``raw`` read as exactly one number (it ends at ``len(raw)``), else ``None``.

    A qualifier in front (``约600``) is read -- ``approx`` true -- but left out of the result's
    ``raw`` (``600``, start 1), as ``find_numbers`` leaves it out.

    Unlike ``find_numbers`` a Chinese numeral needs no measure word here: ``"三十三"`` is 33.
    """
    for pattern, build in ((_ARABIC, _arabic_number), (_CHINESE, _chinese_number)):
        match = pattern.fullmatch(raw)
        if match is None:
            continue
        number = build(match, raw)
        if number is not None:
            return number
    return None


def _arabic_numbers(text: str) -> list[Number]:
    numbers = []
    for match in _matches(_ARABIC, _ARABIC_FIRST, text):
        number = _arabic_number(match, text)
        if number is not None:
            numbers.append(number)
    return numbers


def _arabic_number(match: re.Match[str], text: str) -> Number | None:
    digits = match["int"].replace(",", "").replace("，", "").translate(_FULLWIDTH)
    frac = match["frac"].translate(_FULLWIDTH) if match["frac"] else ""
    amount = Decimal(f"{digits}.{frac}" if frac else digits)
    amount *= _multiplier(match["mult"]) * _multiplier(match["mult2"])
    return _build(match, text, amount)


def _chinese_numbers(text: str) -> list[Number]:
    numbers = []
    for match in _matches(_CHINESE, _CHINESE_FIRST, text):
        if not _is_chinese_quantity(match, text):
            continue
        number = _chinese_number(match, text)
        if number is not None:
            numbers.append(number)
    return numbers


def _chinese_number(match: re.Match[str], text: str) -> Number | None:
    count = (
        100 if match["run"] == "百" and match["pct_pre"] else chinese_int(match["run"])
    )  # 百分之百
    if count is None:
        return None
    return _build(match, text, Decimal(count) * _multiplier(match["mult2"]))


def _is_chinese_quantity(match: re.Match[str], text: str) -> bool:
    """Whether a run of Chinese numerals in running text is a count (see the module docstring)."""
    run, start, after = match["run"], match.start("run"), match.end("run")
    if match["pct_pre"]:
        return True
    if run == "零" and start > 0 and text[start - 1] in _OPENING_QUOTES:
        # 保持“零败诉”: a zero count in quotation marks is still a count (not a slogan's name)
        return not (after < len(text) and text[after] in _ZERO_WORDS)
    if start > 0 and text[start - 1] in _CN_BLOCKED_BEFORE:
        return False
    if run == "一" and start > 0 and text[start - 1] in "上下":
        return False
    if any(text.startswith(word, start) for word in _CN_WORDS):
        return False
    if run == "零":
        return not (after < len(text) and text[after] in _ZERO_WORDS)
    if not any(ch in _CN_DIGITS or ch in "十拾" for ch in run):
        return False  # 百问百答, 万人: a bare 百/千/万 is a word, not a count
    # the measure word follows the whole number: after 余/多 and a 万 there (an unmatched
    # group's end is -1, which would read the last character of the text)
    number_end = max(after, match.end("mark"), match.end("mult2"))
    if _unit_at(text, number_end) is None:
        return False
    return not text.startswith(_CN_UNIT_WORDS, number_end)


def _build(match: re.Match[str], text: str, amount: Decimal) -> Number:
    """Assemble the Number for a match; the raw span ends at the last matched group."""
    start, end = match.start(), match.end()
    unit = _unit_at(text, end)
    pre = match["pre"]
    if pre:  # the gold conventions: a qualifier before the number stays out of raw
        start = match.end("pre")
    if pre == "近" and unit in _PERIOD_UNITS:
        pre = None  # 近3年: "the last three years", not "nearly"
    approx = bool(pre or match["mark"] or match["post"])
    if unit is not None and text.startswith(("以上", "左右"), end + len(unit)):
        approx = True
    if text.endswith(_QUALIFIERS_BEFORE, 0, start):
        approx = True
    value: int | float = int(amount) if amount == amount.to_integral_value() else float(amount)
    return Number(
        value=value,
        raw=text[start:end],
        start=start,
        end=end,
        unit=unit,
        percent=bool(match["pct"] or match["pct_pre"]),
        approx=approx,
    )


def _unit_at(text: str, pos: int) -> str | None:
    """The measure word at ``pos``, the longest one (``_UNITS`` is longest first, and the
    alternation tries its words in that order)."""
    match = _UNIT_AT.match(text, pos)
    return _UNIT_STRINGS[match.group()] if match else None


def _multiplier(mult: str | None) -> int:
    factor = 1
    for ch in mult or "":
        factor *= _SMALL_MULT.get(ch) or _BIG_MULT[ch]
    return factor


def chinese_int(run: str) -> int | None:
    """A run of Chinese numerals as an integer, ``None`` if it is not a well-formed number.

    Positional runs (``二〇二一``) are read digit by digit; otherwise the usual grammar
    (``一百零五``, ``三十三``, ``两万``, colloquial ``一百二`` = 120 and ``三万五`` = 35000).
    """
    if all(ch in _CN_DIGITS for ch in run):
        if len(run) > 1 and any(ch in "两兩" for ch in run):
            return None
        return int("".join(str(_CN_DIGITS[ch]) for ch in run))
    total = section = 0
    pending: int | None = None  # a digit waiting for its unit
    last_small = last_big = 10**13  # units must fall within a section and across sections
    prev_unit = 0
    for ch in run:
        if ch in _CN_DIGITS:
            if pending not in (None, 0):
                return None  # 十一五: two digits in a row without 零 between
            pending = _CN_DIGITS[ch]
        elif ch in _CN_SMALL:
            unit = _CN_SMALL[ch]
            if pending is None:
                if unit != 10 or section or total:
                    return None
                pending = 1  # 十五 = 15
            if unit >= last_small or pending == 0:
                return None
            section += pending * unit
            pending, last_small, prev_unit = None, unit, unit
        else:
            big = _BIG_MULT[ch]
            section += pending or 0
            if section == 0 or big >= last_big:
                return None
            total, section = total + section * big, 0
            pending, last_small, last_big, prev_unit = None, 10**13, big, big
    if pending:
        # 一百二 = 120, 三万五 = 35000: a last digit right after a unit is one place lower.
        section += pending * (prev_unit // 10 if prev_unit >= 100 and run[-2] != "零" else 1)
    return total + section
