"""`onenet reference`: load the gazetteer's sites onto their topic; show the district names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hub.errors import UserError
from hub.reference.files import MAX_PROBLEMS, ReferenceFileError, read_districts, read_sites
from hub.reference.model import District
from hub.settings import Settings, get_settings

app = typer.Typer(help="Reference data: the city's sites and district names.", no_args_is_help=True)
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

SEND_TIMEOUT_S = 60.0


def districts_of(settings: Settings) -> dict[str, District]:
    """The district names the settings name; a bad file is the user's to fix."""
    try:
        return read_districts(settings.districts_path)
    except ReferenceFileError as exc:
        _report(exc)
        raise UserError(
            f"cannot use the district file {exc.path}",
            hint="fix the lines above, or unset ONENET_DISTRICTS_PATH for Dalian's",
        ) from None


def _report(exc: ReferenceFileError) -> None:
    for p in exc.problems:
        err.print(
            f"[red]{exc.path}:{p.line or ''}[/] {p.message}"
            if not p.item
            else f"[red]{exc.path}:{p.line or ''}[/] {p.item}: {p.message}"
        )
    if len(exc.problems) >= MAX_PROBLEMS:
        err.print(f"(stopped after {MAX_PROBLEMS} problems)")


LOAD_HELP = (
    "Validate every site of FILE, then publish them all to the reference topic.\n\n"
    "Columns (CSV) or properties (GeoJSON): id, kind (hydrogen-station, enterprise, camera, "
    "service-point), name_zh, name_en, address, district (a code of ONENET_DISTRICTS_PATH), "
    "lat, lon (CSV only; GeoJSON takes them from the Point).\n\n"
    "A file with any bad row is reported line by line and nothing of it is sent (exit 1). "
    "Loading a site again replaces it: the topic keeps the newest record of every id."
)


@app.command(help=LOAD_HELP)
def load(
    file: Annotated[
        Path,
        typer.Argument(help="Sites as CSV (with a header row) or a GeoJSON FeatureCollection."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only validate the file; send nothing.")
    ] = False,
) -> None:
    from hub.bootstrap import resolve_bootstrap
    from hub.kafka import close_producer, contract_topics, ensure_topics, explain_send_failure
    from hub.kafka import producer as make_producer
    from hub.reference.topic import send_sites
    from hub.topics import Topics

    settings = get_settings()
    if not file.is_file():
        raise UserError(f"no such file: {file}", hint="give the path of a .csv or .geojson file")
    districts = districts_of(settings)
    try:
        sites = read_sites(file, districts)
    except ReferenceFileError as exc:
        _report(exc)
        err.print(f"[red]error:[/] {file}: {len(exc.problems)} bad row(s); nothing was loaded")
        raise typer.Exit(1) from None
    if not sites:
        raise UserError(f"{file} has no sites", hint="add one row (or feature) per site")
    kinds: dict[str, int] = {}
    for s in sites:
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    summary = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items()))
    if dry_run:
        out.print(f"ok {file}: {len(sites)} sites ({summary}); not sent (--dry-run)")
        return
    bootstrap = resolve_bootstrap(settings)
    topic = Topics(settings.topic_prefix).sites
    ensure_topics(bootstrap, [s for s in contract_topics(settings) if s.name == topic])
    producer = make_producer(bootstrap)
    failed: list[str] = []
    try:
        futures = send_sites(producer, topic, sites)
        producer.flush(timeout=SEND_TIMEOUT_S)
        for f in futures:
            try:
                f.get(timeout=SEND_TIMEOUT_S)
            except Exception as exc:  # each failure is reported below, with its cause
                failed.append(explain_send_failure(exc))
    finally:
        close_producer(producer)
    if failed:
        raise UserError(
            f"{len(failed)} of {len(sites)} sites were not sent: {failed[0]}",
            hint="run the same load again: a site sent twice is kept once",
        )
    out.print(f"loaded {len(sites)} sites ({summary}) to {topic}")


@app.command()
def districts(
    file: Annotated[
        Path | None,
        typer.Argument(help="A districts CSV to check [default: ONENET_DISTRICTS_PATH]."),
    ] = None,
) -> None:
    """List the district codes and names alerts use (Dalian's unless ONENET_DISTRICTS_PATH
    names another city's CSV with the columns code, name_zh, name_en)."""
    if file is not None:
        if not file.is_file():
            raise UserError(f"no such file: {file}", hint="give the path of a districts .csv")
        try:
            table = read_districts(file)
        except ReferenceFileError as exc:
            _report(exc)
            raise typer.Exit(1) from None
    else:
        table = districts_of(get_settings())
    for d in table.values():
        out.print(f"{d.code}  {d.name_zh}  {d.name_en}")
