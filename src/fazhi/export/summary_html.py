"""A batch at a glance: one self-contained HTML page (inline CSS, no script, nothing fetched).

What it shows, from the same tables ``fazhi panel`` writes:

- coverage: for each indicator (Chinese name beside its id, grouped as in the catalog) and each
  year, how many of that year's reports state it -- a heat map, darker is more -- and a ⚑ where
  a cell holds several values;
- the reports: status, locality and code, year, counts, and a link to each one's evidence view
  (``export/html_view``, written beside the page) where the source text is there;
- failed and partial reports with their error; the cells with several values and each report's
  conflicts, each linked to the first figure of the indicator in the evidence view.

Everything from a report is HTML-escaped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

from fazhi.catalog import Catalog, default_catalog
from fazhi.export.html_view import PALETTE, render_view, span_mismatches
from fazhi.export.panel import format_number, long_rows
from fazhi.export.tables import ReportEntry, Row

Links = Mapping[str, str]  # source sha256 -> href of the report's evidence view


def write_summary(
    entries: Sequence[ReportEntry], out: str | Path, catalog: Catalog | None = None
) -> tuple[Path, int]:
    """The summary page at ``out`` and, in ``OUT.reports/`` beside it, the evidence view of
    every report whose source text is there and fits its offsets; returns (page, views)."""
    out = Path(out)
    views_dir = out.with_name(f"{out.stem}.reports")
    links: dict[str, str] = {}
    for entry in entries:
        if entry.result is None or entry.text_path is None:
            continue
        text = entry.text_path.read_text(encoding="utf-8")
        if span_mismatches(entry.result, text):
            continue  # not the text these offsets index: no view rather than a wrong one
        views_dir.mkdir(parents=True, exist_ok=True)
        view = views_dir / f"{entry.sha256[:16]}.html"
        view.write_text(render_view(entry.result, text, catalog), encoding="utf-8")
        links[entry.sha256] = f"{views_dir.name}/{view.name}"
    long = long_rows(entries, catalog)
    title = f"fazhi batch: {out.stem}"
    out.write_text(render_summary(entries, long, links, title, catalog), encoding="utf-8")
    return out, len(links)


def render_summary(
    entries: Sequence[ReportEntry],
    long: Sequence[Row],
    links: Links,
    title: str = "fazhi batch",
    catalog: Catalog | None = None,
) -> str:
    catalog = catalog or default_catalog()
    parts = [
        "<!doctype html><html lang=zh><head><meta charset=utf-8>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1>{_totals(entries)}</header>",
        _problems(entries, links),
        '<div class="cols"><div>',
        _coverage(entries, long, catalog),
        "</div><div>",
        _reports(entries, links),
        _multi_valued(long, links, entries, catalog),
        "</div></div></body></html>",
    ]
    return "\n".join(parts)


def _totals(entries: Sequence[ReportEntry]) -> str:
    statuses: dict[str, int] = defaultdict(int)
    for entry in entries:
        statuses[_status(entry)] += 1
    results = [e.result for e in entries if e.result is not None]
    facts = [f"{len(entries)} reports"]
    facts += [f"{n} {s}" for s, n in sorted(statuses.items())]
    facts.append(f"{sum(len(r.figures) for r in results)} figures")
    facts.append(f"{sum(len(r.rejected) for r in results)} rejected proposals")
    facts.append(f"{sum(len(r.conflicts) for r in results)} conflicts")
    coded = sum(1 for e in entries if e.locality.adcode)
    facts.append(f"{coded} of {len(entries)} with an administrative code")
    return f'<p class="facts">{escape(" · ".join(facts))}</p>'


def _status(entry: ReportEntry) -> str:
    status = getattr(entry.result, "status", None)  # Result.status, where it exists
    if isinstance(status, str):
        return status
    return entry.record.status if entry.record else "complete"


def _coverage(entries: Sequence[ReportEntry], long: Sequence[Row], catalog: Catalog) -> str:
    """Indicator x year: reports stating it / reports of that year, shaded by the share."""
    per_year: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        if entry.result is not None:
            per_year[_year(entry.year)].add(entry.sha256 or entry.source)
    years = sorted(per_year, key=lambda y: (y == "no year", y))
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    multi: set[tuple[str, str]] = set()
    for row in long:
        key = (row["indicator"], _year(row["year"]))
        found[key].add(row["source_sha256"] or row["source"])
        if row["cell_values"] > 1:
            multi.add(key)
    head = "".join(f"<th>{escape(y)}<br><small>{len(per_year[y])}</small></th>" for y in years)
    rows = []
    for g_index, (group, ids) in enumerate(catalog.groups.items()):
        colour = PALETTE[g_index % len(PALETTE)]
        rows.append(f'<tr class="group"><th colspan="{len(years) + 2}">{escape(group)}</th></tr>')
        for indicator in ids:
            name = catalog.indicators[indicator].name
            cells = [
                _cell(found[(indicator, y)], per_year[y], (indicator, y) in multi) for y in years
            ]
            total = len(set().union(*(found[(indicator, y)] for y in years)))
            all_reports = sum(len(per_year[y]) for y in years)
            rows.append(
                f'<tr><th class="ind" style="border-left:6px solid {colour}">'
                f"{escape(name)}<br><code>{escape(indicator)}</code></th>"
                f'{"".join(cells)}<td class="bar">{_bar(total, all_reports)}</td></tr>'
            )
    return (
        "<section><h2>Coverage: reports stating each indicator, by year</h2>"
        '<p class="note">k/n: k of the n reports of that year state it; ⚑ a cell with several '
        "values (see below).</p>"
        f'<div class="scroll"><table class="heat"><thead><tr><th>indicator</th>{head}'
        f"<th>all years</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _cell(found: set[str], reports: set[str], multi: bool) -> str:
    share = len(found) / len(reports) if reports else 0.0
    style = f"background:rgba(31,119,180,{0.08 + 0.8 * share:.2f})" if found else ""
    dark = " dark" if share > 0.55 else ""
    flag = '<span class="flag" title="several values">⚑</span>' if multi else ""
    text = f"{len(found)}/{len(reports)}" if found else "·"
    return f'<td class="c{dark}" style="{style}">{text}{flag}</td>'


def _bar(count: int, total: int) -> str:
    width = 80 * count / total if total else 0
    return f'<span class="b" style="width:{width:.0f}px"></span><span>{count}/{total}</span>'


def _problems(entries: Sequence[ReportEntry], links: Links) -> str:
    bad = [e for e in entries if _status(e) != "complete"]
    if not bad:
        return "<section><h2>Failed and partial reports</h2><p>None.</p></section>"
    items = "".join(
        f"<li><b>{escape(_status(e))}</b> {_report_link(e, links)}: "
        f"{escape((e.record.error if e.record else None) or '')}</li>"
        for e in bad
    )
    return f"<section><h2>Failed and partial reports</h2><ul>{items}</ul></section>"


def _multi_valued(
    long: Sequence[Row], links: Links, entries: Sequence[ReportEntry], catalog: Catalog
) -> str:
    by_sha = {e.sha256: e for e in entries}
    cells: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for row in long:
        if row["cell_values"] > 1:
            cells[(row["panel_key"], _year(row["year"]), row["indicator"])].append(row)
    items = []
    for (_key, year, indicator), rows in cells.items():
        values = ", ".join(
            format_number(r["value"]) + (f" ({escape(r['scope'])})" if r["scope"] else "")
            for r in rows
        )
        entry = by_sha.get(rows[0]["source_sha256"])
        label = entry.locality.region_name if entry else None
        where = _report_link(entry, links, _first_figure(entry, indicator), label) if entry else ""
        chosen = next((r for r in rows if r["chosen"]), None)
        verdict = f"chosen {format_number(chosen['value'])}" if chosen else "none chosen"
        name = catalog.indicators[indicator].name if indicator in catalog.indicators else ""
        items.append(
            f"<tr><td>{where}</td><td>{escape(year)}</td><td>{escape(name)}<br>"
            f"<code>{escape(indicator)}</code></td><td>{values}</td><td>{verdict}</td></tr>"
        )
    body = "".join(items) or '<tr><td colspan="5">None.</td></tr>'
    return (
        f"<section><h2>Cells with several values ({len(cells)})</h2>"
        '<div class="scroll"><table class="list"><thead><tr><th>report</th><th>year</th>'
        f"<th>indicator</th><th>values (scope)</th><th>panel</th></tr></thead><tbody>{body}"
        "</tbody></table></div></section>"
    )


def _first_figure(entry: ReportEntry | None, indicator: str) -> int | None:
    if entry is None or entry.result is None:
        return None
    return next((i for i, f in enumerate(entry.result.figures) if f.indicator == indicator), None)


def _reports(entries: Sequence[ReportEntry], links: Links) -> str:
    rows = []
    for entry in sorted(entries, key=lambda e: (e.locality.region_name or "", e.year or 0)):
        result, loc = entry.result, entry.locality
        counts = (
            (len(result.figures), len(result.rejected), len(result.conflicts))
            if result
            else ("", "", "")
        )
        locality = escape(loc.region_name or loc.region or "—")
        code = escape(loc.adcode or f"no code ({loc.status})")
        rows.append(
            f"<tr><td>{_report_link(entry, links)}</td><td>{escape(_status(entry))}</td>"
            f"<td>{locality}<br><small>{code}</small></td><td>{escape(_year(entry.year))}</td>"
            + "".join(f'<td class="n">{c}</td>' for c in counts)
            + "</tr>"
        )
    return (
        "<section><h2>Reports</h2>"
        '<div class="scroll"><table class="list"><thead><tr><th>report</th><th>status</th>'
        '<th>locality</th><th>year</th><th title="accepted figures">fig.</th>'
        '<th title="rejected proposals">rej.</th><th title="conflicts">conf.</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _report_link(
    entry: ReportEntry, links: Links, figure: int | None = None, label: str | None = None
) -> str:
    name = escape(label or Path(entry.source).stem)
    href = links.get(entry.sha256)
    if href is None:
        return f'<span title="no source text: no evidence view">{name}</span>'
    anchor = f"#f{figure}" if figure is not None else ""
    return f'<a href="{escape(href + anchor)}">{name}</a>'


def _year(year: int | None) -> str:
    return str(year) if year is not None else "no year"


_CSS = """
body{font:15px/1.45 system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:0 auto;
max-width:1600px;padding:12px 16px;color:#222}
@media (min-width:1000px){.cols{display:grid;grid-template-columns:auto minmax(0,1fr);gap:28px}}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;margin:22px 0 6px}
.facts,.note{color:#555;margin:4px 0}.scroll{overflow-x:auto}
table{border-collapse:collapse}th,td{padding:3px 6px;border-bottom:1px solid #e4e4e4}
.heat th.ind{text-align:left;font-weight:500;position:sticky;left:0;background:#fff;min-width:150px}
.heat code,.list code{font-size:11px;color:#777}
.heat td.c{text-align:center;min-width:44px;font-size:13px}.heat td.dark{color:#fff}
.heat tr.group th{text-align:left;background:#f4f4f4;font-size:13px;color:#444}
.flag{color:#d35400;font-weight:700;margin-left:2px}.heat td.dark .flag{color:#ffd08a}
td.bar{min-width:120px;position:relative;font-size:12px}
td.bar .b{display:inline-block;height:10px;background:#1f77b4;margin-right:4px;
vertical-align:middle}
.list{font-size:13px}.list td.n{text-align:right}a{color:#1a5fb4}
@media (max-width:600px){body{padding:8px;font-size:14px}td.bar{min-width:80px}
.heat th.ind{min-width:150px;font-size:12px}.heat code{font-size:10px;overflow-wrap:anywhere}
.heat td.c{min-width:36px;font-size:12px}}
"""
