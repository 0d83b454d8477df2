"""The per-chunk answer a model must give, built from any indicator catalog.

The shape is deliberately small -- a list of figures ``{quote, raw, indicator, scope}`` plus
optional ``meta``, ``shortcomings`` and ``plans`` -- with ``additionalProperties: false`` and
``maxItems``/``maxLength`` caps, because a grammar-constrained small model loops until it
hits whatever bound it is given. ``indicator`` is an enum of the catalog's ids, so any
catalog of the same shape yields a working schema.

There is no ``value`` field: the value is derived from ``raw`` by ``fazhi.numbers.parse_raw``
after the call, so the model never computes or converts a number (and spends fewer tokens).
A figure lists ``quote`` first so the model copies the sentence before it names the number
and picks an indicator for it.

Verification is wired in through ``checking(check)``: while it is active, a ``check`` callable
(``check(what, item) -> problem | None``, supplied by the backend from ``fazhi.verify``) sees
every figure, meta block and text item, and a problem becomes a ``ValidationError`` at that
item's location -- which instructor sends back to the model as a re-ask. Outside it the models
only check structure. It is a context variable, not instructor's ``context=``, because
instructor renders every message as a Jinja template whenever a context is given: report text
with ``{{ }}`` in it (web residue) would be altered before the model saw it, a ``{%`` would fail
the chunk, and the template compiling cost ~1 ms of CPU a call (``tests/test_llm_client.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    create_model,
    model_validator,
)

from fazhi.catalog import Catalog

MAX_FIGURES = 16
MAX_TEXT_ITEMS = 8
QUOTE_MAX = 80
RAW_MAX = 24
SCOPE_MAX = 40
NAME_MAX = 40
TEXT_ITEM_MAX = 120

SCHEMA_FILE = "chunk_answer.schema.json"

Check = Callable[[str, Any], "str | None"]  # (what, item) -> problem, or None when it verifies


def _drop_property_titles(schema: dict[str, Any]) -> None:
    # pydantic titles every property; they add tokens (JSON modes put the schema in the prompt)
    # and say nothing the property name does not.
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


_STRICT = ConfigDict(extra="forbid", json_schema_extra=_drop_property_titles)


# Set per request by ``checking``; a context variable follows the asyncio task that validates.
_active_check: ContextVar[Check | None] = ContextVar("fazhi_active_check", default=None)


@contextmanager
def checking(check: Check) -> Iterator[None]:
    """Validate answers against ``check`` inside this block (this thread or asyncio task only)."""
    token = _active_check.set(check)
    try:
        yield
    finally:
        _active_check.reset(token)


def _problem(what: str, item: Any) -> str | None:
    check = _active_check.get()
    return check(what, item) if check else None


class _CheckedFigure(BaseModel):
    model_config = _STRICT

    @model_validator(mode="after")
    def _verified_in_chunk(self):
        problem = _problem("figure", self.model_dump())
        if problem:
            raise ValueError(problem)
        return self


class MetaReply(BaseModel):
    # Report metadata, only where the chunk states it (a docstring would land in the schema).
    model_config = _STRICT

    region: str | None = Field(default=None, max_length=NAME_MAX)
    issuer: str | None = Field(default=None, max_length=NAME_MAX)
    year: int | None = None
    published: str | None = Field(default=None, max_length=10)  # YYYY-MM-DD

    @model_validator(mode="after")
    def _verified_in_chunk(self):
        given = self.model_dump(exclude_none=True)
        problem = _problem("meta", given) if given else None
        if problem:
            raise ValueError(problem)
        return self


def _text_item(what: str):
    def verified(quote: str) -> str:
        problem = _problem(what, quote)
        if problem:
            raise ValueError(problem)
        return quote

    return Annotated[str, Field(max_length=TEXT_ITEM_MAX), AfterValidator(verified)]


def figure_model(catalog: Catalog) -> type[BaseModel]:
    """One figure: ``indicator`` restricted to the catalog's ids."""
    # Types built at run time are plain values to the type checker.
    indicator_ids: Any = Literal[tuple(catalog.ids)]
    return create_model(
        "FigureReply",
        __base__=_CheckedFigure,
        quote=(str, Field(max_length=QUOTE_MAX)),
        raw=(str, Field(max_length=RAW_MAX)),
        indicator=(indicator_ids, ...),
        scope=(str | None, Field(max_length=SCOPE_MAX)),
    )


def answer_model(catalog: Catalog) -> type[BaseModel]:
    """The whole answer for one chunk (``ChunkReply``)."""
    # Types built at run time are plain values to the type checker.
    figures: Any = list[figure_model(catalog)]  # type: ignore[misc]
    shortcomings: Any = list[_text_item("shortcoming")]  # type: ignore[misc]
    plans: Any = list[_text_item("plan")]  # type: ignore[misc]
    return create_model(
        "ChunkReply",
        __config__=_STRICT,
        figures=(figures, Field(max_length=MAX_FIGURES)),
        meta=(MetaReply | None, None),
        shortcomings=(shortcomings, Field(default=[], max_length=MAX_TEXT_ITEMS)),
        plans=(plans, Field(default=[], max_length=MAX_TEXT_ITEMS)),
    )


def answer_schema(catalog: Catalog) -> dict[str, Any]:
    """The JSON schema the model's output is constrained by."""
    return answer_model(catalog).model_json_schema()


def schema_json(catalog: Catalog) -> str:
    """``answer_schema`` as the text of ``schemas/chunk_answer.schema.json``.

    Key order is kept as generated: it is the order the model writes the fields in.
    """
    return json.dumps(answer_schema(catalog), ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    """``python -m fazhi.llm.schema``: rewrite ``schemas/chunk_answer.schema.json``.

    The schema is built from the catalog."""
    from fazhi.catalog import default_catalog
    from fazhi.resources import data_file

    target = data_file("schemas", SCHEMA_FILE)
    target.write_text(schema_json(default_catalog()), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
