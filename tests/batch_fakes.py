"""Stand-in backends for the batch, export and CLI tests (test code only, never model output).

``EchoBackend`` proposes, for each chunk, the gold figures (``evals/gold``) whose quote lies in
that chunk, plus the gold meta in the first chunk: a deterministic, instant backend whose
proposals go through the real merge and verify, so results carry real spans. It counts the
chunks it was asked about, and can raise or fail chunks on request.
"""

from __future__ import annotations

import shutil
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from fazhi.model import Chunk, ChunkAnswer, FigureProposal, Meta, Source, TextProposal
from tests.conftest import CORPUS, REPORTS, gold_json

_GOLD = [gold_json(stem) for stem in REPORTS]
_FIGURES = [f for g in _GOLD for f in g["figures"]]
_TEXT_ITEMS = {
    kind: [q for g in _GOLD for q in g.get(kind, [])] for kind in ("shortcomings", "plans")
}


class EchoBackend:
    name = "echo"
    model = "gold-echo"
    prompt_version = "test-1"

    def __init__(
        self,
        *,
        raise_on: str | None = None,
        fail_chunks_of: str | None = None,
        invent: bool = False,
    ) -> None:
        self.raise_on = raise_on  # raise for a source containing this text
        self.fail_chunks_of = fail_chunks_of  # set ChunkAnswer.error for such a source
        self.invent = invent  # also propose a figure the source does not hold (to be rejected)
        self.chunk_calls = 0
        self.report_calls = 0
        self._lock = threading.Lock()

    def answer(self, chunks: Sequence[Chunk], source: Source) -> list[ChunkAnswer]:
        with self._lock:
            self.report_calls += 1
            self.chunk_calls += len(chunks)
        if self.raise_on and self.raise_on in source.text:
            raise RuntimeError("server said no\n(500)")
        failing = bool(self.fail_chunks_of and self.fail_chunks_of in source.text)
        return [self._answer(chunk, source, failing and chunk.index == 0) for chunk in chunks]

    def _answer(self, chunk: Chunk, source: Source, fail: bool) -> ChunkAnswer:
        if fail:
            return ChunkAnswer(chunk=chunk.index, error="timeout after 3 tries")
        figures = [
            FigureProposal(**{k: v for k, v in f.items() if k != "optional"}, chunk=chunk.index)
            for f in _FIGURES
            if f["quote"] in chunk.text
        ]
        items = {
            kind: [TextProposal(quote=q, chunk=chunk.index) for q in quotes if q in chunk.text]
            for kind, quotes in _TEXT_ITEMS.items()
        }
        if self.invent and chunk.index == 0:
            figures.append(
                FigureProposal(
                    indicator="litigation.cases",
                    value=99999,
                    raw="99999",
                    quote="全年行政应诉案件99999件",
                    chunk=0,
                )
            )
        meta = _meta_for(source) if chunk.index == 0 else None
        return ChunkAnswer(chunk=chunk.index, figures=figures, meta=meta, **items)


def _meta_for(source: Source) -> Meta | None:
    for gold in _GOLD:
        region = gold["meta"].get("region")
        if region and region in source.text[:2000]:
            return Meta(**gold["meta"])
    return None


class RulesNamedEcho(EchoBackend):
    """Looks like the offline rules backend to the batch (no model calls, no tokens)."""

    name = "rules"
    model = None
    prompt_version = None


class SelfEstimatingEcho(EchoBackend):
    def estimate_tokens(self, chunks: Sequence[Chunk]) -> tuple[int, int]:
        return 1000 * len(chunks), 100 * len(chunks)


BAD = ("empty.txt", "binary.txt", "scanned.pdf")  # the broken files make_report_folder adds


def make_report_folder(folder: Path) -> Path:
    """The five corpus reports (two in a subfolder), a GBK copy, three broken files, and two
    files a folder walk must pass over (another type; a text fazhi wrote beside a result)."""
    (folder / "more").mkdir(parents=True)
    for i, stem in enumerate(REPORTS):
        shutil.copy(CORPUS / f"{stem}.txt", folder / ("more" if i % 2 else ".") / f"{stem}.txt")
    text = (CORPUS / "kunshan-2021.txt").read_text(encoding="utf-8")
    # GBK has no no-break or en space: a GBK page holds plain spaces there.
    gbk_text = "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)
    (folder / "kunshan-gbk.txt").write_bytes(gbk_text.encode("gbk"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    _scanned_pdf(folder / "scanned.pdf")
    (folder / "notes.xlsx").write_bytes(b"not a report type")
    (folder / "old.source.txt").write_text("written by fazhi beside a result", encoding="utf-8")
    return folder


def _scanned_pdf(path: Path) -> None:
    from reportlab.pdfgen import canvas

    page = canvas.Canvas(str(path))
    page.rect(100, 100, 300, 400, fill=1)  # a page with a picture and no text layer
    page.save()
