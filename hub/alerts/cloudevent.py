"""Alert changes as CloudEvents on the alerts topic (structured mode, JSON)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from hub.alerts.model import Alert, AlertChange
from hub.events.fields import format_rfc3339

ALERT_SOURCE = "urn:onenet:hub:correlator"


def change_id(change: AlertChange) -> str:
    """Deterministic per change, so a re-emitted change after a restart is recognisably the same."""
    a = change.alert
    raw = (
        f"{a.alert_id}|{change.kind}|{a.severity}|{a.status}|{len(a.evidence)}|{a.last_event_time}"
    )
    if a.change is not None:  # people's changes: who and when make each one distinct
        raw += f"|{a.change.action}|{a.change.actor}|{a.change.at.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def to_cloudevent(
    change: AlertChange, *, time: datetime, source: str = ALERT_SOURCE
) -> dict[str, Any]:
    data = change.alert.model_dump(mode="json")
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": change_id(change),
        "source": source,
        "type": change.event_type,
        "time": format_rfc3339(time),
        "subject": change.alert.alert_id,
        "datacontenttype": "application/json",
        "data": data,
    }
    if change.alert.district:
        event["district"] = change.alert.district
    return event


def encode(change: AlertChange, *, time: datetime, source: str = ALERT_SOURCE) -> bytes:
    return orjson.dumps(to_cloudevent(change, time=time, source=source))


def decode_alert(raw: bytes) -> tuple[str, Alert]:
    """Parse an alert CloudEvent from the alerts topic: (event type, alert)."""
    obj = orjson.loads(raw)
    return str(obj["type"]), Alert.model_validate(obj["data"])
