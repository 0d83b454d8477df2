"""Write ``cassettes/synthetic/capable-<report>.yaml``: label-style answers MADE BY THIS SCRIPT
FROM THE GOLD LABELS, with seeded perturbations -- a stand-in for a capable model. NO MODEL ran.

Why: the dev set has no model runs, and the only real recordings (Qwen2.5-Coder-1.5B) fail so
often that hybrid just falls back to the rules. To see whether hybrid's policy combines two
labellers well when the model is good but not perfect, the model's side is written here from
the gold with errors of the kinds a capable model makes, at stated rates, seeded:

- ``--miss`` (default 0.10): each gold figure's candidate is left unlabelled with this chance
  (and each gold shortcoming / plan left out with the same chance);
- ``--confuse`` (default 0.10): each labelled gold figure gets another indicator of the same
  catalog group and kind with this chance (受理 read as 收到, 胜诉 as 审结 ...);
- ``--plant`` (default 1): per report, this many candidates the gold does not label are given
  the indicator of a gold figure in the same sentence (a multi-year total, a last-year
  comparison or a breakdown read as the year's count: the mistake the labelling conventions
  warn about). Only numbers with a unit or a percent sign are planted; where none stands beside
  a gold figure, one from anywhere in the report.

Scopes and meta are the gold's (a meta field only where the request shows its value). Usage in
the answers is ESTIMATED (``fazhi.text.estimate_tokens`` of the request and the answer), not
counted by a tokenizer or a server.
The answers are served by a loopback stub (``tests/llm_stub.py``) and recorded through the
real client stack with the same backend options ``fazhi eval`` uses, so the request bodies are
exactly what ``fazhi eval --replay`` sends:

    .venv/bin/python scripts/make_label_answers.py       # every labelled set, seed 14
    fazhi eval --backend rules,llm,hybrid --model synthetic-capable \\
        --base-url http://127.0.0.1:18797/v1 --replay cassettes/synthetic/capable

Re-run after any change to ``prompts/label.*``, the catalog or the label view (replay matches on
the request body). The answers it gives depend only on gold, source and seed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.llm_stub

from tests.llm_stub import completion, reply, running_stub  # noqa: E402

from fazhi.backends.label_view import is_candidate  # noqa: E402
from fazhi.catalog import Catalog, default_catalog  # noqa: E402
from fazhi.index import SourceIndex, index_of  # noqa: E402
from fazhi.ingest import read_source  # noqa: E402
from fazhi.model import GoldFigure, GoldReport, GoldText, Meta, Source  # noqa: E402
from fazhi.numbers import values_equal  # noqa: E402
from fazhi.text import estimate_tokens  # noqa: E402
from fazhi.verify import check_meta  # noqa: E402

MODEL = "synthetic-capable"
PORT = 18797  # fixed: the recorded URL must be the one eval replays against
BASE_URL = f"http://127.0.0.1:{PORT}/v1"
OUT = ROOT / "cassettes" / "synthetic"
PREFIX = "capable"
SETS = {"seeds": (ROOT / "evals" / "gold", ROOT / "evals" / "corpus")} | {
    name: (ROOT / "evals" / name / "gold", ROOT / "evals" / name / "corpus")
    for name in ("dev", "heldout", "heldout-after", "heldout-final")
}
_IDS = re.compile(r"\[([ns]\d+)\]")


@dataclass(frozen=True)
class Perturbation:
    miss: float = 0.10
    confuse: float = 0.10
    plant: int = 1
    seed: int = 14


@dataclass
class Planned:
    """What the stand-in answers for one report: labels per candidate id, text sentence ranges."""

    figures: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    text: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # what -> sentence ks
    meta: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)  # every perturbation applied, for the README


def locate(text: str, quote: str) -> tuple[int, int] | None:
    """The quote's span in the source, exactly or across whitespace the gold left out."""
    at = text.find(quote)
    if at >= 0:
        return at, at + len(quote)
    squeezed = "".join(quote.split())
    if not squeezed:
        return None
    found = re.search(r"\s*".join(map(re.escape, squeezed)), text)
    return (found.start(), found.end()) if found else None


def candidate_of(index: SourceIndex, text: str, figure: GoldFigure) -> int | None:
    """The number ``k`` of the source index the gold figure labels (in its quote, same value)."""
    span = locate(text, figure.quote)
    if span is None:
        return None
    hits = [
        k
        for k in index.numbers_starting_in(*span)
        if values_equal(index.number(k).value, figure.value)
    ]
    same_raw = [k for k in hits if index.number(k).raw == figure.raw]
    return next(iter(same_raw + hits), None)


def sentences_of(index: SourceIndex, text: str, item: GoldText) -> tuple[int, int] | None:
    span = locate(text, item.quote)
    if span is None:
        return None
    ks = index.sentences_between(*span)
    return (ks[0], ks[-1]) if len(ks) else None


