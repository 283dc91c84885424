"""The `onenet` command. Exit codes scripts can trust: 0 ok, 1 failure or rejected input,
2 usage error, 3 not running (status), 130 interrupted."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
import typer.main
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from typer import _click as click
from typer.exceptions import Abort, Exit

from hub.cliopts import log_level
from hub.clock import utcnow
from hub.errors import UserError
from hub.settings import Settings, get_settings
from hub.topics import Topics

app = typer.Typer(
    help="OneNet Hub: departments' events in, city-operation alerts out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
topics_app = typer.Typer(help="Manage the hub's Kafka topics.", no_args_is_help=True)
alerts_app = typer.Typer(help="Read city-operation alerts.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(alerts_app, name="alerts")

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _broker_app() -> typer.Typer:
    from hub.broker.cli import app as broker_app

    return broker_app


app.add_typer(_broker_app(), name="broker")


def _connector_app() -> typer.Typer:
    from connectors.sdk.cli import app as connector_app

    return connector_app


app.add_typer(_connector_app(), name="connector")


def _rules_app() -> typer.Typer:
    from hub.correlate.cli import app as rules_app

    return rules_app


app.add_typer(_rules_app(), name="rules")


def _schemas_app() -> typer.Typer:
    from hub.schemas.cli import app as schemas_app

    return schemas_app


app.add_typer(_schemas_app(), name="schemas")


def _view_app() -> typer.Typer:
    from hub.view.cli import app as view_app

    return view_app


app.add_typer(_view_app(), name="view")


def _reference_app() -> typer.Typer:
    from hub.reference.cli import app as reference_app

    return reference_app


app.add_typer(_reference_app(), name="reference")


def _acl_app() -> typer.Typer:
    from hub.acl import acl_app

    return acl_app


app.add_typer(_acl_app(), name="acl")


def _bootstrap(settings: Settings) -> str:
    from hub.bootstrap import resolve_bootstrap

    return resolve_bootstrap(settings)


@topics_app.command("create")
def topics_create(
    partitions: Annotated[
        int | None, typer.Option(min=1, help="Partitions per topic [default: ONENET_PARTITIONS]")
    ] = None,
    replication_factor: Annotated[
        int | None,
        typer.Option(min=1, help="Replication factor [default: ONENET_REPLICATION_FACTOR]"),
    ] = None,
) -> None:
    """Create the contract topics (and the workers' internal ones) that do not exist yet."""
    from hub.kafka import contract_topics, ensure_topics

    settings = get_settings()
    bootstrap = _bootstrap(settings)
    specs = contract_topics(settings, partitions=partitions, replication_factor=replication_factor)
    results = ensure_topics(bootstrap, specs)
    table = Table(title=f"topics on {bootstrap}")
    table.add_column("topic")
    table.add_column("partitions", justify="right")
    table.add_column("replication", justify="right")
    table.add_column("state")
    for spec, created in results:
        table.add_row(
            spec.name,
            str(spec.partitions),
            str(spec.replication_factor),
            "[green]created[/]" if created else "exists",
        )
    err.print(table)


@app.command()
def publish(
    file: Annotated[
        Path,
        typer.Argument(help="JSONL file, one CloudEvent (structured mode) per line; - for stdin."),
    ],
    rebase_time: Annotated[
        bool,
        typer.Option(help="Shift every event time so the newest one is now (replays samples)."),
    ] = False,
) -> None:
    """Validate and publish CloudEvents; rejected lines go to the dead-letter topic.

    Exits 1 if any line was rejected or could not be sent, after publishing all the others.
    """
    from hub.kafka import close_producer
    from hub.kafka import producer as make_producer
    from hub.publish import publish_lines, read_lines, rebase, rebase_shift

    settings = get_settings()
    if str(file) == "-":
        lines = list(read_lines(sys.stdin.buffer, settings.max_event_bytes))
        origin = "stdin"
    else:
        if not file.is_file():
            raise UserError(f"no such file: {file}", hint="give the path of a .jsonl file")
        lines = list(read_lines(file, settings.max_event_bytes))
        origin = file.name
    if rebase_time:
        shift = rebase_shift(lines, utcnow())
        lines = [(n, rebase(raw, shift)) for n, raw in lines]
    bootstrap = _bootstrap(settings)
    producer = make_producer(bootstrap)
    topics = Topics(settings.topic_prefix)
    try:
        from rich.progress import Progress

        with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("publishing", total=len(lines))
            report = publish_lines(
                producer,
                topics,
                lines,
                origin=origin,
                max_bytes=settings.max_event_bytes,
                time_range=settings.time_range,
                on_progress=lambda n: progress.advance(task, n),
            )
    finally:
        close_producer(producer)
    for r in report.rejected[:50]:
        err.print(f"[red]{origin}:{r.line}[/]: {r.reason}: {r.detail}", highlight=False)
    if len(report.rejected) > 50:
        err.print(f"... and {len(report.rejected) - 50} more rejected lines")
    # One line per distinct cause: a down cluster fails every line for the same reason.
    for e, count in Counter(report.send_errors).most_common():
        err.print(f"send failed ({count} lines): {e}", style="red", highlight=False, markup=False)
    total = sum(report.published.values())
    summary = f"published {total} of {len(lines)} events"
    if report.published:
        summary += " (" + ", ".join(f"{t}: {c}" for t, c in sorted(report.published.items())) + ")"
    if report.rejected:
        summary += f"; {len(report.rejected)} rejected -> {topics.deadletter}"
    if report.send_errors:
        summary += f"; {len(report.send_errors)} not sent"
    err.print(summary, highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Port of /metrics [default: ONENET_WORKER_WEB_PORT]; 0 picks one."),
    ] = None,
) -> None:
    """Run a correlation worker (Faust); start more with the same settings to share the load."""
    from hub.kafka import contract_topics, ensure_topics
    from hub.observe.server import check_port_free
    from hub.stream.worker import run_worker

    settings = get_settings()
    _check_rules(settings)
    port = settings.worker_web_port if metrics_port is None else metrics_port
    check_port_free("127.0.0.1", port, "--metrics-port or ONENET_WORKER_WEB_PORT")
    bootstrap = _bootstrap(settings)
    ensure_topics(bootstrap, contract_topics(settings))
    run_worker(
        settings,
        log_level=log_level(),
        metrics_port=port,
    )


