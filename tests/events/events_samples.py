"""Valid v1 event documents, one per type, for the hub.events tests."""

from __future__ import annotations

import copy
from typing import Any

import orjson

LOCATION = {"lat": 31.2304, "lon": 121.4737}

DATA: dict[str, dict[str, Any]] = {
    "city.safety.hydrogen.reading": {
        "site_id": "h2-station-7",
        "sensor_id": "h2-7-a",
        "h2_ppm": 4200.5,
        "pressure_mpa": 35.0,
        "location": LOCATION,
    },
    "city.safety.hazard.reported": {
        "site_id": "h2-station-7",
        "hazard": "smell of gas near dispenser 2",
        "location": LOCATION,
    },
    "city.safety.inspection.scheduled": {
        "enterprise_id": "ent-001",
        "site_id": "h2-station-7",
        "due_by": "2024-06-01T17:00:00+08:00",
        "location": LOCATION,
    },
    "city.safety.inspection.completed": {
        "enterprise_id": "ent-001",
        "site_id": "h2-station-7",
        "result": "pass",
        "location": LOCATION,
    },
    "city.security.incident.reported": {
        "incident_id": "inc-42",
        "category": "theft",
        "location": LOCATION,
    },
    "city.security.crowd.density": {
        "camera_id": "cam-9",
        "persons_per_m2": 4.5,
        "location": LOCATION,
    },
    "city.service.request.opened": {
        "request_id": "12345-2024-0001",
        "service_code": "street-light",
        "department": "urban-management",
        "location": LOCATION,
    },
    "city.service.request.closed": {
        "request_id": "12345-2024-0001",
        "department": "urban-management",
        "outcome": "lamp replaced",
    },
}

ALL_TYPES = sorted(DATA)


def event_doc(
    event_type: str = "city.safety.hydrogen.reading", /, **overrides: Any
) -> dict[str, Any]:
    """A structured-mode document; ``overrides`` replace envelope attributes (None deletes)."""
    doc: dict[str, Any] = {
        "specversion": "1.0",
        "id": "evt-0001",
        "source": "urn:onenet:connector:test",
        "type": event_type,
        "time": "2024-05-01T08:30:00+08:00",
        "district": "310115",
        "data": copy.deepcopy(DATA[event_type]) if event_type in DATA else {},
    }
    for key, value in overrides.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def with_data(event_type: str = "city.safety.hydrogen.reading", /, **fields: Any) -> bytes:
    """Encoded document whose data fields are overridden (None deletes a field)."""
    doc = event_doc(event_type)
    for key, value in fields.items():
        if value is None:
            doc["data"].pop(key, None)
        else:
            doc["data"][key] = value
    return orjson.dumps(doc)


def encode(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc)
