"""`onenet rules check|test`: validate rule files and run rule tests, like promtool."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hub.correlate.loader import RuleFileError, load_file, rule_files
from hub.correlate.pack import DEFAULT_PACK
from hub.correlate.ruletest import find_test_files, run_file

app = typer.Typer(help="Check rule files and run rule tests.", no_args_is_help=True)
out = Console(soft_wrap=True, highlight=False)


def say(text: str, style: str | None = None) -> None:
    """One line, printed literally: rule values and file names may hold `[/]` (rich markup)."""
    out.print(text, style=style, markup=False)


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Rule files or folders [default: the built-in `city` pack]."),
]


def _expand(paths: list[Path] | None, finder: object) -> list[Path]:
    targets = paths or [DEFAULT_PACK.parent]
    found: list[Path] = []
    for p in targets:
        if not p.exists():
            say(f"error: {p}: no such file or folder", "red")
            raise typer.Exit(2)
        found += finder(p)  # type: ignore[operator]
    return found


@app.command()
def check(paths: PathsArg = None) -> None:
    """Validate rule files: every error names the file, the line and the field. Exits 1 on any."""
    files = _expand(paths, rule_files)
    if not files:
        say("error: no rule files (*.yaml) found", "red")
        raise typer.Exit(2)
    failed = False
    for f in files:
        try:
            pack = load_file(f)
        except RuleFileError as exc:
            failed = True
            for problem in exc.problems:
                say(str(problem), "red")
            continue
        kinds = ", ".join(f"{r.name} ({r.kind})" for r in pack.rules)
        say(f"ok {f}: pack {pack.name}, {len(pack.rules)} rules: {kinds}", "green")
    if failed:
        raise typer.Exit(1)


@app.command("test")
def run_tests(paths: PathsArg = None) -> None:
    """Run rule tests (*.test.yaml): given events at times, expect exactly these alerts."""
    files = _expand(paths, find_test_files)
    if not files:
        say("error: no rule test files (*.test.yaml) found", "red")
        raise typer.Exit(2)
    passed = failed = 0
    for f in files:
        try:
            results = run_file(f)
        except RuleFileError as exc:
            failed += 1
            for problem in exc.problems:
                say(str(problem), "red")
            continue
        for r in results:
            if r.ok:
                passed += 1
                say(f"PASS {f.name}: {r.name}", "green")
            else:
                failed += 1
                say(f"FAIL {f.name}: {r.name}", "red")
                for line in r.failures:
                    say(f"       {line}")
    say(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)
