"""One example per message of contract v1, as a producer would send it.

They are written into the JSON Schemas (``examples``) and the AsyncAPI messages, so they must
stay valid: the tests parse every one with the hub's own parser and validate it against its
schema. The alert example is built by the hub's own encoder, so it is exactly what it emits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.alerts.cloudevent import to_cloudevent
from hub.alerts.ids import alert_id
from hub.alerts.lifecycle import Command
from hub.alerts.model import Alert, AlertChange, GeoPoint, Severity

_LOCATION = {"lat": 31.2304, "lon": 121.4737}


def _event(event_type: str, id: str, source: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": id,
        "source": source,
        "type": event_type,
        "time": "2024-05-01T08:30:00+08:00",
        "district": "310115",
        "datacontenttype": "application/json",
        "data": data,
    }


EVENT_EXAMPLES: dict[str, dict[str, Any]] = {
    "city.safety.hydrogen.reading": _event(
        "city.safety.hydrogen.reading",
        "h2-7-a-000123",
        "urn:onenet:connector:mqtt:h2-station-7",
        {
            "site_id": "h2-station-7",
            "sensor_id": "h2-7-a",
            "h2_ppm": 4200.5,
            "pressure_mpa": 35.0,
            "location": _LOCATION,
        },
    ),
    "city.safety.hazard.reported": _event(
        "city.safety.hazard.reported",
        "hz-2024-0042",
        "urn:onenet:connector:ingest:safety-app",
        {
            "site_id": "h2-station-7",
            "hazard": "smell of gas near dispenser 2",
            "location": _LOCATION,
        },
    ),
    "city.safety.inspection.scheduled": _event(
        "city.safety.inspection.scheduled",
        "insp-ent-001-2024-06",
        "urn:onenet:connector:replay:inspections",
        {
            "enterprise_id": "ent-001",
            "site_id": "h2-station-7",
            "due_by": "2024-06-01T17:00:00+08:00",
            "location": _LOCATION,
        },
    ),
    "city.safety.inspection.completed": _event(
        "city.safety.inspection.completed",
        "insp-ent-001-2024-06-done",
        "urn:onenet:connector:replay:inspections",
        {
            "enterprise_id": "ent-001",
            "site_id": "h2-station-7",
            "result": "pass",
            "location": _LOCATION,
        },
    ),
    "city.security.incident.reported": _event(
        "city.security.incident.reported",
        "inc-42",
        "urn:onenet:connector:ingest:police",
        {"incident_id": "inc-42", "category": "theft", "location": _LOCATION},
    ),
    "city.security.crowd.density": _event(
        "city.security.crowd.density",
        "cam-9-20240501T003000Z",
        "urn:onenet:connector:ingest:video-ai",
        {"camera_id": "cam-9", "persons_per_m2": 4.5, "location": _LOCATION},
    ),
    "city.service.request.opened": _event(
        "city.service.request.opened",
        "12345-2024-0001-opened",
        "urn:onenet:connector:open311:hotline-12345",
        {
            "request_id": "12345-2024-0001",
            "service_code": "street-light",
            "department": "urban-management",
            "location": _LOCATION,
        },
    ),
    "city.service.request.closed": _event(
        "city.service.request.closed",
        "12345-2024-0001-closed",
        "urn:onenet:connector:open311:hotline-12345",
        {
            "request_id": "12345-2024-0001",
            "department": "urban-management",
            "outcome": "lamp replaced",
        },
    ),
}


def alert_example() -> dict[str, Any]:
    """A ``city.alert.firing`` event as the worker encodes it."""
    first = datetime(2024, 5, 1, 0, 30, tzinfo=UTC)
    last = datetime(2024, 5, 1, 0, 30, 40, tzinfo=UTC)
    alert = Alert(
        alert_id=alert_id("hydrogen-leak", "h2-station-7", first),
        rule="hydrogen-leak",
        severity=Severity.SEVERE,
        category="Safety",
        headline=(
            "Hydrogen leak at site h2-station-7: 3 readings >= 4000 ppm within 60 s (max 4200 ppm)"
        ),
        key="h2-station-7",
        district="310115",
        location=GeoPoint(lat=31.2304, lon=121.4737),
        first_event_time=first,
        last_event_time=last,
        evidence=["h2-7-a-000121", "h2-7-a-000122", "h2-7-a-000123"],
        departments=["safety"],
    )
    return to_cloudevent(AlertChange(kind="firing", alert=alert), time=last)


def command_example() -> dict[str, Any]:
    """An operator acknowledging the example alert, as the commands topic carries it."""
    first = datetime(2024, 5, 1, 0, 30, tzinfo=UTC)
    command = Command(
        command_id="9f1c2e7a4b5d4e0f8a6b3c2d1e0f9a8b",
        alert_id=alert_id("hydrogen-leak", "h2-station-7", first),
        action="acknowledge",
        actor="duty-officer-3",
        scope="operator",
        at=datetime(2024, 5, 1, 0, 31, 5, tzinfo=UTC),
        note="crew dispatched",
    )
    dumped: dict[str, Any] = command.model_dump(mode="json")
    return dumped