def plan(
    gold: GoldReport, source: Source, catalog: Catalog, how: Perturbation, stem: str
) -> Planned:
    """The labels the stand-in gives for one report (deterministic in gold, source and seed)."""
    rng = random.Random(f"{how.seed}:{stem}")
    index, text = index_of(source), source.text
    planned = Planned(meta=gold.meta.model_dump(mode="json"))
    gold_ks: dict[int, GoldFigure] = {}
    for figure in gold.figures:
        k = candidate_of(index, text, figure)
        if k is None:
            planned.log.append(f"gold {figure.indicator}={figure.raw}: no candidate, not labelled")
        elif k not in gold_ks:
            gold_ks[k] = figure
    for k, figure in sorted(gold_ks.items()):
        indicator = figure.indicator
        if rng.random() < how.miss:
            planned.log.append(f"missed n{k} {indicator}={figure.raw}")
            continue
        if rng.random() < how.confuse:
            group = catalog.groups.get(catalog.group_of(indicator), ())
            kind = catalog.indicators[indicator].kind  # a count stays a count, a rate a rate
            others = [i for i in group if i != indicator and catalog.indicators[i].kind == kind]
            if others:
                wrong = rng.choice(others)
                planned.log.append(f"confused n{k} {indicator}={figure.raw} as {wrong}")
                indicator = wrong
        planned.figures[f"n{k}"] = (indicator, figure.scope)
    _plant(planned, index, gold_ks, how, rng)
    for what in ("shortcomings", "plans"):
        ranges = []
        for item in getattr(gold, what):
            found = sentences_of(index, text, item)
            if found is None or rng.random() < how.miss:
                planned.log.append(f"left out a {what[:-1]}: {item.quote[:16]}…")
                continue
            ranges.append(found)
        planned.text[what] = ranges
    return planned


def _plant(
    planned: Planned,
    index: SourceIndex,
    gold_ks: dict[int, GoldFigure],
    how: Perturbation,
    rng: random.Random,
) -> None:
    """Label non-gold numbers beside a gold one with that gold figure's indicator."""
    by_sentence: dict[int, GoldFigure] = {index.sentence_at(index.number(k).start): f
                                      for k, f in gold_ks.items()}  # fmt: skip
    text = index.text
    free = [
        k
        for k in range(index.number_count)
        if k not in gold_ks
        and is_candidate(index.candidate(k), text)
        and (index.number(k).unit or index.number(k).percent)  # a count or a rate, as figures are
    ]
    beside = [k for k in free if index.sentence_at(index.number(k).start) in by_sentence]
    for _ in range(how.plant):
        pool = beside or free
        if not pool or not gold_ks:
            return
        k = rng.choice(pool)
        pool.remove(k)
        near = by_sentence.get(index.sentence_at(index.number(k).start))
        figure = near or rng.choice(list(gold_ks.values()))
        planned.figures[f"n{k}"] = (figure.indicator, figure.scope)
        planned.log.append(f"planted n{k} ({index.number(k).raw}) as {figure.indicator}")


def answer_for(planned: Planned, body: dict) -> dict:
    """The label answer to one request: only the ids it shows."""
    users = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
    shown = set(_IDS.findall(users[0] if users else ""))
    figures = {cid: list(label) for cid, label in planned.figures.items() if cid in shown}
    out: dict[str, Any] = {"figures": figures}
    for what, ranges in planned.text.items():
        entries = []
        for first, last in ranges:
            ks = [k for k in range(first, last + 1) if f"s{k}" in shown]
            if ks:
                entries.append(f"s{ks[0]}" if ks[0] == ks[-1] else f"s{ks[0]}-s{ks[-1]}")
        out[what] = entries
    # A model can only copy what the request shows: a field whose value is not in it is null.
    shown_text = users[0] if users else ""
    out["meta"] = {
        name: value if value is not None and not check_meta(Meta(**{name: value}), shown_text)[1]
        else None
        for name, value in planned.meta.items()
    }  # fmt: skip
    return out


def _responder(state: dict[str, Planned]):
    def respond(body: dict) -> tuple:
        data = answer_for(state["now"], body)
        content = json.dumps(data, ensure_ascii=False)
        asked = "".join(str(m.get("content", "")) for m in body.get("messages", []))
        usage = {
            "prompt_tokens": estimate_tokens(asked),
            "completion_tokens": estimate_tokens(content),
        }
        return reply(200, completion(content, **usage))

    return respond


def record(sets: list[str], how: Perturbation) -> list[str]:
    from fazhi.cli.backends import LLMOptions, make_backend
    from fazhi.llm.recording import use_cassette
    from fazhi.pipeline import extract_file

    catalog = default_catalog()
    # exactly the options fazhi eval builds for a replay (cli/eval_cmd._extract_all)
    backend = make_backend("llm", LLMOptions(model=MODEL, base_url=BASE_URL, use_cache=False))
    state: dict[str, Planned] = {}
    logs = []
    with running_stub([], port=PORT) as stub:
        stub.responder = _responder(state)
        for name in sets:
            gold_dir, corpus = SETS[name]
            for path in sorted(gold_dir.glob("*.json")):
                stem = path.stem
                gold = GoldReport.model_validate_json(path.read_bytes())
                report = next(iter(sorted(corpus.glob(f"{stem}.*"))))
                source = read_source(report)
                state["now"] = planned = plan(gold, source, catalog, how, stem)
                cassette = OUT / f"{PREFIX}-{stem}.yaml"
                cassette.unlink(missing_ok=True)
                with use_cassette(cassette, record_mode="all"):
                    extract_file(report, backend)
                logs.append(f"{name} {stem}: " + "; ".join(planned.log or ["no perturbation"]))
    return logs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--miss", type=float, default=Perturbation.miss)
    parser.add_argument("--confuse", type=float, default=Perturbation.confuse)
    parser.add_argument("--plant", type=int, default=Perturbation.plant)
    parser.add_argument("--seed", type=int, default=Perturbation.seed)
    args = parser.parse_args()
    how = Perturbation(args.miss, args.confuse, args.plant, args.seed)
    OUT.mkdir(parents=True, exist_ok=True)
    for line in record(args.sets.split(","), how):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
