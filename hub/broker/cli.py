"""`onenet broker start|stop|status`: the local jar Kafka from a shell.

stdout carries only machine-readable results (the bootstrap address, the status) so that
`BOOT=$(onenet broker start)` works; everything meant for people goes to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console

from hub.broker.local import BrokerError, LocalBroker
from hub.settings import Settings

app = typer.Typer(
    help=(
        "Run a local single-node Kafka (KRaft) from the official jars, for development and "
        "tests on machines without Docker. State, data and logs live in ONENET_STATE_DIR "
        "(default .onenet)/broker."
    ),
    no_args_is_help=True,
)

EXIT_NOT_RUNNING = 3


def _stderr() -> Console:
    # Created per call: the console must follow sys.stderr if a test runner swaps it.
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Broker problems: one red line, exit 1. Settings mistakes go to `onenet`'s handler."""
    try:
        yield
    except BrokerError as exc:
        _stderr().print(f"error: {exc}", style="red", markup=False)
        raise typer.Exit(1) from None


def _broker(port: int | None = None, heap_mb: int | None = None) -> LocalBroker:
    return LocalBroker(Settings(), port=port, heap_mb=heap_mb)


@app.command()
def start(
    port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Broker port on 127.0.0.1; 0 picks a free one (re-using the last one if free). "
            "Default: ONENET_BROKER_PORT.",
            show_default=False,
        ),
    ] = None,
    heap_mb: Annotated[
        int | None,
        typer.Option(
            min=256,
            max=8192,
            help="JVM heap in MiB. Default: ONENET_BROKER_HEAP_MB (512).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds to wait until the broker answers.")
    ] = 90.0,
) -> None:
    """Start the local broker, or find the running one, and print its bootstrap address.

    Only the address goes to stdout, so scripts can do BOOT=$(onenet broker start).
    The broker keeps running after this command exits; stop it with `onenet broker stop`.
    """
    err = _stderr()
    with _user_errors():
        settings = Settings()
        broker = LocalBroker(settings, port=port, heap_mb=heap_mb)
        if settings.kafka_bootstrap_servers:
            err.print(
                f"note: KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers} is set, so "
                "other onenet commands use that cluster, not this broker",
                style="yellow",
                markup=False,
            )
        with err.status(f"starting Kafka (state in {broker.home}) ..."):
            result = broker.ensure_running(timeout)
    if result.already_running:
        err.print(f"already running at {result.bootstrap} (pid {result.pid})", markup=False)
        if port and not result.bootstrap.endswith(f":{port}"):
            err.print(
                f"note: --port {port} ignored; `onenet broker stop` first to change the port",
                style="yellow",
                markup=False,
            )
    else:
        err.print(
            f"started at {result.bootstrap} (pid {result.pid}); log: {broker.log_file}",
            style="green",
            markup=False,
        )
    typer.echo(result.bootstrap)


@app.command()
def stop(
    timeout: Annotated[
        float, typer.Option(min=0.0, help="Seconds to wait for a clean shutdown before SIGKILL.")
    ] = 30.0,
) -> None:
    """Stop the local broker; its topics and data stay for the next start.

    Only a process that runs our config is signalled, never whatever reused an old pid.
    Stopping when nothing runs is not an error, so scripts can always call it.
    """
    err = _stderr()
    with _user_errors():
        broker = _broker()
        pid = broker.status().pid
        stopped = broker.stop(timeout)
    if stopped:
        err.print(f"stopped (pid {pid})", markup=False)
    else:
        err.print("not running", markup=False)


@app.command()
def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of text.")
    ] = False,
) -> None:
    """Show whether the local broker runs: exit 0 if it does, 3 if not (like init scripts)."""
    with _user_errors():
        current = _broker().status()
    if as_json:
        typer.echo(json.dumps(current.to_dict()))
    elif current.running:
        typer.echo(f"running at {current.bootstrap} (pid {current.pid})")
        typer.echo(f"log:  {current.log_file}")
        typer.echo(f"data: {current.data_dir}")
    else:
        typer.echo("not running")
    raise typer.Exit(0 if current.running else EXIT_NOT_RUNNING)


if __name__ == "__main__":
    app()
