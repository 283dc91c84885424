"""The lifecycle agent: applies people's commands to alerts and records every change.

It folds the correlator's changes from the alerts topic into a changelogged table keyed by
alert id, decides each command from the commands topic against that state, and emits the
resulting change (who did what, and when) back onto the alerts topic. Both topics are keyed
by alert id, so an alert's changes and commands meet on one partition. Its own emissions come
back on the alerts topic and are skipped: the table already holds them.

Memory stays bounded: a resolved alert is deleted from the table (a tombstone on the
changelog) `resolved_retention_s` after it was resolved, and timers consult time-ordered
indexes instead of validating every alert of the table. A correlator change other than
`firing` for an alert the table does not hold (forgotten after resolution, or never seen
firing) is ignored rather than resurrected as a half-known alert.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import orjson
from pydantic import ValidationError

from hub import metrics
from hub.alerts.cloudevent import encode
from hub.alerts.lifecycle import (
    LIFECYCLE_SOURCE,
    SYSTEM_ACTOR,
    Command,
    Rejected,
    decide,
    fold,
    mark_opened,
    needs_ack_escalation,
)
from hub.alerts.model import KIND_OF_TYPE, Alert
from hub.correlate.wakes import WakeIndex
from hub.settings import Settings
from hub.stream.records import send_dead_letter
from hub.topics import Topics

log = logging.getLogger("onenet.lifecycle")

RECENT_COMMANDS = 100  # command ids kept per alert to recognise a redelivered command
ACK = "ack"  # the ack-timeout index's name in the WakeIndex; retention is indexed per partition


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class LifecycleIndex:
    """When each stored alert next needs the timers: its ack deadline and its forgetting.

    Read from the stored JSON, never validated: it is asked for every entry after a rebalance.
    Forgetting is indexed per partition because Faust writes a deletion's tombstone to the
    changelog partition of the event being processed, so a key is deleted only while an event
    of its own partition is.
    """

    def __init__(self, ack_timeout: timedelta, retention: timedelta) -> None:
        self.ack_timeout = ack_timeout
        self.retention = retention
        self.wakes = WakeIndex()

    def track(self, alert_id: str, stored: dict[str, Any]) -> None:
        alert = stored.get("alert") or {}
        lc = alert.get("lifecycle") or {}
        opened = _when(lc.get("opened_at"))
        waiting = alert.get("status") == "firing" and not lc.get("ack_escalated")
        deadline = opened + self.ack_timeout if waiting and opened is not None else None
        self.wakes.schedule(ACK, alert_id, deadline)
        seen = _when(stored.get("resolved_seen"))
        partition = stored.get("partition")
        if isinstance(partition, int):
            forget = seen + self.retention if seen is not None else None
            self.wakes.schedule(str(partition), alert_id, forget)

    def drop(self, alert_id: str, partition: int) -> None:
        self.wakes.schedule(ACK, alert_id, None)
        self.wakes.schedule(str(partition), alert_id, None)

    def rebuild(self, items: Any) -> None:
        self.wakes.clear()
        for alert_id, stored in items:
            if isinstance(stored, dict):
                self.track(alert_id, stored)

    def ack_due(self, now: datetime) -> list[str]:
        """Alerts whose ack deadline has passed (strictly); still to be checked by the caller."""
        return self.wakes.due(ACK, now)

    def forget_due(self, partition: int, now: datetime) -> list[str]:
        return self.wakes.due(str(partition), now)


def add_lifecycle(app: Any, settings: Settings, raw: dict[str, Any]) -> None:
    topics = Topics(settings.topic_prefix)
    channel = app.topic(topics.alerts, topics.commands, partitions=settings.partitions, **raw)
    alerts = app.topic(topics.alerts, **raw)
    commands = app.topic(topics.commands, **raw)
    deadletter = app.topic(topics.deadletter, **raw)
    table = app.Table(
        "alert-lifecycle",
        default=None,
        partitions=settings.partitions,
        schema=faust.Schema(key_type=str, key_serializer="json", value_serializer="json"),
    )
    timeout = timedelta(seconds=settings.ack_timeout_s)
    index = LifecycleIndex(timeout, timedelta(seconds=settings.resolved_retention_s))
    requested: set[str] = set()

    # A table entry is the alert and the ids of the latest commands applied to it: a command
    # delivered again after a crash (at-least-once) is recognised and not applied twice.
    def entry(alert_id: str) -> tuple[Alert | None, list[str]]:
        stored = table.get(alert_id)
        if not isinstance(stored, dict) or "alert" not in stored:
            return None, []
        return Alert.model_validate(stored["alert"]), list(stored.get("commands", []))

    def store(alert: Alert, commands: list[str], record: Any) -> None:
        """Write the entry, noting when it was first seen resolved (the record's timestamp, so
        a replay after a crash computes the same time) and its partition, for forgetting."""
        before = table.get(alert.alert_id)
        seen = before.get("resolved_seen") if isinstance(before, dict) else None
        if alert.status != "resolved":
            seen = None
        elif seen is None:
            ts = record.message.timestamp
            at = datetime.fromtimestamp(ts, UTC) if ts else datetime.now(UTC)
            seen = at.isoformat()
        stored = {
            "alert": alert.model_dump(mode="json"),
            "commands": commands[-RECENT_COMMANDS:],
            "partition": record.message.partition,
            "resolved_seen": seen,
        }
        table[alert.alert_id] = stored
        index.track(alert.alert_id, stored)

    def forget_expired(partition: int) -> None:
        """Delete the partition's alerts resolved longer ago than the retention."""
        for alert_id in index.forget_due(partition, datetime.now(UTC)):
            if alert_id in table:
                del table[alert_id]
            index.drop(alert_id, partition)
            requested.discard(alert_id)

    async def reject(record: Any, reason: str, detail: str) -> None:
        metrics.EVENTS_REJECTED.labels("lifecycle", reason).inc()
        log.warning("command rejected: %s: %s", reason, detail)
        await send_dead_letter(deadletter, record, reason, detail, stage="lifecycle")

    async def on_alert_event(record: Any) -> None:
        try:
            obj = orjson.loads(record.value)
            source = str(obj["source"])
            kind = KIND_OF_TYPE[obj["type"]]
            incoming = Alert.model_validate(obj["data"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValidationError):
            return  # not an alert change; the alerts topic is written by the hub alone
        if source == LIFECYCLE_SOURCE:
            return
        current, seen = entry(incoming.alert_id)
        if current is None and kind != "firing":
            log.info("%s change for an alert not held (forgotten or never seen) ignored", kind)
            return
        alert = fold(current, kind, incoming, source=source)
        if alert.status == "firing":
            mark_opened(alert, datetime.now(UTC))
        store(alert, seen, record)

    async def on_command(record: Any) -> None:
        try:
            cmd = Command.model_validate_json(record.value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "command"
            await reject(record, "invalid-command", f"{where}: {first['msg']}")
            return
        requested.discard(cmd.alert_id)
        current, seen = entry(cmd.alert_id)
        if cmd.command_id in seen:
            log.info("command %s seen before, skipped", cmd.command_id)
            return
        try:
            change = decide(current, cmd, now=datetime.now(UTC))
        except Rejected as exc:
            if current is not None:
                store(current, [*seen, cmd.command_id], record)
            await reject(record, exc.reason, exc.detail)
            return
        alert = change.alert
        store(alert, [*seen, cmd.command_id], record)
        await alerts.send(
            key=alert.alert_id.encode(),
            value=encode(change, time=cmd.at, source=LIFECYCLE_SOURCE),
        )
        metrics.ALERT_CHANGES.labels(alert.rule, alert.severity.value, change.kind).inc()
        log.info(
            "alert %s by %s",
            change.kind,
            cmd.actor,
            extra={"alert_id": alert.alert_id, "command_id": cmd.command_id, "rule": alert.rule},
        )

    async def lifecycle(stream: Any) -> None:
        async for record in stream.events():
            # First: a command arriving after the retention finds the alert already forgotten.
            forget_expired(record.message.partition)
            if record.message.topic == topics.commands:
                await on_command(record)
            else:
                await on_alert_event(record)

    app.agent(channel, concurrency=1, name="lifecycle")(lifecycle)

    async def reindex_after_recovery(sender: Any, /, *args: Any, signal: Any, **kw: Any) -> None:
        """Assigned partitions came back from the changelog: index their entries."""
        index.rebuild(list(table.items()))

    app.on_rebalance_complete.connect(reindex_after_recovery)

    async def escalate_unacknowledged() -> None:
        """Ask, through the commands topic, for escalation of alerts nobody acknowledged."""
        now = datetime.now(UTC)
        for alert_id in index.ack_due(now):
            if alert_id in requested:
                continue
            alert, _ = entry(alert_id)
            if alert is None or not needs_ack_escalation(alert, now, timeout):
                continue
            requested.add(alert_id)
            cmd = Command(
                command_id=uuid.uuid4().hex,
                alert_id=alert_id,
                action="escalate-unacknowledged",
                actor=SYSTEM_ACTOR,
                scope="system",
                at=now,
                note=f"not acknowledged within {settings.ack_timeout_s:g} s",
            )
            await commands.send(key=alert_id.encode(), value=cmd.model_dump_json().encode())

    app.timer(interval=5.0)(escalate_unacknowledged)
