"""The indicator catalog (``schemas/indicators.yaml``): the contract shared by schema,
prompts, rules and gold labels. Every figure names one of its ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from fazhi.errors import FazhiError
from fazhi.model import IndicatorKind
from fazhi.resources import data_file

KINDS: tuple[str, ...] = ("count", "percent", "money")


@dataclass(frozen=True)
class Indicator:
    id: str
    group: str
    name: str
    kind: IndicatorKind
    definition: str


@dataclass(frozen=True)
class Catalog:
    indicators: dict[str, Indicator]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.indicators)

    def __contains__(self, indicator_id: object) -> bool:
        return indicator_id in self.indicators

    def __getitem__(self, indicator_id: str) -> Indicator:
        return self.indicators[indicator_id]

    def group_of(self, indicator_id: str) -> str:
        return self.indicators[indicator_id].group


class CatalogError(FazhiError, ValueError):
    pass


def parse_catalog(data: object) -> Catalog:
    """Validate the YAML structure ``{group: {id: {name, kind, definition}}}``."""
    if not isinstance(data, dict) or not data:
        raise CatalogError("indicator catalog must be a non-empty mapping of groups")
    indicators: dict[str, Indicator] = {}
    groups: dict[str, tuple[str, ...]] = {}
    for group, members in data.items():
        if not isinstance(members, dict) or not members:
            raise CatalogError(f"group {group!r} must map indicator ids to definitions")
        for ind_id, spec in members.items():
            if ind_id in indicators:
                raise CatalogError(f"indicator {ind_id!r} is defined twice")
            missing = {"name", "kind", "definition"} - set(spec or {})
            if missing:
                raise CatalogError(f"indicator {ind_id!r} lacks {sorted(missing)}")
            if spec["kind"] not in KINDS:
                raise CatalogError(f"indicator {ind_id!r} has unknown kind {spec['kind']!r}")
            indicators[ind_id] = Indicator(
                ind_id, group, str(spec["name"]), spec["kind"], str(spec["definition"]).strip()
            )
        groups[group] = tuple(members)
    return Catalog(indicators, groups)


def load_catalog(path: Path | None = None) -> Catalog:
    """The catalog at ``path``, or the project's own one."""
    if path is None:
        return default_catalog()
    return parse_catalog(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return parse_catalog(
        yaml.safe_load(data_file("schemas", "indicators.yaml").read_text(encoding="utf-8"))
    )
