"""Is the decoded text a Chinese report at all? Mojibake and unrelated text say no, loudly.

A file can decode cleanly and still not be a report: UTF-8 bytes once read as cp1252 and saved
again (``æ³•æ²»``), GBK read as Latin-1 (``·¨ÖÎ``), an English page, a personal note in a folder of
reports. Extracting from those gives a clean-looking empty result, so ``problem_with`` names what
is wrong and ``read_source`` turns it into an error instead.
"""

from __future__ import annotations

import re

# Words every rule-of-law report (法治政府建设年度报告) uses many times; a text with none of them
# is not one. Deliberately broad: a short excerpt of a report still has one of these.
REPORT_MARKERS = (
    "法治", "法制", "依法", "政府", "行政", "执法", "法律", "复议", "诉讼", "普法", "司法",
    "规范性文件", "人民", "年度", "报告", "委员会", "机关", "報告", "規範性文件", "執法",
)  # fmt: skip
SAMPLE = 200_000  # characters judged for the language and for mojibake
MIN_CJK_SHARE = 0.25  # of the non-space characters; the corpus reports have 0.77-0.86
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")  # runs
_LATIN1_LETTERS = re.compile("[\u00a1-\u00ff]")
# (how the text was wrongly decoded, how the bytes really were): re-encoding with the first and
# decoding with the second gives Chinese back when the text is that kind of mojibake.
_MOJIBAKE_ROUTES = (("cp1252", "utf-8"), ("latin-1", "utf-8"), ("latin-1", "gb18030"))


def cjk_share(text: str) -> float:
    """Share of Chinese characters among the non-whitespace characters of ``text`` (of its
    first ``SAMPLE`` characters: a report's language shows long before its end, and a 20 MB
    file must not cost a list of every character)."""
    text = text[:SAMPLE]
    visible = len("".join(text.split()))  # split() cuts at exactly what isspace() names
    return (len(text) - len(_CJK.sub("", text))) / visible if visible else 0.0


def problem_with(text: str) -> str | None:
    """Why ``text`` is not a Chinese report (one line), or ``None`` when it reads as one."""
    share = cjk_share(text)
    if share < MIN_CJK_SHARE:
        return mojibake_problem(text) or (
            f"not Chinese text: {share:.0%} of its characters are Chinese"
        )
    if not any(marker in text for marker in REPORT_MARKERS):
        shown = "、".join(REPORT_MARKERS[:6])
        return f"does not read as a government report (none of {shown}… occurs in it)"
    return None


def mojibake_problem(text: str) -> str | None:
    """One line saying how ``text`` was garbled, or ``None`` if it is no known mojibake."""
    route = mojibake_route(text)
    if route is None:
        return None
    wrong, right = route
    return (
        f"mojibake: {right} text that was decoded as {wrong} and saved again; "
        f"re-save it from the original file (it reads as Chinese when re-encoded)"
    )


def mojibake_route(text: str) -> tuple[str, str] | None:
    """``(wrong, right)`` when re-encoding ``text`` as ``wrong`` and decoding it as ``right``
    gives text that is mostly Chinese, else ``None``."""
    text = text[:SAMPLE]
    if sum(1 for _ in _LATIN1_LETTERS.finditer(text)) < 0.2 * max(1, len(text.strip())):
        return None
    for wrong, right in _MOJIBAKE_ROUTES:
        # Lossy on purpose: cp1252 has no character for five bytes, which the wrong decoding
        # dropped or replaced; what remains still reads as Chinese.
        repaired = text.encode(wrong, errors="ignore").decode(right, errors="ignore")
        if cjk_share(repaired) >= MIN_CJK_SHARE:
            return wrong, right
    return None
