"""``fazhi verify``: check a result (or gold) JSON file against its report.

Reading, printing and exit codes happen here; the checking is ``fazhi.verify``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import ValidationError

from fazhi.cli import app
from fazhi.confidence import score_figures
from fazhi.crosschecks import cross_check
from fazhi.errors import FazhiError
from fazhi.ingest import read_source
from fazhi.model import Draft, Rejection, Result
from fazhi.verify import verify


class VerifyInputError(FazhiError):
    """Bad input for the verify command: one line for the user, exit code 2."""


@app.command("verify")
def verify_command(
    result_path: Path = typer.Argument(
        ..., metavar="RESULT.json", help="A result or gold JSON file."
    ),
    source_path: Path = typer.Option(
        ..., "--source", "-s", metavar="REPORT", help="The report it was extracted from."
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write verified JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print the verified JSON on stdout."),
) -> None:
    """Re-check every figure, meta field and text item of RESULT.json against REPORT.

    Summary on stderr. Exit 0: everything verified; 1: something was rejected (rejections
    already in the input are kept but do not count); 2: unreadable or malformed input.

    Examples:
      fazhi verify evals/gold/qingpu-2023.json -s evals/corpus/qingpu-2023.txt
      fazhi verify run/kunshan.json -s kunshan.txt -o checked.json
    """
    draft = load_result(result_path)  # a FazhiError here: one line, exit 2 (fazhi.cli)
    source = read_source(source_path)
    checked = verify(draft, source)
    # the same review reasons and confidence as extraction (docs/confidence.md)
    labellers = len({s for f in checked.figures for s in f.sources}) or 1
    checked = score_figures(cross_check(checked, source), source, labellers=labellers)
    new_rejections = checked.rejected[len(draft.rejected) :]
    typer.echo(summary(draft, checked, new_rejections), err=True)
    payload = checked.model_dump_json(indent=2)
    if output is not None:
        try:
            output.write_text(payload + "\n", encoding="utf-8")
        except OSError as err:
            raise VerifyInputError(f"cannot write {output}: {err.strerror}") from None
    if as_json:
        typer.echo(payload)
    raise typer.Exit(1 if new_rejections else 0)


def load_result(path: Path) -> Draft:
    """A JSON file in our result or gold format as a ``Draft`` of proposals (its spans,
    ``optional`` and status are settled again by ``verify``), or one clear error line."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VerifyInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise VerifyInputError(f"{path}: cannot read ({err})") from None
    except json.JSONDecodeError as err:
        raise VerifyInputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or "figures" not in data:
        raise VerifyInputError(f"{path}: not a result: expected a JSON object with 'figures'")
    # Pydantic ignores unknown keys; a misspelt top-level field would silently verify nothing.
    unknown = sorted(set(data) - set(Result.model_fields))
    if unknown:
        raise VerifyInputError(f"{path}: not a result: unknown field(s) {', '.join(unknown)}")
    try:
        return Draft.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise VerifyInputError(f"{path}: not a result: {where}: {first['msg']}") from None


def summary(draft: Draft, checked: Result, rejections: list[Rejection]) -> str:
    meta_fields = sum(v is not None for v in checked.meta.model_dump().values())
    texts = len(checked.shortcomings) + len(checked.plans)
    lines = [
        f"accepted: {len(checked.figures)} of {len(draft.figures)} figures, "
        f"{meta_fields} meta fields, {texts} text items",
        f"rejected: {len(rejections)}",
    ]
    lines += [f"  {r.code}  {_subject(r)}  {r.reason}" for r in rejections]
    return "\n".join(lines)


def _subject(rejection: Rejection) -> str:
    if rejection.what == "figure":
        return str(rejection.item.get("indicator", "?"))
    if rejection.what == "meta":
        return "meta." + ",".join(rejection.item) if rejection.item else "meta"
    return rejection.what
