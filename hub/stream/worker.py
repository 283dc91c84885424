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
from hub.observe.progress import ProgressTracker, Stall
from hub.settings import Settings
from hub.stream.app import create_app
from hub.stream.fetching import fetch_details, fetch_report, fetcher_problem
from hub.topics import DOMAINS, Topics

log = logging.getLogger("onenet.worker")

HEARTBEAT_S = 1.0
PROGRESS_S = 2.0


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


async def fetching_readiness(app: Any, tracker: ProgressTracker) -> tuple[bool, str]:
    """Ready only while every assigned stream partition is really being consumed.

    A settled group is not enough: after a rebalance a partition can stay paused, or the
    fetcher can stop, or fetched records never reach the agent, while the worker looks
    healthy. Call it only once the group has settled: during a rebalance or a recovery
    partitions are paused on purpose.
    """
    problem = fetcher_problem(app)
    if problem:
        tracker.observe([])
        return False, problem
    generation = app.consumer_generation_id
    report = await fetch_report(app)
    settled, reason = worker_readiness(app)
    if not settled or app.consumer_generation_id != generation:
        # A rebalance began while the broker was asked: its pauses are no stall.
        tracker.observe([])
        return False, reason if not settled else "rebalancing"
    before = {(s.topic, s.partition) for s in tracker.stalled}
    stalls = tracker.observe(report)
    for stall in stalls:
        if (stall.topic, stall.partition) not in before:
            _log_stall(app, stall)
    if stalls:
        shown = "; ".join(str(s) for s in stalls[:3])
        more = f" (and {len(stalls) - 3} more)" if len(stalls) > 3 else ""
        return False, f"not consuming every assigned partition: {shown}{more}"
    return True, ""


def _log_stall(app: Any, stall: Stall) -> None:
    """Once per stall: both layers' fetch state and where the agents wait, for the report."""
    tp = next(
        (tp for tp in app.consumer.assignment() if (tp.topic, tp.partition) == stall.key),
        None,
    )
    details = fetch_details(app, tp) if tp is not None else {}
    log.warning(
        "partition stalled: %s (%s)\n%s",
        stall,
        ", ".join(f"{k}={v}" for k, v in details.items()),
        app.agents.human_tracebacks(),
        extra={"topic": stall.topic, "partition": stall.partition, **details},
    )


def watch_worker(
    app: Any,
    server: ObservabilityServer,
    *,
    interval: float = HEARTBEAT_S,
    stall_after: float = 30.0,
    progress_interval: float = PROGRESS_S,
) -> None:
    """Readiness (and a heartbeat) from Faust timers; "not ready" at once when a rebalance starts.

    The heartbeat re-reads the app's rebalance state every beat, so readiness never depends
    on the order in which Faust's signals arrive. Partition progress is checked by a timer
    of its own: asking the broker for end offsets goes through Faust's consumer thread and
    can take a fetch's time, which the heartbeat must not wait for. Faust starts timers only
    after the first table recovery, so liveness during start-up comes from `beat_from_loop`.
    """

    async def on_revoked(_app: Any, revoked: Any, **_: Any) -> None:
        server.set_ready(False, f"rebalancing ({len(revoked)} partitions revoked)")

    stopping = False
    tracker = ProgressTracker(stall_after)
    fetching: tuple[bool, str] = (False, "checking that every assigned partition is consumed")

    async def on_shutdown(_app: Any, **_: Any) -> None:
        nonlocal stopping
        stopping = True
        server.set_ready(False, "shutting down")

    app.on_partitions_revoked.connect(on_revoked)
    app.on_before_shutdown.connect(on_shutdown)

    async def observability_heartbeat() -> None:
        server.beat()
        if stopping:
            return
        ready, reason = worker_readiness(app)
        if ready and not fetching[0]:
            ready, reason = fetching
        server.set_ready(ready, reason)

    async def partition_progress() -> None:
        nonlocal fetching
        if stopping:
            return
        if not worker_readiness(app)[0]:
            # Time spent rebalancing is not a stall: every clock starts again afterwards.
            tracker.observe([])
            fetching = (False, "checking that every assigned partition is consumed")
            return
        fetching = await fetching_readiness(app, tracker)

    app.timer(interval=interval, name="observability-heartbeat")(observability_heartbeat)
    app.timer(interval=progress_interval, name="partition-progress")(partition_progress)


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


def run_worker(settings: Settings, *, log_level: str = "info", metrics_port: int = 6066) -> None:
    json_logs = log_format_from_env()
    configure_logging(log_level, json=json_logs, static={"component": "worker"})
    server = start_observability_server(
        metrics_port, role="worker", setting="--metrics-port or ONENET_WORKER_WEB_PORT"
    )
    log.info(
        "metrics on %s/metrics, health on /healthz and /readyz",
        server.url,
        extra={"port": server.port},
    )
    app = create_app(settings)
    watch_worker(app, server, stall_after=settings.worker_stall_after_s)
    topics = Topics(settings.topic_prefix)
    lag = ConsumerLagMonitor(
        resolve_bootstrap(settings), settings.app_id, [topics.events(d) for d in DOMAINS]
    ).start()
    # In JSON mode our handler stays: Faust would replace it with its coloured text handler,
    # and neither its start-up banner nor its terminal spinner on stdout is JSON.
    quiet: dict[str, Any] = {"override_logging": False, "quiet": True} if json_logs else {}
    worker = faust.Worker(app, loglevel=log_level, redirect_stdouts=False, **quiet)
    if json_logs:
        worker.spinner = None
    beat_from_loop(worker, server)
    try:
        worker.execute_from_commandline()
    finally:
        lag.stop()
        server.stop()
