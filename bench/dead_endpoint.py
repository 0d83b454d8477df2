"""How long a batch takes to fail against an endpoint that is not there (a closed loopback port).

    python bench/dead_endpoint.py                      # 8 synthetic reports, the installed fazhi
    python bench/dead_endpoint.py --reports 8 --fazhi /path/to/other/.venv/bin/fazhi

Writes synthetic reports (cut from the corpus, labelled synthetic) into a temporary folder, runs
``fazhi extract FOLDER --backend llm --base-url http://127.0.0.1:PORT/v1`` on a port nobody
listens on, and prints the wall time, the exit code and the last lines of stderr. No model and
no network: the connection is refused by the local kernel.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    """A loopback port that was free a moment ago and that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_reports(folder: Path, count: int, paragraphs: int) -> None:
    from fazhi.testing.synthetic import synthetic_reports
    from fazhi.testing.synthetic import write_reports as write

    corpus = ROOT / "evals" / "corpus"
    seeds = {p.stem: p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))}
    write(folder, synthetic_reports(seeds, count, paragraphs, tag_paragraphs=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=8)
    parser.add_argument("--paragraphs", type=int, default=2, help="number paragraphs a report")
    default_fazhi = shutil.which("fazhi") or str(Path(sys.executable).with_name("fazhi"))
    parser.add_argument("--fazhi", default=default_fazhi, help="the fazhi executable to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_reports(work / "reports", args.reports, args.paragraphs)
        url = f"http://127.0.0.1:{closed_port()}/v1"
        command = [args.fazhi, "extract", str(work / "reports"), "-o", str(work / "out.jsonl"),
                   "--backend", "llm", "--model", "m", "--base-url", url, "--no-cache"]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FAZHI_"))}
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        seconds = time.perf_counter() - started
    print(f"{args.reports} reports x {args.paragraphs} paragraphs against {url} (closed): "
          f"{seconds:.1f} s, exit {done.returncode}")  # fmt: skip
    lines = done.stderr.strip().splitlines()
    print(f"stderr: {len(lines)} lines; last 3:")
    for line in lines[-3:]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
