"""Benchmarks of fazhi's own code around a model: ratios measured in one run, printed as tables.

Not timed tests: nothing here asserts a time. Model answers come from the local replay server
(``fazhi.testing.replay_server``): recorded responses from ``cassettes/`` where they exist, the
synthetic echo otherwise -- so these numbers describe our code, never a model's quality or speed.

    /work/venv/bin/python bench/run.py            # everything (~2 minutes on 2 cores)
    /work/venv/bin/python bench/run.py --quick    # fewer reports and repeats (~30 s)
    /work/venv/bin/python bench/run.py --only tokens,cache
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch_workers import HEADER as WORKERS_HEADER  # noqa: E402
from batch_workers import cores, workers_runs  # noqa: E402
from serving import cached_rerun, concurrency_run  # noqa: E402
from throughput import (  # noqa: E402
    GROWTH_HEADER,
    PADDING_HEADER,
    THROUGHPUT_HEADER,
    growth,
    growth_cells,
    max_rss_mib,
    padding_growth,
    rules_throughput,
    verify_throughput,
)
from token_use import HEADER as TOKEN_HEADER  # noqa: E402
from token_use import token_rows  # noqa: E402

from fazhi.catalog import default_catalog  # noqa: E402
from fazhi.ingest import read_source  # noqa: E402
from fazhi.llm import quiet_reask_logs  # noqa: E402
from fazhi.llm.prompts import load_prompts  # noqa: E402
from fazhi.llm.schema import schema_json  # noqa: E402
from fazhi.model import Draft, Source  # noqa: E402
from fazhi.testing.responders import load_cassettes  # noqa: E402
from fazhi.testing.synthetic import long_report, synthetic_reports, write_reports  # noqa: E402

CORPUS, GOLD, CASSETTES = ROOT / "evals" / "corpus", ROOT / "evals" / "gold", ROOT / "cassettes"
SECTIONS = ("tokens", "cache", "concurrency", "throughput", "workers", "growth")
CONCURRENCY_LEVELS = (1, 4, 16, 64)
WORKERS_AT = {16: (1, 2), 64: (1, 2)}  # worker processes tried at a level (default: 1)
# A level runs at least this many reports per call in flight. The ideal assumes the calls pack
# perfectly; with few reports per slot the last wave does not (a slot left with one more
# two-call report than the others adds 0.6 s): compare `--reports-per-slot 4` (the old
# setting) with the default at concurrency 16. A batch of thousands of reports has hundreds a
# slot.
REPORTS_PER_CALL_IN_FLIGHT = 16
LATENCY = 0.3
BATCH_CHUNK_SIZE = 500  # synthetic reports are two paragraphs: one or two chunks each


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def say(text: str = "") -> None:
    print(text, flush=True)


def corpus() -> dict[str, Source]:
    return {p.stem: read_source(p) for p in sorted(CORPUS.glob("*.txt"))}


def gold(stem: str) -> Draft:
    """The gold labels as proposals (what the verifier is timed on)."""
    return Draft.model_validate_json((GOLD / f"{stem}.json").read_text(encoding="utf-8"))


def real_cassettes() -> list[Path]:
    """Recordings of real model servers: ``cassettes/<name>-<report>.yaml`` as written by
    ``scripts/record_cassettes.py``. Subfolders (``cassettes/synthetic/``: hand-made stub
    answers for tests) are not recordings of a model and are never used here."""
    return sorted(CASSETTES.glob("*.yaml")) if CASSETTES.exists() else []


def section_tokens(sources: dict[str, Source]) -> None:
    catalog = default_catalog()
    schema = schema_json(catalog)
    prompts = load_prompts(catalog, schema)
    recordings = load_cassettes(real_cassettes())
    rows, rates = token_rows(sources, recordings, prompts)
    say("## Tokens per report by chunk size (five eval reports)\n")
    say(table(TOKEN_HEADER, [r.cells() for r in rows]))
    say()
    for model, rate in rates.items():
        say(
            f"- {model}: {rate.basis}; completion {rate.completion_per_chunk_char:.3f} "
            "tokens per chunk character."
        )
    say(
        "- 'chunks recorded' counts chunks whose tokens come from a cassette "
        f"({len(recordings)} recorded calls loaded); "
        "all other chunks are estimated from the rendered prompt's length and the rates above."
    )
    say(
        "- Report tokens = report characters × the same prompt rate. The system prompt is "
        f"{len(prompts.system):,} characters per call; in TOOLS mode a hosted API also bills the "
        f"{len(schema):,}-character answer schema per call "
        "(JSON_SCHEMA mode sends it as a grammar, not as prompt).\n"
    )


def section_cache(sources: dict[str, Source]) -> None:
    cassettes = real_cassettes()
    say("## Cached rerun vs first run (five eval reports, LLM backend, replay server)\n")
    rows = []
    for latency in (0.0, LATENCY):
        run = cached_rerun(list(sources.values()), cassettes, latency)
        rows.append([
            f"{run.mode}", f"{latency * 1000:.0f} ms", f"{run.first_requests}",
            f"{run.first_seconds:.2f} s", f"{run.rerun_requests}", f"{run.rerun_seconds:.3f} s",
            f"{run.speedup:,.0f}×", ", ".join(f"{k} {v}" for k, v in sorted(run.served_by.items())),
        ])  # fmt: skip
    say(table(["server", "latency/request", "requests, 1st run", "1st run", "requests, rerun",
               "rerun", "speed-up", "answers served"], rows))  # fmt: skip
    say(
        "\n- The rerun reads every complete answer from the disk cache. The requests it still "
        "makes are for the chunks (and their re-asks) whose recorded answers were cut off or not "
        "JSON: an incomplete answer is never cached, so a rerun asks again (docs/reliability.md).\n"
    )


def section_concurrency(reports: int, per_slot: int = REPORTS_PER_CALL_IN_FLIGHT) -> None:
    seeds = {stem: s.text for stem, s in corpus().items()}
    say(
        f"## Batch of synthetic reports at {LATENCY * 1000:.0f} ms per request "
        "(echo server in its own process)\n"
    )
    rows = []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        for level in CONCURRENCY_LEVELS:
            # enough reports that the last ones do not leave most workers idle: with 60 reports
            # at 64 the ideal would be below one report's own calls
            count = max(reports, per_slot * level)
            made = synthetic_reports(seeds, count)
            paths = write_reports(Path(tmp) / f"level-{level}", made)
            for workers in WORKERS_AT.get(level, (1,)):  # the same reports for each
                run = concurrency_run(paths, level, LATENCY, BATCH_CHUNK_SIZE, workers)
                rows.append([f"{level}", f"{workers}", f"{count}", f"{run.calls}",
                             f"{run.seconds:.2f} s", f"{run.ideal:.2f} s", f"{run.ratio:.2f}",
                             f"{run.cpu:.2f} s", f"{run.cpu_workers:.2f} s",
                             f"{run.failed}"])  # fmt: skip
    say(table(["concurrency", "workers", "reports", "calls", "wall time",
               "ideal = calls × latency ÷ concurrency", "wall ÷ ideal", "CPU, this process",
               "CPU, worker processes", "failed"], rows))  # fmt: skip
    say(
        f"\n- Label style (the default); chunk size {BATCH_CHUNK_SIZE}; cache off; "
        f"{per_slot} reports per request in flight at least; one call at a "
        "time within a report, "
        "`concurrency` reports at once (how `fazhi extract --concurrency` splits it for a batch); "
        "with 2 workers the reports run in two forked processes, half the concurrency in each "
        "(`fazhi extract --workers 2`), on the same reports as the 1-worker row above them. "
        "The replay server runs in a child process (it stands for a remote endpoint; in this "
        "process its threads would compete for the interpreter lock). 'CPU, this process' is "
        "the batch's own CPU time (with workers: the journal writer's): where one process's CPU "
        "nears the wall time, it is CPU-bound. "
        f"Load average at the start of the section: {load:.1f} on {cores()} cores.\n"
    )


def section_throughput(sources: dict[str, Source], repeat: int) -> None:
    big = Source(text=long_report("\n".join(s.text for s in sources.values()), min_chars=200_000))
    five = list(sources.values())
    pairs = [(gold(stem), source) for stem, source in sources.items()]
    big_pairs = [(Draft(figures=[f for d, _ in pairs for f in d.figures]), big)]
    rows = [
        rules_throughput("five eval reports", five, repeat),
        rules_throughput("five eval reports", five, repeat, new_sources=False),
        rules_throughput("one 200k-char report", [big], max(1, repeat // 2)),
        verify_throughput("five eval reports", pairs, repeat),
        verify_throughput("one 200k-char report", big_pairs, max(1, repeat // 2)),
    ]
    say("## Rules backend and verifier throughput\n")
    say(table(THROUGHPUT_HEADER, [r.cells() for r in rows]))
    say(
        "\n- Each run extracts new `Source` objects, as a batch does: the source's index is "
        "built in the run. '(index reused)' extracts the same objects again, whose index an "
        "earlier run built -- how this table measured before, and what its old 61.6 reports/s "
        "was."
    )
    say(
        "- The 200k-character report is the five reports repeated "
        f"({len(big.text):,} characters). Process peak resident size after this section: "
        f"{max_rss_mib():,.0f} MiB (includes the interpreter and everything run before).\n"
    )


def section_workers(count: int) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    runs = workers_runs(CORPUS, count, (1, 2))
    say(f"## Rules batch in worker processes ({count} reports, `--workers`)\n")
    say(table(WORKERS_HEADER, [r.cells(runs[0].seconds) for r in runs]))
    say(
        "\n- Each report a corpus report with a distinct last line; files read, cleaned, "
        "indexed, extracted, verified and journalled (`batch.run_batch`, as `fazhi extract DIR "
        "-o OUT.jsonl --backend rules --workers N`). One run each after a warm-up, "
        f"{cores()} cores, shared with whatever else runs on the machine (load average "
        f"{load:.1f} at the start).\n"
    )


def section_growth(
    sources: dict[str, Source], factors: tuple[int, ...], pad_lines: tuple[int, ...], repeat: int
) -> None:
    stem = "qingpu-2023"
    rows = growth(sources[stem], gold(stem), factors, repeat)
    say(f"## Cost growth with report length ({stem} repeated)\n")
    say(table(GROWTH_HEADER, growth_cells(rows)))
    say(
        "\n- `÷ 1×` is the time relative to the seed report; "
        "linear growth means it tracks `length ×`.\n"
    )
    say(f"### Blank filler in a scraped report ({stem})\n")
    say(table(PADDING_HEADER, padding_growth(sources[stem], pad_lines)))
    say()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer reports, repeats and lengths")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}"
    )
    parser.add_argument(
        "--reports-per-slot",
        type=int,
        default=REPORTS_PER_CALL_IN_FLIGHT,
        help=f"concurrency section: reports per request in flight, at least "
        f"(default {REPORTS_PER_CALL_IN_FLIGHT})",
    )
    args = parser.parse_args(argv)
    quiet_reask_logs()  # exhausted re-asks of the recorded answers are expected here
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    repeat = 3 if args.quick else 5
    command = ".venv/bin/python bench/run.py" + (" --quick" if args.quick else "")
    command += f" --only {args.only}" if args.only != ",".join(SECTIONS) else ""
    if args.reports_per_slot != REPORTS_PER_CALL_IN_FLIGHT:
        command += f" --reports-per-slot {args.reports_per_slot}"
    say(f"# fazhi bench ({time.strftime('%Y-%m-%d %H:%M')}, Python {platform.python_version()}, "
        f"{platform.machine()})\n\nReproduce: `{command}`\n")  # fmt: skip
    sources = corpus()
    started = time.perf_counter()
    if "tokens" in chosen:
        section_tokens(sources)
    if "cache" in chosen:
        section_cache(sources)
    if "concurrency" in chosen:
        section_concurrency(20 if args.quick else 60, args.reports_per_slot)
    if "throughput" in chosen:
        section_throughput(sources, repeat)
    if "workers" in chosen:
        section_workers(60 if args.quick else 200)
    if "growth" in chosen:
        quick = args.quick
        section_growth(
            sources,
            (1, 2, 4, 8) if quick else (1, 2, 4, 8, 16, 32),
            (0, 2, 4) if quick else (0, 5, 10, 20),
            repeat,
        )
    say(f"_Whole run: {time.perf_counter() - started:.0f} s._")


if __name__ == "__main__":
    main()
