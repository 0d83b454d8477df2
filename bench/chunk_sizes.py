"""Chunk size vs. what a chunk can still extract, on the five eval reports.

For each size: chunks per report, the longest chunk, the share of gold quotes (figures,
shortcomings, plans) lying entirely inside one chunk -- a quote cut in two cannot be quoted
verbatim by any backend -- the share whose whole paragraph (line) lies inside one chunk, i.e.
whose context the model sees in full, and the share of cuts that fall right before a heading.

    /work/venv/bin/python bench/chunk_sizes.py
"""

from __future__ import annotations

import json
from pathlib import Path

from fazhi.chunking import chunk_source, find_headings
from fazhi.ingest import read_source

ROOT = Path(__file__).resolve().parents[1]
SIZES = (500, 1000, 1500, 2000, 3000, 4000)


def gold_quotes(stem: str) -> list[str]:
    gold = json.loads((ROOT / "evals" / "gold" / f"{stem}.json").read_text(encoding="utf-8"))
    return [f["quote"] for f in gold["figures"]] + gold["shortcomings"] + gold["plans"]


def occurrences(text: str, quote: str) -> list[tuple[int, int]]:
    spans, pos = [], text.find(quote)
    while pos >= 0:
        spans.append((pos, pos + len(quote)))
        pos = text.find(quote, pos + 1)
    return spans


def contained(chunks, spans) -> bool:
    return any(c.start <= s and e <= c.end for c in chunks for s, e in spans)


def paragraph(text: str, span: tuple[int, int]) -> tuple[int, int]:
    start = text.rfind("\n", 0, span[0]) + 1
    end = text.find("\n", span[1])
    return start, len(text) if end < 0 else end


def main() -> None:
    stems = sorted(p.stem for p in (ROOT / "evals" / "corpus").glob("*.txt"))
    sources = {stem: read_source(ROOT / "evals" / "corpus" / f"{stem}.txt") for stem in stems}
    print(
        f"{'size':>5} {'overlap':>7} {'chunks per report':<22} {'total':>5} {'longest':>7}"
        f" {'quote in one chunk':>19} {'paragraph in one chunk':>23} {'cuts at a heading':>18}"
    )
    for size in SIZES:
        for overlap in (False, True):
            counts, inside, whole, total, longest, cuts, at_heading = [], 0, 0, 0, 0, 0, 0
            for stem, source in sources.items():
                chunks = chunk_source(source, size, overlap=overlap)
                counts.append(len(chunks))
                heading_starts = {h.start for h in find_headings(source.text)}
                cuts += len(chunks) - 1
                at_heading += sum(c.end in heading_starts for c in chunks[:-1])
                longest = max(longest, max(len(c.text) for c in chunks))
                for quote in gold_quotes(stem):
                    spans = occurrences(source.text, quote)
                    total += 1
                    inside += contained(chunks, spans)
                    whole += contained(chunks, [paragraph(source.text, s) for s in spans])
            print(
                f"{size:>5} {str(overlap):>7} {str(counts):<22} {sum(counts):>5} {longest:>7}"
                f" {inside / total:>19.1%} {whole / total:>23.1%} {at_heading / cuts:>18.0%}"
            )
    lengths = [len(s.text) for s in sources.values()]
    print(
        f"({total} gold quotes over {len(sources)} reports of {min(lengths)}-{max(lengths)} chars)"
    )


if __name__ == "__main__":
    main()
