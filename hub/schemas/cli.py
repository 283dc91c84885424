"""`onenet schemas export|check|compat`: generate the contract files, catch drift, catch breaks.

Results go to stdout; failures end in ``error: …`` plus a hint from the root CLI (exit 1 when
the check fails, 2 for a bad argument).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hub.errors import UserError
from hub.schemas.compat import SchemaChange, compare_sets
from hub.schemas.export import render_files
from hub.schemas.files import SCHEMAS_DIR, drift, load_dir, load_git, parse_all, write

app = typer.Typer(
    help=(
        "JSON Schemas and the AsyncAPI document of the public contract, generated from the "
        "pydantic models: write them, check them for drift, check changes for compatibility."
    ),
    no_args_is_help=True,
)

_FIX = "run `onenet schemas export` and commit"


def _out() -> Console:
    # Created per call so that it follows sys.stdout when a test runner swaps it.
    return Console(highlight=False, soft_wrap=True)


@app.command()
def export(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write to.", file_okay=False)
    ] = SCHEMAS_DIR,
) -> None:
    """Write the schemas folder from the models and say which files changed.

    Generated files the models no longer produce are removed;
    files without the generated marker are left alone.
    """
    console = _out()
    states = write(out, render_files())
    changed = [s for s in states if s.state != "unchanged"]
    for state in changed:
        console.print(f"{state.state:>9}  {out / state.path}")
    unchanged = len(states) - len(changed)
    console.print(f"{len(changed)} changed, {unchanged} unchanged in {out}")


@app.command()
def check(
    directory: Annotated[
        Path, typer.Option("--dir", help="Schemas folder to check.", file_okay=False)
    ] = SCHEMAS_DIR,
) -> None:
    """Exit 1 if the schemas folder differs from what the models generate (for CI)."""
    if not directory.is_dir():
        raise UserError(
            f"no schemas folder at {directory}",
            hint=f"run from the repository root, pass --dir, or {_FIX}",
            exit_code=2,
        )
    problems = drift(directory, render_files())
    if not problems:
        _out().print(f"{directory} is up to date with the models")
        return
    console = _out()
    for problem in problems:
        console.print(f"{problem.state:>8}  {directory / problem.path}")
        for line in problem.diff:
            console.print(f"          {line}", markup=False)
    raise UserError(
        f"{len(problems)} file(s) in {directory} do not match the models",
        hint=_FIX,
    )


@app.command()
def compat(
    old_dir: Annotated[
        Path | None,
        typer.Argument(help="The previous schemas folder (such as the last release's)."),
    ] = None,
    new_dir: Annotated[
        Path | None,
        typer.Argument(help="The new schemas folder (default: generated from the models)."),
    ] = None,
    git_ref: Annotated[
        str | None,
        typer.Option(
            "--git-ref",
            help="Read the previous schemas from this git revision's schemas/ folder instead "
            "of OLD_DIR (for example origin/main).",
        ),
    ] = None,
    show_compatible: Annotated[
        bool, typer.Option("--all", help="Also list the compatible changes.")
    ] = False,
) -> None:
    """Exit 1 if the new schemas would break producers or consumers of the old ones.

    Breaking: a new required field, a removed field or schema, a narrowed
    type, bound, enum or pattern, unknown fields refused, a new JSON type.
    Compatible: new optional fields, wider bounds, new enum values.
    With --git-ref, a revision without schemas/ (a first release) passes.
    """
    console = _out()
    if git_ref is not None:
        if old_dir is not None and new_dir is not None:
            raise UserError(
                "give OLD_DIR or --git-ref, not both",
                hint="with --git-ref, the only folder argument is the new one (optional)",
                exit_code=2,
            )
        if old_dir is not None:  # `compat --git-ref REF DIR`: the one folder is the new one
            old_dir, new_dir = None, old_dir
        old = load_git(git_ref)
        if not old:
            console.print(
                f"{git_ref} has no {SCHEMAS_DIR}/ folder: a first release, nothing to compare"
            )
            return
        old_label = f"{git_ref}:{SCHEMAS_DIR}"
    elif old_dir is not None:
        old = load_dir(old_dir)
        old_label = str(old_dir)
    else:
        raise UserError(
            "nothing to compare against",
            hint="give the previous schemas folder (OLD_DIR) or a revision (--git-ref origin/main)",
            exit_code=2,
        )
    if new_dir is not None:
        new = load_dir(new_dir)
        new_label = str(new_dir)
    else:
        new = parse_all(render_files())
        new_label = "the models"
    changes = compare_sets(old, new)
    breaking = [c for c in changes if c.breaking]
    compatible = [c for c in changes if not c.breaking]
    _list(console, "breaking", breaking)
    if show_compatible:
        _list(console, "compatible", compatible)
    summary = f"{old_label} -> {new_label}: {len(breaking)} breaking, {len(compatible)} compatible"
    if breaking:
        console.print(summary)
        raise UserError(
            f"{len(breaking)} breaking change(s) to the public contract",
            hint="keep the old shape (add, do not change), or introduce new event type names "
            "for v2; see docs/events.md, 'Versioning and compatibility'",
        )
    console.print(summary)


def _list(console: Console, title: str, changes: list[SchemaChange]) -> None:
    for change in changes:
        console.print(f"{title}: {change}", markup=False)
