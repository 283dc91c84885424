"""The correlation worker: a Faust app whose agent feeds events to the rules' state machines.

Delivery is at-least-once (faust-streaming's exactly-once mode has open duplicate bugs):
alert ids and change ids are deterministic, so a change re-emitted after a crash is the same
record and consumers treat it idempotently. Rule state lives in changelogged tables, keyed by
the correlation key, and the agent runs with concurrency 1 so offsets commit in order.

Table writes need an event context, so time-driven work (closing quiet episodes, expiring
state) is requested by a timer that sends a tick, keyed like the data, to an internal topic
the agent also reads: the tick lands on the partition that owns the key.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import faust

from hub import metrics
from hub.alerts.cloudevent import encode
from hub.alerts.model import AlertChange, GeoPoint
from hub.bootstrap import resolve_bootstrap
from hub.correlate.observation import Observation
from hub.correlate.pack import THRESHOLD_RULES
from hub.correlate.threshold import KeyState, ThresholdRule, advance, is_idle, observe
from hub.correlate.watermark import PartitionWatermarks
from hub.events import Event, EventRejected, deadletter_headers, parse_record
from hub.settings import Settings
from hub.stream.records import header_list
from hub.topics import Topics

log = logging.getLogger("onenet.worker")


def observation_of(rule: ThresholdRule, event: Event) -> Observation:
    data = event.data
    loc = getattr(data, "location", None)
    return Observation(
        uid=f"{event.envelope.source}\x1f{event.envelope.id}",
        event_id=event.envelope.id,
        time=event.event_time,
        key=str(getattr(data, rule.key_field)),
        value=float(getattr(data, rule.value_field)),
        location=GeoPoint(lat=loc.lat, lon=loc.lon) if loc is not None else None,
        district=event.envelope.district,
    )


def needs_advance(rule: ThresholdRule, state: KeyState, watermark: datetime) -> bool:
    if state.episode is not None and state.episode.alert.last_event_time + rule.window < watermark:
        return True
    return bool(state.points) and state.points[0].t < watermark - rule.window


def create_app(settings: Settings, *, rules: tuple[ThresholdRule, ...] = THRESHOLD_RULES) -> Any:
    """Build the worker app; `Any` because Faust ships no type information."""
    bootstrap = resolve_bootstrap(settings)
    topics = Topics(settings.topic_prefix)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{b.strip()}" for b in bootstrap.split(",") if b.strip()],
        store=settings.worker_store,
        processing_guarantee="at_least_once",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        # Faust's own web server exposes table contents; metrics are served separately.
        web_enabled=False,
        table_standby_replicas=0,
    )
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    ticks_name = f"{settings.app_id}-ticks"
    repartition_name = f"{settings.app_id}-safety-by-key"
    source = app.topic(
        topics.safety, ticks_name, repartition_name, partitions=settings.partitions, **raw
    )
    ticks = app.topic(ticks_name, partitions=settings.partitions, internal=True, **raw)
    repartition = app.topic(repartition_name, partitions=settings.partitions, internal=True, **raw)
    alerts = app.topic(topics.alerts, **raw)
    deadletter = app.topic(topics.deadletter, **raw)
    by_type = {r.event_type: r for r in rules}
    tables = {
        r.name: app.Table(
            f"{r.name}-state",
            default=None,
            partitions=settings.partitions,
            # JSON both ways, so keys are str again after a restart recovers the changelog.
            schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
        )
        for r in rules
    }
    watermarks = PartitionWatermarks(timedelta(seconds=settings.allowed_lateness_s))

    async def emit(rule: ThresholdRule, changes: list[AlertChange], at: datetime) -> None:
        for change in changes:
            alert = change.alert
            await alerts.send(key=alert.alert_id.encode(), value=encode(change, time=at))
            metrics.ALERT_CHANGES.labels(rule.name, alert.severity.value, change.kind).inc()
            lag = (datetime.now(UTC) - alert.last_event_time).total_seconds()
            metrics.EVENT_TO_ALERT.labels(rule.name).observe(max(lag, 0.0))
            log.info(
                "alert %s %s severity=%s evidence=%d",
                change.kind,
                alert.alert_id,
                alert.severity.value,
                len(alert.evidence),
            )

    async def reject(record: Any, reason: str, detail: str) -> None:
        msg = record.message
        metrics.EVENTS_REJECTED.labels("worker", reason).inc()
        await deadletter.send(
            key=record.key,
            value=record.value,
            headers=deadletter_headers(
                reason,
                detail,
                source_topic=msg.topic,
                partition=msg.partition,
                offset=msg.offset,
                original_headers=header_list(msg.headers),
            ),
        )

    async def on_tick(key: str, partition: int) -> None:
        wm = watermarks[partition].current()
        if wm is None:
            return
        for rule in rules:
            table = tables[rule.name]
            stored = table.get(key)
            if stored is None:
                continue
            state = KeyState.model_validate(stored)
            changes = advance(rule, state, wm)
            if is_idle(state):
                del table[key]
            else:
                table[key] = state.model_dump(mode="json")
            await emit(rule, changes, wm)

    async def on_event(record: Any) -> None:
        msg = record.message
        try:
            event = parse_record(
                record.value, header_list(msg.headers), max_bytes=settings.max_event_bytes
            )
        except EventRejected as exc:
            await reject(record, exc.reason, exc.detail)
            return
        metrics.EVENTS_CONSUMED.labels(msg.topic, event.type).inc()
        key = event.key.encode()
        if msg.topic == topics.safety and record.key != key:
            # Keyed by someone else's choice: move it to the partition that owns its key.
            await repartition.send(key=key, value=record.value, headers=header_list(msg.headers))
            return
        rule = by_type.get(event.type)
        watermark = watermarks[msg.partition]
        watermark.observe(event.event_time)
        if rule is None:
            return
        wm = watermark.current()
        assert wm is not None  # observe() above guarantees a stream time
        table = tables[rule.name]
        stored = table.get(event.key)
        state = KeyState.model_validate(stored) if stored is not None else KeyState()
        outcome, changes = observe(rule, state, observation_of(rule, event), wm)
        metrics.RULE_EVENTS.labels(rule.name, outcome).inc()
        if outcome == "late":
            await reject(
                record,
                "late-event",
                f"event time {event.event_time.isoformat()} is before the watermark "
                f"{wm.isoformat()} (allowed lateness {settings.allowed_lateness_s:g} s)",
            )
            return
        changes += advance(rule, state, wm)
        if outcome == "counted" or changes:
            table[event.key] = state.model_dump(mode="json")
        await emit(rule, changes, event.event_time)

    @app.agent(source, concurrency=1)
    async def correlate(stream: Any) -> None:
        async for record in stream.events():
            started = time.perf_counter()
            if record.message.topic == ticks_name:
                await on_tick(record.key.decode(), record.message.partition)
            else:
                await on_event(record)
            metrics.PROCESSING_SECONDS.observe(time.perf_counter() - started)

    async def request_ticks() -> None:
        wm = watermarks.slowest()
        if wm is None:
            return
        metrics.WATERMARK.set(wm.timestamp())
        for rule in rules:
            table = tables[rule.name]
            metrics.RULE_KEYS.labels(rule.name).set(len(table))
            for key, stored in list(table.items()):
                if stored is not None and needs_advance(rule, KeyState.model_validate(stored), wm):
                    await ticks.send(key=str(key).encode(), value=b"{}")

    app.timer(interval=2.0)(request_ticks)
    return app
