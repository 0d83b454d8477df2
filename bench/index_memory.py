"""Bytes the source index holds per character of source, and the seconds it takes to build.

``python bench/index_memory.py [MILLION_CHARS]`` repeats the bundled reports to the size asked
(default 5 million characters), builds ``fazhi.index.SourceIndex`` under ``tracemalloc`` with its
lazy parts (the squeezed copy the verifier locates quotes in, the printed raws), and prints what
it holds after the build and the peak during it, both per source character. The source text
itself is not counted (the ``Source`` holds it either way).
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from pathlib import Path

from fazhi.index import SourceIndex

CORPUS = Path(__file__).resolve().parents[1] / "evals" / "corpus"


def main() -> None:
    wanted = int(float(sys.argv[1]) * 1_000_000) if len(sys.argv) > 1 else 5_000_000
    reports = "\n".join(p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt")))
    text = (reports * (wanted // len(reports) + 1))[:wanted]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    index = SourceIndex(text)
    index.squeezed  # noqa: B018 -- built lazily; counted because the verifier builds it
    index.printed_raws  # noqa: B018
    seconds = time.perf_counter() - started
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    chars = len(text)
    print(
        f"source: {chars:,} characters, {index.number_count:,} numbers, "
        f"{index.sentence_count:,} sentences, {len(index.headings):,} headings"
    )
    print(
        f"index holds {(held - before) / chars:.2f} bytes/char "
        f"(peak while building {(peak - before) / chars:.2f}), built in {seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
