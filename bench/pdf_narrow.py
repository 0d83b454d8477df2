"""The five corpus reports as narrow PDFs: figures F1 with the rules backend, text vs PDF.

Each report is rendered by ``tests/pdf_render.py`` (38 Chinese characters a line, a running
header, ``— N —`` page numbers) and read back by ``fazhi.ingest``; a third column reads the same
PDF the naive way (pdfplumber's text joined page by page, no line rejoining), as ingest did
before, to show what the rejoining is worth.

    .venv/bin/python bench/pdf_narrow.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.pdf_render and tests.conftest

from tests.conftest import CORPUS, REPORTS, gold_json  # noqa: E402
from tests.pdf_render import render_pdf  # noqa: E402

from fazhi.backends.rules import RulesBackend  # noqa: E402
from fazhi.evaluate import score_report  # noqa: E402
from fazhi.ingest import read_source  # noqa: E402
from fazhi.model import GoldReport, Source  # noqa: E402
from fazhi.pipeline import extract  # noqa: E402


def _naive(path: Path) -> Source:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return Source(text="\n".join(page.extract_text() or "" for page in pdf.pages))


def main() -> None:
    backend = RulesBackend()
    print(f"{'report':<14} {'text F1':>8} {'PDF F1':>8} {'naive PDF F1':>13}")
    with tempfile.TemporaryDirectory() as folder:
        for stem in REPORTS:
            gold = GoldReport.model_validate(gold_json(stem))
            text = read_source(CORPUS / f"{stem}.txt")
            pdf_path = render_pdf(text.text, Path(folder) / f"{stem}.pdf")
            sources = (text, read_source(pdf_path), _naive(pdf_path))
            scores = [score_report(stem, gold, extract(s, backend)).figures.f1 for s in sources]
            print(f"{stem:<14} {scores[0]:>8.3f} {scores[1]:>8.3f} {scores[2]:>13.3f}")


if __name__ == "__main__":
    main()
