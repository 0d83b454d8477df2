"""A result shown on its source text: one self-contained HTML page (inline CSS and JS, no network).

Every accepted figure is highlighted at its ``span`` in the colour of its indicator group, with
the printed number (``raw_span``) in bold; shortcomings and plan items are underlined; hovering
shows indicator, value and scope. Beside the text: the table of figures; below it: every
rejected proposal with its reason, conflicts and chunk errors. Everything from the report or the
model is HTML-escaped.

Highlights are flat: the text is cut at every span boundary and each piece is one ``<span>``
listing every item that covers it (``data-f``, ``data-r``, ``data-s``, ``data-p`` hold figure,
raw, shortcoming and plan indices), so overlapping spans need no nesting and the pieces marked
with figure ``i`` read back exactly as its quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from fazhi.catalog import Catalog, default_catalog
from fazhi.model import Figure, Result

# Light, mutually distinct backgrounds; the raw number inside is bold on top of them.
PALETTE = (
    "#ffe08a",
    "#b8e0a8",
    "#a8d8f0",
    "#f5b7c5",
    "#d5c4f0",
    "#ffc9a0",
    "#a8e6dc",
    "#e3dc8c",
    "#c9d6a3",
    "#f0c0e8",
    "#c4d0e0",
    "#f2d0b0",
)
_KINDS = (("f", "figure"), ("r", "raw"), ("s", "shortcoming"), ("p", "plan"))


@dataclass(frozen=True)
class _Mark:
    start: int
    end: int
    kind: str  # one of the keys of _KINDS
    index: int


def span_mismatches(result: Result, text: str) -> list[str]:
    """Figures and text items whose span does not cut their quote out of ``text`` (one line each).

    Empty means ``text`` is the text the result's offsets refer to.
    """
    problems = []
    items = [("figure", i, f.span, f.quote) for i, f in enumerate(result.figures)]
    items += [("shortcoming", i, t.span, t.quote) for i, t in enumerate(result.shortcomings)]
    items += [("plan", i, t.span, t.quote) for i, t in enumerate(result.plans)]
    for what, index, span, quote in items:
        if span is not None and text[span[0] : span[1]] != quote:
            problems.append(
                f"{what} {index}: text at {span[0]}-{span[1]} is not its quote {quote!r}"
            )
    return problems


def render_view(result: Result, text: str, catalog: Catalog | None = None) -> str:
    """The whole page as a string."""
    catalog = catalog or default_catalog()
    colours = {group: PALETTE[i % len(PALETTE)] for i, group in enumerate(catalog.groups)}
    title = Path(result.source).name or "fazhi result"
    parts = [
        '<!doctype html>\n<html lang="zh"><head><meta charset="utf-8">',
        f"<title>{escape(title)} · fazhi</title><style>{_css(colours)}</style></head><body>",
        _header(result, title),
        _legend(result, catalog, colours),
        '<main><div id="text" class="text">',
        highlight(result, text, catalog),
        "</div><aside>",
        _figure_table(result, catalog),
        _rejected_table(result),
        _conflicts(result),
        "</aside></main>",
        f"<script>{_JS}</script></body></html>\n",
    ]
    return "".join(parts)


def highlight(result: Result, text: str, catalog: Catalog) -> str:
    """``text`` as escaped HTML with a ``<span>`` on every piece covered by an item."""
    marks = _marks(result, len(text))
    cuts = sorted({0, len(text), *(m.start for m in marks), *(m.end for m in marks)})
    out: list[str] = []
    opened: set[tuple[str, int]] = set()
    for start, end in zip(cuts, cuts[1:], strict=False):
        covering = [m for m in marks if m.start <= start and end <= m.end]
        piece = escape(text[start:end])
        if not covering:
            out.append(piece)
            continue
        for mark in covering:  # an anchor where each item begins, for the table's links
            if (mark.kind, mark.index) not in opened and mark.kind != "r":
                opened.add((mark.kind, mark.index))
                out.append(f'<a id="{mark.kind}{mark.index}"></a>')
        out.append(_piece(piece, covering, result, catalog))
    return "".join(out)


def _marks(result: Result, length: int) -> list[_Mark]:
    marks = []
    for i, figure in enumerate(result.figures):
        marks.append(_mark(figure.span, "f", i, length))
        marks.append(_mark(figure.raw_span, "r", i, length))
    marks += [_mark(t.span, "s", i, length) for i, t in enumerate(result.shortcomings)]
    marks += [_mark(t.span, "p", i, length) for i, t in enumerate(result.plans)]
    return [m for m in marks if m is not None]


def _mark(span: tuple[int, int] | None, kind: str, index: int, length: int) -> _Mark | None:
    if span is None or not 0 <= span[0] < span[1] <= length:
        return None
    return _Mark(span[0], span[1], kind, index)


def _piece(piece: str, covering: list[_Mark], result: Result, catalog: Catalog) -> str:
    by_kind = {key: [m.index for m in covering if m.kind == key] for key, _ in _KINDS}
    classes = ["hl"]
    if by_kind["f"]:
        first = result.figures[by_kind["f"][0]]
        classes += ["fig", _group_class(first.indicator, catalog)]
        classes += ["multi"] if len(by_kind["f"]) > 1 else []
    classes += ["raw"] if by_kind["r"] else []
    classes += ["sc"] if by_kind["s"] else []
    classes += ["pl"] if by_kind["p"] else []
    data = "".join(
        f' data-{key}="{" ".join(map(str, ids))}"' for key, ids in by_kind.items() if ids
    )
    tips = [_figure_tip(result.figures[i], catalog) for i in by_kind["f"]]
    tips += [f"shortcoming {i + 1}" for i in by_kind["s"]] + [f"plan {i + 1}" for i in by_kind["p"]]
    title = escape("\n".join(tips), quote=True).replace("\n", "&#10;")
    return f'<span class="{" ".join(classes)}"{data} title="{title}">{piece}</span>'


def _group_class(indicator: str, catalog: Catalog) -> str:
    groups = list(catalog.groups)
    group = catalog.indicators[indicator].group if indicator in catalog else None
    return f"g{groups.index(group)}" if group in groups else "gx"


def _figure_tip(figure: Figure, catalog: Catalog) -> str:
    indicator = catalog.indicators.get(figure.indicator)
    name = f" {indicator.name}" if indicator else ""
    approx = " (approx.)" if figure.approx else ""
    return (
        f"{figure.indicator}{name}\n= {format_value(figure, catalog)}{approx}"
        f"\nscope: {figure.scope or '—'}\nraw: {figure.raw}"
        f"\nconfidence: {_confidence(figure)} · sources: {'+'.join(figure.sources) or '—'}"
        + "".join(f"\nreview: {reason}" for reason in figure.review)
    )


def _confidence(figure: Figure) -> str:
    return "—" if figure.confidence is None else f"{figure.confidence:.2f}"


def format_value(figure: Figure, catalog: Catalog) -> str:
    """The value as a reader expects it: ``169``, ``40.8%``, ``21,930,000 元``."""
    value = figure.value
    shown = f"{int(value):,}" if float(value).is_integer() else f"{value:,}"
    kind = catalog.indicators[figure.indicator].kind if figure.indicator in catalog else "count"
    return {"percent": f"{shown}%", "money": f"{shown} 元"}.get(kind, shown)


def _header(result: Result, title: str) -> str:
    meta = result.meta
    facts = [meta.region, str(meta.year) if meta.year else None, meta.issuer, meta.published]
    run = [
        result.backend,
        result.model,
        f"prompt {result.prompt_version}" if result.prompt_version else None,
    ]
    counts = (
        f"{len(result.figures)} figures · {len(result.shortcomings)} shortcomings · "
        f"{len(result.plans)} plans · {len(result.rejected)} rejected · "
        f"{len(result.conflicts)} conflicts · {result.chunks} chunks"
    )
    warn = "" if result.verified else '<p class="warn">This result was not verified.</p>'
    errors = "".join(f'<p class="warn">chunk error: {escape(e)}</p>' for e in result.chunk_errors)
    return (
        f"<header><h1>{escape(title)}</h1>"
        f'<p class="meta">{escape(" · ".join(f for f in facts if f) or "no metadata")}</p>'
        f'<p class="run">{escape(" · ".join(r for r in run if r))} — {counts}</p>'
        f"{warn}{errors}</header>"
    )


def _legend(result: Result, catalog: Catalog, colours: dict[str, str]) -> str:
    used = {catalog.indicators[f.indicator].group for f in result.figures if f.indicator in catalog}
    chips = [
        f'<span class="chip" style="background:{colours[g]}">{escape(g)}</span>'
        for g in catalog.groups
        if g in used
    ]
    chips += [
        '<span class="chip"><b>bold</b>: the number as printed</span>',
        '<span class="chip sc">shortcoming</span>',
        '<span class="chip pl">plan</span>',
    ]
    return f'<nav class="legend">{"".join(chips)}</nav>'


def _figure_table(result: Result, catalog: Catalog) -> str:
    rows = []
    for i, figure in enumerate(result.figures):
        link = f'<a href="#f{i}">{i + 1}</a>' if figure.span else f"{i + 1}"
        rows.append(
            f'<tr data-f="{i}"><td>{link}</td>'
            f'<td class="{_group_class(figure.indicator, catalog)}">{escape(figure.indicator)}</td>'
            f'<td class="num">{"≈" if figure.approx else ""}'
            f"{escape(format_value(figure, catalog))}</td>"
            f"<td>{escape(figure.scope or '')}</td>"
            f'<td class="num">{_confidence(figure)}</td>'
            f"<td>{escape('+'.join(figure.sources))}</td>"
            f"<td>{escape(' | '.join(figure.review))}</td></tr>"
        )
    body = "".join(rows) or '<tr><td colspan="7">no figures</td></tr>'
    return (
        f'<h2>Figures ({len(result.figures)})</h2><table class="figs">'
        "<tr><th>#</th><th>indicator</th><th>value</th><th>scope</th><th>confidence</th>"
        f"<th>sources</th><th>review</th></tr>{body}</table>"
    )


def _rejected_table(result: Result) -> str:
    rows = []
    for rejection in result.rejected:
        item = rejection.item
        proposed = " · ".join(
            f"{key}: {item[key]}"
            for key in ("indicator", "value", "raw", "quote")
            if item.get(key) is not None
        )
        rows.append(
            f"<tr><td>{escape(rejection.what)}</td><td><code>{escape(rejection.code)}</code></td>"
            f"<td>{escape(rejection.reason)}</td><td>{escape(proposed)}</td></tr>"
        )
    if not rows:
        return "<section><h2>Rejected (0)</h2><p>Nothing was rejected.</p></section>"
    return (
        f'<section><h2>Rejected ({len(rows)})</h2><table class="rej"><tr><th>what</th>'
        f"<th>code</th><th>reason</th><th>proposed</th></tr>{''.join(rows)}</table></section>"
    )


def _conflicts(result: Result) -> str:
    if not result.conflicts:
        return ""
    items = "".join(
        f"<li><code>{escape(c.indicator)}</code> {escape(c.scope or '')}: "
        f"{escape(', '.join(str(v) for v in c.values))}</li>"
        for c in result.conflicts
    )
    return f"<section><h2>Conflicts ({len(result.conflicts)})</h2><ul>{items}</ul></section>"


def _css(colours: dict[str, str]) -> str:
    groups = "".join(f".g{i}{{background:{c}}}" for i, c in enumerate(colours.values()))
    return _CSS + groups


_CSS = """
html,body{height:100%}
body{font:15px/1.7 "Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
"WenQuanYi Zen Hei",sans-serif;margin:0;color:#222;background:#fafafa;
display:flex;flex-direction:column}
header,nav{padding:0 20px}header h1{font-size:20px;margin:10px 0 0}
.meta,.run{margin:2px 0;color:#555}.warn{color:#b03a2e;margin:2px 0}
.legend{display:flex;flex-wrap:wrap;gap:6px;padding:6px 20px 10px}
.chip{padding:0 8px;border-radius:4px;font-size:13px;border:1px solid #ddd}
main{flex:1;min-height:0;display:grid;grid-template-columns:minmax(0,1fr) 460px;gap:16px;
padding:0 20px 12px}
.text{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:12px 16px;overflow:auto}
aside{overflow:auto}aside h2{margin:0 0 4px}aside section{margin-top:16px}
h2{font-size:16px}table{border-collapse:collapse;font-size:13px;width:100%}
td,th{border-bottom:1px solid #e4e4e4;padding:2px 6px;text-align:left;vertical-align:top}
td.num{text-align:right;white-space:nowrap}
.hl.fig{border-radius:3px;padding:1px 0}.hl.multi{outline:1px solid #888}
.hl.raw{font-weight:700;text-decoration:underline 2px;text-underline-offset:3px}
.sc{text-decoration:underline wavy #c0392b;text-underline-offset:4px}
.hl.sc:not(.fig){background:#fdecea}.pl{border-bottom:2px solid #2e86c1}
.hl.pl:not(.fig){background:#eaf2fb}
.gx{background:#ddd}.focus{outline:2px solid #d35400!important}
tr.focus td{background:#fff3e0}
@media print{html,body{height:auto;display:block}main{display:block}.text,aside{overflow:visible}}
"""

# Hovering a table row marks its pieces in the text and the other way round; a click scrolls.
_JS = """
function pieces(i){return document.querySelectorAll('#text [data-f~="'+i+'"]');}
function mark(i,on){pieces(i).forEach(e=>e.classList.toggle('focus',on));
document.querySelectorAll('tr[data-f="'+i+'"]').forEach(e=>e.classList.toggle('focus',on));}
document.querySelectorAll('tr[data-f]').forEach(r=>{const i=r.dataset.f;
r.addEventListener('mouseenter',()=>mark(i,true));r.addEventListener('mouseleave',()=>mark(i,false));
r.addEventListener('click',()=>{const p=pieces(i);
if(p.length)p[0].scrollIntoView({block:'center'});});});
document.querySelectorAll('#text [data-f]').forEach(e=>{const ids=e.dataset.f.split(' ');
e.addEventListener('mouseenter',()=>ids.forEach(i=>mark(i,true)));
e.addEventListener('mouseleave',()=>ids.forEach(i=>mark(i,false)));});
"""