def _check_rules(settings: Settings) -> None:
    """The worker's rule pack must load before anything connects: a mistake names file and line."""
    from hub.correlate.loader import RuleFileError
    from hub.correlate.pack import load_pack

    try:
        load_pack(settings.rules_path)
    except RuleFileError as exc:
        shown = "; ".join(str(p) for p in exc.problems[:3])
        more = f" (and {len(exc.problems) - 3} more)" if len(exc.problems) > 3 else ""
        path = settings.rules_path
        raise UserError(
            f"the worker's rule file is invalid: {shown}{more}",
            hint=f"fix it and check it with `onenet rules check {path}`"
            + ("; ONENET_RULES_PATH names it" if path else ""),
        ) from None


@alerts_app.command("tail")
def alerts_tail(
    json_out: Annotated[
        bool, typer.Option("--json", help="One alert CloudEvent per line.")
    ] = False,
    from_beginning: Annotated[
        bool, typer.Option(help="Start at the oldest retained alert, not at the newest.")
    ] = False,
    max_alerts: Annotated[
        int | None, typer.Option("--max", min=1, help="Exit after this many alert events.")
    ] = None,
    idle_timeout: Annotated[
        float | None, typer.Option(min=0, help="Exit after this many seconds without an alert.")
    ] = None,
) -> None:
    """Print alert events from the alerts topic as they arrive."""
    from hub.alerts.cloudevent import decode_alert
    from hub.tail import follow

    settings = get_settings()
    bootstrap = _bootstrap(settings)
    topic = Topics(settings.topic_prefix).alerts
    colours = {"Extreme": "bold red", "Severe": "red", "Moderate": "yellow", "Minor": "cyan"}
    seen = 0
    for record in follow(
        bootstrap, topic, from_beginning=from_beginning, idle_timeout=idle_timeout
    ):
        if json_out:
            sys.stdout.write(record.value.decode("utf-8", "replace") + "\n")
            sys.stdout.flush()
        else:
            try:
                kind, alert = decode_alert(record.value)
            except Exception as exc:  # a foreign record on the topic must not stop the tail
                err.print(f"[yellow]skipping unreadable record at offset {record.offset}: {exc}")
                continue
            colour = colours.get(alert.severity.value, "white")
            out.print(
                f"{alert.last_event_time:%Y-%m-%d %H:%M:%S}Z "
                f"[{colour}]{alert.severity.value:<8}[/] {kind.removeprefix('city.alert.'):<12} "
                f"{alert.alert_id}  {alert.headline}",
                highlight=False,
            )
        seen += 1
        if max_alerts is not None and seen >= max_alerts:
            return


