"""A fault schedule for the replay server: which request gets which fault.

Rules select requests three ways:
- ``at``: global request indices (0-based, in arrival order; deterministic at concurrency 1),
- ``keys`` / ``contains``: requests about a given chunk (its key, or a substring of its text),
- ``probability`` with ``seed``: a coin per (chunk key, attempt), hashed rather than drawn from
  a shared generator, so the same chunks fail the same way at any concurrency.

``times`` limits a rule to the first N attempts for a chunk (re-asks and retries count as
attempts), which is how a test says "fails twice, then a retry succeeds". The first rule that
matches wins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from fazhi.errors import FazhiError

HTTP_FAULTS = {"rate_limit": 429, "http_500": 500, "http_502": 502, "http_503": 503}
TRANSPORT_FAULTS = ("hang", "drop")
CONTENT_FAULTS = ("truncated", "bad_schema", "foreign_number", "obey_injection")
FAULTS: tuple[str, ...] = (*HTTP_FAULTS, *TRANSPORT_FAULTS, *CONTENT_FAULTS)


class FaultSpecError(FazhiError, ValueError):
    pass


@dataclass(frozen=True)
class FaultRule:
    fault: str
    at: frozenset[int] = frozenset()
    keys: frozenset[str] = frozenset()
    contains: str | None = None
    probability: float = 0.0
    seed: int = 0
    times: int | None = None  # only the first `times` attempts for a chunk

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise FaultSpecError(f"unknown fault {self.fault!r}; choose one of {', '.join(FAULTS)}")
        if not (self.at or self.keys or self.contains or self.probability):
            raise FaultSpecError(
                f"fault rule {self.fault!r} selects no request (give at, keys, contains or p)"
            )

    def matches(self, index: int, key: str, text: str, attempt: int) -> bool:
        if self.times is not None and attempt >= self.times:
            return False
        if index in self.at or key in self.keys:
            return True
        if self.contains and self.contains in text:
            return True
        return bool(self.probability) and _coin(self.seed, key, attempt) < self.probability


def _coin(seed: int, key: str, attempt: int) -> float:
    digest = hashlib.sha256(f"{seed}:{key}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class FaultSchedule:
    rules: tuple[FaultRule, ...] = field(default_factory=tuple)

    def pick(self, index: int, key: str, text: str, attempt: int) -> str | None:
        for rule in self.rules:
            if rule.matches(index, key, text, attempt):
                return rule.fault
        return None

    @classmethod
    def of(cls, rules: Iterable[FaultRule]) -> FaultSchedule:
        return cls(tuple(rules))


def parse_schedule(spec: str) -> FaultSchedule:
    """Parse the command-line form: rules separated by ``;``, options by ``,``.

    ``rate_limit:at=0|3`` · ``http_503:p=0.2,seed=7,times=1`` · ``hang:contains=复议`` ·
    ``drop:keys=ab12cd34ef56|0011aabbccdd,times=2``
    """
    rules = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        fault, _, opts = part.partition(":")
        kwargs: dict = {}
        for opt in filter(None, (o.strip() for o in opts.split(","))):
            name, eq, value = opt.partition("=")
            if not eq:
                raise FaultSpecError(f"fault option {opt!r} needs name=value")
            kwargs.update(_option(name.strip(), value.strip()))
        rules.append(FaultRule(fault.strip(), **kwargs))
    return FaultSchedule(tuple(rules))


def _option(name: str, value: str) -> dict:
    try:
        if name == "at":
            return {"at": frozenset(int(v) for v in value.split("|"))}
        if name == "keys":
            return {"keys": frozenset(value.split("|"))}
        if name == "contains":
            return {"contains": value}
        if name == "p":
            return {"probability": float(value)}
        if name in ("seed", "times"):
            return {name: int(value)}
    except ValueError as exc:
        raise FaultSpecError(f"bad value for fault option {name!r}: {value!r}") from exc
    raise FaultSpecError(f"unknown fault option {name!r} (at, keys, contains, p, seed, times)")
