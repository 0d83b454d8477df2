"""Loading ``schemas/rules.yaml``: the trigger phrases of the rules backend, validated
against the indicator catalog and compiled once."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fazhi.backends.rules_meta import MetaRules
from fazhi.backends.rules_quantities import QuantityRules
from fazhi.backends.rules_sections import SectionRules
from fazhi.catalog import Catalog
from fazhi.errors import FazhiError
from fazhi.resources import data_file


class RulesError(FazhiError, ValueError):
    """``rules.yaml`` is malformed or names an indicator the catalog lacks."""


@dataclass(frozen=True)
class IndicatorRule:
    indicator: str
    kind: str
    near: tuple[re.Pattern[str], ...]
    context: tuple[re.Pattern[str], ...]
    units: frozenset[str]
    # all near phrases as one pattern: where it finds nothing in a window, none of them is
    # there (None when a phrase looks past its match, which a wider window could change)
    near_any: re.Pattern[str] | None = None


KIND_FORMS = {"count": ("count", "zero"), "percent": ("percent",), "money": ("money",)}


@dataclass(frozen=True)
class Rules:
    indicators: tuple[IndicatorRule, ...]
    quantity: QuantityRules
    blockers: re.Pattern[str]
    counted_elsewhere: re.Pattern[str]
    breakdown: re.Pattern[str]
    rate_words: re.Pattern[str]
    rate_of: dict[str, str]
    scopes: tuple[str, ...]  # templates: {region} is filled per report
    topics: frozenset[str]  # context phrases that carry over the sentences of a paragraph
    bare_labels: re.Pattern[str]  # a clause before a number that only labels it
    meta: MetaRules
    sections: SectionRules
    _by_quantity: dict[tuple[str, str | None], RulesFor] = field(
        default_factory=dict, compare=False, repr=False
    )

    def indicators_for(self, form: str, unit: str | None) -> RulesFor:
        """The indicator rules a quantity of this form and measure word can be read as, in
        file order, and all their near phrases as one filter (made once per form and unit,
        not per number)."""
        key = (form, unit)
        if key not in self._by_quantity:
            rules = tuple(
                rule
                for rule in self.indicators
                if form in KIND_FORMS[rule.kind] and (form != "count" or unit in rule.units)
            )
            filters = [r.near_any.pattern if r.near_any else None for r in rules]
            near_any = None if None in filters else any_of([f for f in filters if f])
            self._by_quantity[key] = RulesFor(rules, near_any)
        return self._by_quantity[key]


@dataclass(frozen=True)
class RulesFor:
    """The indicator rules for one form and measure word (``Rules.indicators_for``)."""

    rules: tuple[IndicatorRule, ...]
    near_any: re.Pattern[str] | None  # None: no filter (a phrase looks ahead, or no rules)


# ``{gap:N}`` in a phrase: up to N characters of the same clause, a 《…》 title counting as
# one (``共审查《…》《…》等区规范性文件``: the verb is separated from its noun by names).
_GAP = re.compile(r"\{gap:(\d+)\}")


def _expand(phrase: str) -> str:
    return _GAP.sub(lambda m: rf"(?:《[^》\n]*》|[^，,；;。《\n]){{0,{m.group(1)}}}?", phrase)


def _compile(phrase: str) -> re.Pattern[str]:
    return re.compile(_expand(phrase))


def _alternation(phrases: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{_expand(p)})" for p in phrases) or r"(?!)")


# What lets a match depend on the text after it or on where the searched window ends (a look-
# ahead, an end anchor, a word boundary), or refers to a group by number or name (joined with
# other phrases, its groups would be numbered anew).
_NOT_COMBINABLE = re.compile(r"\(\?[=!]|\$|\\[bBZ1-9]|\(\?P=|\(\?\(")


def any_of(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """The patterns as one, a filter exact for windows: a pattern that matches inside a
    window matches inside any window around it (look-behinds see the text before a window's
    start anyway), so where the one finds nothing none of them would -- None for patterns
    that look past their match or refer to groups."""
    if not patterns or any(_NOT_COMBINABLE.search(p) for p in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns))
    except re.error:  # e.g. two phrases naming the same group
        return None


def parse_rules(data: object, catalog: Catalog) -> Rules:
    """Validate and compile the YAML structure of ``rules.yaml`` against ``catalog``."""
    if not isinstance(data, dict) or not isinstance(data.get("indicators"), dict):
        raise RulesError("rules file must be a mapping with an 'indicators' mapping")
    unknown = sorted(set(data["indicators"]) - set(catalog.ids))
    rate_of = dict(data.get("rate_of") or {})
    unknown += sorted({*rate_of, *rate_of.values()} - set(catalog.ids))
    if unknown:
        raise RulesError(f"rules name indicators the catalog lacks: {', '.join(unknown)}")
    try:
        count_units = frozenset(data["count_units"])
        indicators = tuple(
            IndicatorRule(
                indicator=ind_id,
                kind=catalog[ind_id].kind,
                near=tuple(_compile(p) for p in spec["near"]),
                near_any=any_of([_expand(p) for p in spec["near"]]),
                context=tuple(_compile(p) for p in spec.get("context") or ()),
                units=frozenset(spec.get("units") or count_units),
            )
            for ind_id, specs in data["indicators"].items()
            # one rule, or a list of alternative rules for the same indicator
            for spec in (specs if isinstance(specs, list) else [specs])
        )
        meta, sections = data["meta"], data["sections"]
        return Rules(
            indicators=indicators,
            quantity=_quantity_rules(data, indicators),
            blockers=_alternation(data["blockers"]),
            counted_elsewhere=_alternation(data["counted_elsewhere"]),
            breakdown=_alternation(data["breakdown_markers"]),
            rate_words=re.compile(
                rf"^\s*(?:{'|'.join(map(_expand, data['rate_words']))})\s*(?:为|达|达到)?\s*$"
            ),
            rate_of=rate_of,
            scopes=tuple(data["scopes"]),
            topics=frozenset(data["topics"]),
            bare_labels=_alternation(data["bare_labels"]),
            meta=MetaRules(
                title=_alternation(meta["title"]),
                region_suffix=meta["region_suffix"],
                issuer_fields=tuple(meta["issuer_fields"]),
                issuer_body=meta["issuer_body"],
            ),
            sections=SectionRules(
                shortcomings=_alternation(sections["shortcomings"]),
                plans_heading=_alternation(sections["plans_heading"]),
                plans_opening=tuple(sections["plans_opening"]),
                aspects=re.compile(sections["aspects"]),
                purpose=_alternation(sections["purpose"]),
            ),
        )
    except (KeyError, TypeError, re.error) as exc:
        raise RulesError(f"malformed rules file: {type(exc).__name__}: {exc}") from exc


def _quantity_rules(data: dict, indicators: tuple[IndicatorRule, ...]) -> QuantityRules:
    never = data["not_counted"]
    return QuantityRules(
        count_units=frozenset(u for rule in indicators for u in rule.units),
        money_units=frozenset(data["money_units"]),
        not_a_count=re.compile(f"(?:{_alternation(data['not_a_count']).pattern})$"),
        negation=_alternation(never["negation"]),
        comparison=_alternation(never["comparison"]),
        multi_year=_alternation(never["multi_year"]),
        totals=_alternation(never["totals"]),
    )


def default_rules_path() -> Path:
    return data_file("schemas", "rules.yaml")


def load_rules(path: Path, catalog: Catalog) -> Rules:
    """The rules at ``path``; ``RulesError`` (one line) when they do not fit the catalog."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"cannot read rules file {path}: {exc}") from exc
    return parse_rules(data, catalog)


def rules_version(rules_path: Path, catalog_path: Path | None = None) -> str:
    """``rules-`` + a short hash of the rules and the catalog they are written against."""
    digest = hashlib.sha256(Path(rules_path).read_bytes())
    digest.update(Path(catalog_path or data_file("schemas", "indicators.yaml")).read_bytes())
    return "rules-" + digest.hexdigest()[:8]
