"""``fazhi schema``: print the indicator catalog."""

from __future__ import annotations

import typer

from fazhi.catalog import default_catalog
from fazhi.cli import app


@app.command("schema")
def schema(
    as_json: bool = typer.Option(False, "--json", help="Print the catalog as JSON."),
) -> None:
    """Print the indicator catalog every figure's `indicator` must come from.

    Example: fazhi schema --json
    """
    import json

    cat = default_catalog()
    if as_json:
        rows = [vars(ind) for ind in cat.indicators.values()]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for group, ids in cat.groups.items():
        typer.echo(f"[{group}]")
        for ind_id in ids:
            ind = cat[ind_id]
            typer.echo(f"  {ind_id:40s} {ind.kind:8s} {ind.name}")