@app.command()
def demo(
    seconds: Annotated[
        int | None, typer.Option(min=1, help="Stop by itself after this many seconds.")
    ] = None,
) -> None:
    """Everything on the local broker: worker, simulated city, control view, Prometheus, alerts.

    The same as `make demo` once installed; Ctrl-C stops all it started.
    """
    import os
    import shutil

    from hub.settings import REPO_ROOT

    script = REPO_ROOT / "deploy" / "demo.sh"
    if not script.is_file():
        raise UserError(
            f"the demo script is not here ({script})",
            hint="run the demo from a checkout of the hub: `make demo`",
        )
    bash = shutil.which("bash")
    if bash is None:
        raise UserError("bash is not installed", hint="install bash, then run `onenet demo`")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if seconds is not None:
        env["ONENET_DEMO_SECONDS"] = str(seconds)
    os.execve(bash, [bash, str(script)], env)  # noqa: S606 - the demo replaces this process


def _say(label: str, text: str, *, style: str = "red") -> None:
    """One `label: text` line on stderr; the text is printed literally (no rich markup)."""
    err.print(f"{label}:", style=style, end=" ", highlight=False)
    err.print(text, markup=False, highlight=False)


def _usage_error(exc: click.exceptions.UsageError) -> int:
    ctx = exc.ctx
    if ctx is not None:
        err.print(ctx.get_usage(), markup=False, highlight=False)
    _say("error", exc.format_message())
    where = ctx.command_path if ctx is not None else "onenet"
    _say("hint", f"see `{where} --help`", style="yellow")
    return 2


def _kafka_error(exc: Exception) -> int:
    _say("error", f"Kafka: {type(exc).__name__}: {exc}")
    _say(
        "hint",
        "check the broker is running and reachable (`onenet broker status`, "
        "KAFKA_BOOTSTRAP_SERVERS) and this user's permissions (docs/security.md)",
        style="yellow",
    )
    return 1


def run(argv: list[str] | None = None) -> int:
    """Run `onenet` with `argv`; every way out is an exit code, user mistakes a short message.

    User mistakes print `error: <what>` and `hint: <how to fix>`: exit 2 for usage and
    settings mistakes, 1 for runtime failures (broker unreachable, port in use, rejected
    input). Anything unexpected prints one line too, and its traceback only with
    `--log-level debug`.
    """
    from hub.cliopts import add_epilog, take_log_level

    command = typer.main.get_command(app)
    add_epilog(command)
    try:
        args = take_log_level(sys.argv[1:] if argv is None else argv)
        result = command.main(args, prog_name="onenet", standalone_mode=False)
    except UserError as exc:
        _say("error", exc.message)
        if exc.hint:
            _say("hint", exc.hint, style="yellow")
        return exc.exit_code
    except ValidationError as exc:
        from hub.settings import describe_validation_error

        what, hint = describe_validation_error(exc)
        _say("error", what)
        _say("hint", hint, style="yellow")
        return 2
    except click.exceptions.NoArgsIsHelpError:
        return 2  # the help has been printed
    except click.exceptions.UsageError as exc:
        return _usage_error(exc)
    except click.ClickException as exc:
        _say("error", exc.format_message())
        return exc.exit_code
    except Exit as exc:
        return exc.exit_code
    except (Abort, KeyboardInterrupt):
        err.print("interrupted", highlight=False)
        return 130
    except Exception as exc:
        if log_level() == "debug":
            raise
        if _is_kafka_error(exc):
            return _kafka_error(exc)
        _say("error", f"unexpected {type(exc).__name__}: {exc}")
        _say(
            "hint",
            "run the same command with --log-level debug to see where it failed, and "
            "report it with that output",
            style="yellow",
        )
        return 1
    return result if isinstance(result, int) else 0


def _is_kafka_error(exc: BaseException) -> bool:
    return any(cls.__module__.startswith(("kafka.", "aiokafka.")) for cls in type(exc).__mro__)


def main() -> None:
    """Entry point of the `onenet` script."""
    sys.exit(run())


if __name__ == "__main__":
    main()
