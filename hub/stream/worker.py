"""Run the correlation app as a Faust worker, with /metrics, /healthz and /readyz beside it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust

from hub.bootstrap import resolve_bootstrap
from hub.observe import (
    ObservabilityServer,
    configure_logging,
    log_format_from_env,
    start_observability_server,
)
from hub.observe.lag import ConsumerLagMonitor
from hub.settings import Settings
from hub.stream.app import create_app
from hub.topics import DOMAINS, Topics

log = logging.getLogger("onenet.worker")

HEARTBEAT_S = 1.0


def worker_readiness(app: Any) -> tuple[bool, str]:
    """Ready once the group has settled: partitions assigned and their tables recovered.

    A worker with an empty assignment (more workers than partitions) is ready too: it is a
    healthy member of the group, standing by to take partitions over in the next rebalance.
    """
    if app.should_stop:
        return False, "shutting down"
    if app.rebalancing:
        return False, "rebalancing"
    if app.in_recovery:
        return False, "recovering table state from changelog topics"
    try:
        assignment = app.consumer.assignment()
    except Exception:  # the consumer is not started yet
        return False, "joining the consumer group"
    topics = {tp.topic for tp in assignment}
    return True, f"{len(assignment)} partitions of {len(topics)} topics assigned"


def watch_worker(app: Any, server: ObservabilityServer, *, interval: float = HEARTBEAT_S) -> None:
    """Readiness (and a heartbeat) from a Faust timer; "not ready" at once when a rebalance starts.

    The timer re-reads the app's rebalance state every beat, so readiness never depends on the
    order in which Faust's signals arrive. Faust starts timers only after the first table
    recovery, so liveness during start-up comes from `beat_from_loop` instead.
    """

    async def on_revoked(_app: Any, revoked: Any, **_: Any) -> None:
        server.set_ready(False, f"rebalancing ({len(revoked)} partitions revoked)")

    async def on_shutdown(_app: Any, **_: Any) -> None:
        server.set_ready(False, "shutting down")

    app.on_partitions_revoked.connect(on_revoked)
    app.on_before_shutdown.connect(on_shutdown)

    async def observability_heartbeat() -> None:
        server.beat()
        server.set_ready(*worker_readiness(app))

    app.timer(interval=interval, name="observability-heartbeat")(observability_heartbeat)


def beat_from_loop(worker: Any, server: ObservabilityServer, interval: float = HEARTBEAT_S) -> None:
    """Beat from the worker's event loop from its first turn, through group join and recovery.

    A long table recovery is the loop working, not a hang: without this the liveness probe
    would fail it and a supervisor would restart the worker into the same recovery. The
    worker cancels the future when it stops.
    """

    async def beat() -> None:
        while not worker.should_stop:
            server.beat()
            await asyncio.sleep(interval)

    worker.add_future(beat())


def run_worker(settings: Settings, *, loglevel: str = "info", metrics_port: int = 6066) -> None:
    json_logs = log_format_from_env()
    configure_logging(loglevel, json=json_logs, static={"component": "worker"})
    server = start_observability_server(metrics_port)
    log.info(
        "metrics on %s/metrics, health on /healthz and /readyz",
        server.url,
        extra={"port": server.port},
    )
    app = create_app(settings)
    watch_worker(app, server)
    topics = Topics(settings.topic_prefix)
    lag = ConsumerLagMonitor(
        resolve_bootstrap(settings), settings.app_id, [topics.events(d) for d in DOMAINS]
    ).start()
    # In JSON mode our handler stays: Faust would replace it with its coloured text handler,
    # and neither its start-up banner nor its terminal spinner on stdout is JSON.
    quiet: dict[str, Any] = {"override_logging": False, "quiet": True} if json_logs else {}
    worker = faust.Worker(app, loglevel=loglevel, redirect_stdouts=False, **quiet)
    if json_logs:
        worker.spinner = None
    beat_from_loop(worker, server)
    try:
        worker.execute_from_commandline()
    finally:
        lag.stop()
        server.stop()
