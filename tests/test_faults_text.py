"""Fault suite, text faults: a scraped report full of invisible characters, end to end.

Zero-width spaces, word joiners, soft hyphens and BOMs inside the text are common in scraped
HTML; one inside a number (``1\\u200b69件``) once read as 69 and verified. Here such a report
goes through the installed ``fazhi extract`` and ``fazhi verify`` and must give exactly the
figures of the clean report, with every span pointing into the text shown beside the result.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import CORPUS

FAZHI = str(Path(sys.executable).parent / "fazhi")
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")


def _scatter(text: str) -> str:
    """Every fifth character followed by an invisible one: inside numbers, words and quotes."""
    out = []
    for i, ch in enumerate(text):
        out.append(ch)
        if i % 5 == 4 and ch != "\n":
            out.append(ZERO_WIDTH[i % len(ZERO_WIDTH)])
    return "".join(out)


def _fazhi(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FAZHI, *args], capture_output=True, text=True, timeout=120)


def _figures(path: Path) -> list[tuple[str, float, str]]:
    result = json.loads(path.read_text(encoding="utf-8"))
    return sorted((f["indicator"], f["value"], f["raw"]) for f in result["figures"])


def test_a_report_full_of_zero_width_characters_gives_the_clean_figures(tmp_path):
    clean_text = (CORPUS / "kunshan-2021.txt").read_text(encoding="utf-8")
    dirty_text = _scatter(clean_text.replace("申请169件", "申请1\u200b69件"))
    assert sum(dirty_text.count(ch) for ch in ZERO_WIDTH) > len(clean_text) // 6
    clean, dirty = tmp_path / "clean.txt", tmp_path / "dirty.txt"
    clean.write_text(clean_text, encoding="utf-8")
    dirty.write_text(dirty_text, encoding="utf-8")
    for report in (clean, dirty):
        out = tmp_path / f"{report.stem}.json"
        run = _fazhi("extract", str(report), "-o", str(out), "--backend", "rules")
        assert run.returncode == 0, run.stderr
    assert _figures(tmp_path / "dirty.json") == _figures(tmp_path / "clean.json")
    result = json.loads((tmp_path / "dirty.json").read_text(encoding="utf-8"))
    shown = (tmp_path / "dirty.source.txt").read_text(encoding="utf-8")
    assert not any(ch in shown for ch in ZERO_WIDTH)
    assert any("invisible" in w for w in result["warnings"])
    assert "warning:" in run.stderr and "invisible character(s)" in run.stderr  # said, too
    for figure in result["figures"]:
        start, end = figure["raw_span"]
        assert shown[start:end] == figure["raw"]
    assert ("reconsideration.received", 169, "169") in _figures(tmp_path / "dirty.json")
    checked = _fazhi("verify", str(tmp_path / "dirty.json"), "-s", str(dirty))
    assert checked.returncode == 0, checked.stderr


def test_verify_never_accepts_the_piece_a_zero_width_character_cuts_off(tmp_path):
    report = tmp_path / "dirty.txt"
    text = (CORPUS / "kunshan-2021.txt").read_text(encoding="utf-8")
    report.write_text(text.replace("申请169件", "申请1\u200b69件"), encoding="utf-8")
    wrong = {
        "figures": [
            {"indicator": "reconsideration.received", "value": 69, "raw": "69", "quote": "69件"}
        ]
    }
    claimed = tmp_path / "wrong.json"
    claimed.write_text(json.dumps(wrong, ensure_ascii=False), encoding="utf-8")
    run = _fazhi("verify", str(claimed), "-s", str(report))
    assert run.returncode == 1, run.stderr
    assert "raw_not_in_quote" in run.stderr or "raw '69'" in run.stderr


def test_a_mojibake_report_is_one_line_and_exit_2_never_a_clean_empty_result(tmp_path):
    text = (CORPUS / "qingpu-2023.txt").read_text(encoding="utf-8")
    garbled = tmp_path / "garbled.txt"
    garbled.write_text(text.encode("utf-8").decode("cp1252", errors="ignore"), encoding="utf-8")
    out = tmp_path / "out.json"
    run = _fazhi("extract", str(garbled), "-o", str(out), "--backend", "rules")
    assert run.returncode == 2 and not out.exists()
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "mojibake" in lines[0] and "cp1252" in lines[0]
