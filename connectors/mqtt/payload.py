"""Sensor gateway payloads -> hydrogen reading drafts, or a reason the record is refused.

The default shape is the JSON most gateways send; field names are configurable because every
vendor spells them differently. Anything else plugs in as a `module:function` mapping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.sdk.item import Draft, MappingError
from connectors.sdk.mapping import json_object

HYDROGEN = "city.safety.hydrogen.reading"
#: Numbers at least this large are epoch milliseconds (1e11 s is the year 5138).
EPOCH_MS_THRESHOLD = 100_000_000_000


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """What a custom mapping receives: `site_id` is the topic segment matched by `+`, if any."""

    topic: str
    payload: bytes
    site_id: str | None
    qos: int = 0
    retain: bool = False


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Where each reading field lives in the JSON payload; dotted paths reach nested objects."""

    sensor_id: str = "sensor_id"
    ppm: str = "ppm"
    time: str = "ts"
    lat: str = "lat"
    lon: str = "lon"
    pressure: str = "pressure_mpa"
    site_id: str = "site_id"


def event_id(topic: str, payload: bytes) -> str:
    """Same topic and bytes -> same id, so a QoS 1 redelivery after a crash is a duplicate."""
    return hashlib.sha256(topic.encode() + b"\x00" + payload).hexdigest()[:32]


def _lookup(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def map_json(message: MqttMessage, fields: FieldMap, *, district: str | None = None) -> Draft:
    """Map the default JSON shape; value checks (ppm >= 0, lat range) are left to validation,
    whose dead-letter details name the field and the bad value."""
    record = json_object(message.payload, what="the payload")
    site_id = message.site_id or _lookup(record, fields.site_id)
    values = {
        "sensor_id": _lookup(record, fields.sensor_id),
        "ppm": _lookup(record, fields.ppm),
        "lat": _lookup(record, fields.lat),
        "lon": _lookup(record, fields.lon),
    }
    missing = [getattr(fields, name) for name, value in values.items() if value is None]
    if site_id is None:
        missing.insert(0, f"{fields.site_id} (no '+' in the topic filter to take it from)")
    if missing:
        raise MappingError(
            f"payload lacks {', '.join(missing)}; map other names with the --*-field options",
            reason="missing-field",
        )
    data: dict[str, Any] = {
        "site_id": site_id,
        "sensor_id": values["sensor_id"],
        "h2_ppm": values["ppm"],
        "location": {"lat": values["lat"], "lon": values["lon"]},
    }
    pressure = _lookup(record, fields.pressure)
    if pressure is not None:
        data["pressure_mpa"] = pressure
    return Draft(
        type=HYDROGEN,
        data=data,
        time=_time(_lookup(record, fields.time)),
        id=event_id(message.topic, message.payload),
        district=district,
    )


def _time(value: Any) -> datetime | str | None:
    """RFC 3339 text as is (validation explains a bad one); epoch seconds or milliseconds, as
    many gateways send, converted. None: the runner stamps the receipt time, and a redelivery
    still keeps its id because the id hashes the bytes."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= EPOCH_MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise MappingError(
                f"timestamp {value!r} is out of range", reason="invalid-time"
            ) from None
    if value is None or isinstance(value, str):
        return value
    raise MappingError(
        f"timestamp must be RFC 3339 text or epoch seconds/milliseconds, got {value!r:.40}",
        reason="invalid-time",
    )
