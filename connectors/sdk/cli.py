"""`onenet connector list|run`: the same runner for built-in and plugged-in connectors."""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table

from connectors.sdk import registry
from connectors.sdk.base import Connector
from connectors.sdk.options import build_options, validate
from connectors.sdk.runner import Runner, SendFailed
from hub.cliopts import EPILOG, log_level
from hub.errors import UserError
from hub.observe import (
    ObservabilityServer,
    configure_logging,
    log_format_from_env,
    start_observability_server,
)
from hub.settings import get_settings
from hub.topics import Topics

app = typer.Typer(help="List and run connectors (built-in and plug-ins).", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)

INSTANCE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HEARTBEAT_S = 1.0


@app.command("list")
def list_connectors() -> None:
    """Show every connector registered under the `onenet.connectors` entry points."""
    table = Table(title="connectors")
    for col in ("name", "kind", "summary", "provided by"):
        table.add_column(col)
    for reg in registry.available():
        try:
            summary = registry.load(reg.name).summary
        except UserError as exc:
            summary = f"[red]{exc.message}[/]"
        table.add_row(reg.name, "built-in" if reg.builtin else "plug-in", summary, reg.distribution)
    Console(soft_wrap=True).print(table)


def _common_options() -> list[click.Option]:
    return [
        click.Option(
            ["--instance"],
            default="default",
            show_default=True,
            help="Name of this instance: its checkpoint and default source are per instance.",
        ),
        click.Option(
            ["--source"],
            default=None,
            help="CloudEvents `source` [default: urn:onenet:connector:NAME:INSTANCE].",
        ),
        click.Option(
            ["--metrics-port"],
            type=int,
            default=None,
            help="Serve Prometheus /metrics on this port (0 picks one); off when not given.",
        ),
        click.Option(
            ["--reset-checkpoint"],
            is_flag=True,
            default=False,
            help="Forget the saved position and start from the beginning.",
        ),
    ]


def run_connector(
    cls: type[Connector[Any]],
    options: Any,
    *,
    instance: str = "default",
    source: str | None = None,
    metrics_port: int | None = None,
    reset_checkpoint: bool = False,
) -> dict[str, int]:
    """Run one connector to completion (or a signal) against the configured Kafka."""
    from hub.bootstrap import resolve_bootstrap
    from hub.kafka import close_producer
    from hub.kafka import producer as make_producer
    from hub.observe.server import check_port_free

    if not INSTANCE.match(instance):
        raise UserError(
            f"invalid --instance {instance!r}", hint="use letters, digits, '.', '_' or '-'"
        )
    settings = get_settings()
    if metrics_port is not None:
        check_port_free("127.0.0.1", metrics_port, "--metrics-port")
    bootstrap = resolve_bootstrap(settings)
    server: ObservabilityServer | None = None
    if metrics_port is not None:
        server = start_observability_server(
            metrics_port, role="connector", setting="--metrics-port"
        )
        err.print(f"metrics on {server.url}/metrics, health on /healthz and /readyz")
    try:
        path = settings.state_dir / "connectors" / f"{cls.name}-{instance}.json"
        if reset_checkpoint:
            path.unlink(missing_ok=True)
        producer = make_producer(bootstrap)
        try:
            runner = Runner(
                cls(options),
                producer=producer,
                topics=Topics(settings.topic_prefix),
                checkpoint_path=path,
                source=source or f"urn:onenet:connector:{cls.name}:{instance}",
                max_bytes=settings.max_event_bytes,
                time_range=settings.time_range,
            )
            try:
                return asyncio.run(_observed(runner, server))
            except SendFailed as exc:
                denied = "AuthorizationFailed" in str(exc)
                raise UserError(
                    f"the broker did not acknowledge some records: {exc}",
                    hint="the checkpoint stayed before them; "
                    + (
                        "this connector's Kafka user may not write there (docs/security.md)"
                        if denied
                        else "fix the broker and run again to resume"
                    ),
                ) from None
        finally:
            close_producer(producer)
    finally:
        if server is not None:
            server.stop()


async def _observed(runner: Runner, server: ObservabilityServer | None) -> dict[str, int]:
    """Run the runner; with a server, beat from this event loop and report readiness.

    The producer has bootstrapped by the time the runner starts (kafka-python connects in its
    constructor), so the connector is ready from here until it stops. The beat comes from a
    task on the runner's own loop: a connector that blocks the loop goes stale on /healthz.
    """
    if server is None:
        return await runner.run()

    async def heartbeat() -> None:
        while True:
            server.beat()
            if runner.stopping.is_set():
                server.set_ready(False, "stopping: signal received")
            await asyncio.sleep(HEARTBEAT_S)

    server.beat()
    server.set_ready(True, f"producer connected; connector {runner.name} running")
    beats = asyncio.create_task(heartbeat())
    try:
        return await runner.run()
    finally:
        server.set_ready(False, "stopped")
        beats.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beats


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Connector name (see `onenet connector list`).")],
) -> None:
    """Run connector NAME; `onenet connector run NAME --help` lists its options."""
    if name in ("--help", "-h"):
        typer.echo(ctx.get_help())
        names = ", ".join(reg.name for reg in registry.available())
        typer.echo(f"\nConnectors: {names}. Each has its own options: run NAME --help.")
        return
    if name.startswith("-"):
        raise UserError(
            f"`onenet connector run` needs a connector name before its options, not {name}",
            hint="e.g. `onenet connector run simulator --help`; `onenet connector list` names them",
            exit_code=2,
        )
    cls = registry.load(name)

    def invoke(**values: Any) -> None:
        common = {
            k: values.pop(k) for k in ("instance", "source", "metrics_port", "reset_checkpoint")
        }
        options = validate(cls.Options, values)
        configure_logging(
            log_level(),
            json=log_format_from_env(),
            static={"component": "connector", "connector": name, "instance": common["instance"]},
        )
        counts = run_connector(cls, options, **common)
        err.print(
            f"{name}: published {counts['published']}, duplicates {counts['duplicate']}, "
            f"rejected {counts['rejected']}",
            highlight=False,
        )
        # A finite input (a file, one poll) with rejects fails like `onenet publish` does; a
        # long-running connector stopped by a signal exits 0 (its rejects are in the metrics).
        if counts["rejected"] and not counts["signalled"]:
            raise SystemExit(1)

    command = click.Command(
        name,
        callback=invoke,
        params=[*build_options(cls.Options), *_common_options()],
        help=(cls.__doc__ or cls.summary or "").strip(),
        epilog=EPILOG,
    )
    try:
        command.main(
            list(ctx.args), prog_name=f"onenet connector run {name}", standalone_mode=False
        )
    except click.UsageError as exc:
        raise UserError(
            exc.format_message(), hint=f"see `onenet connector run {name} --help`", exit_code=2
        ) from None
    except click.ClickException as exc:
        raise UserError(exc.format_message(), exit_code=exc.exit_code) from None
    except click.exceptions.Exit as exc:
        raise typer.Exit(exc.exit_code) from None
