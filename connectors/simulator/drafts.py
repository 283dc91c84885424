"""Draft builders for the v1 event types, shared by the background and the scenarios.

Plain dicts and no validation here: this is the hot path of a simulator that benchmarks run at
tens of thousands of events per second; the runner (or `parse_structured` in the tests) checks
every event against the contract anyway.
"""

from __future__ import annotations

from datetime import datetime

from connectors.sdk.item import Draft
from connectors.simulator.city import Enterprise
from connectors.simulator.geo import Point
from hub.events.fields import format_rfc3339

HYDROGEN_READING = "city.safety.hydrogen.reading"
HAZARD_REPORTED = "city.safety.hazard.reported"
INSPECTION_SCHEDULED = "city.safety.inspection.scheduled"
INSPECTION_COMPLETED = "city.safety.inspection.completed"
INCIDENT_REPORTED = "city.security.incident.reported"
CROWD_DENSITY = "city.security.crowd.density"
REQUEST_OPENED = "city.service.request.opened"
REQUEST_CLOSED = "city.service.request.closed"


def time_of(draft: Draft) -> datetime:
    """The event time of a simulator draft (always set, always aware)."""
    t = draft.time
    if not isinstance(t, datetime):
        raise TypeError(f"simulator draft {draft.id} has no datetime time")
    return t


def hydrogen_reading(
    eid: str,
    t: datetime,
    *,
    site_id: str,
    sensor_id: str,
    point: Point,
    district: str,
    ppm: float,
    pressure_mpa: float | None = None,
) -> Draft:
    data: dict[str, object] = {
        "site_id": site_id,
        "sensor_id": sensor_id,
        "h2_ppm": ppm,
        "location": point.location(),
    }
    if pressure_mpa is not None:
        data["pressure_mpa"] = pressure_mpa
    return Draft(HYDROGEN_READING, data, time=t, id=eid, district=district)


def hazard_reported(
    eid: str, t: datetime, *, site_id: str, point: Point, district: str, hazard: str
) -> Draft:
    data = {"site_id": site_id, "hazard": hazard, "location": point.location()}
    return Draft(HAZARD_REPORTED, data, time=t, id=eid, district=district)


def inspection_scheduled(eid: str, t: datetime, ent: Enterprise, due_by: datetime) -> Draft:
    data = {
        "enterprise_id": ent.enterprise_id,
        "site_id": ent.site_id,
        "due_by": format_rfc3339(due_by),
        "location": ent.point.location(),
    }
    return Draft(INSPECTION_SCHEDULED, data, time=t, id=eid, district=ent.district)


def inspection_completed(eid: str, t: datetime, ent: Enterprise, result: str) -> Draft:
    data = {
        "enterprise_id": ent.enterprise_id,
        "site_id": ent.site_id,
        "result": result,
        "location": ent.point.location(),
    }
    return Draft(INSPECTION_COMPLETED, data, time=t, id=eid, district=ent.district)


def incident_reported(
    eid: str, t: datetime, *, incident_id: str, category: str, point: Point, district: str
) -> Draft:
    data = {"incident_id": incident_id, "category": category, "location": point.location()}
    return Draft(INCIDENT_REPORTED, data, time=t, id=eid, district=district)


def crowd_density(
    eid: str, t: datetime, *, camera_id: str, point: Point, district: str, value: float
) -> Draft:
    data = {"camera_id": camera_id, "persons_per_m2": value, "location": point.location()}
    return Draft(CROWD_DENSITY, data, time=t, id=eid, district=district)


def request_opened(
    eid: str,
    t: datetime,
    *,
    request_id: str,
    department: str,
    service_code: str,
    point: Point,
    district: str,
) -> Draft:
    data = {
        "request_id": request_id,
        "service_code": service_code,
        "department": department,
        "location": point.location(),
    }
    return Draft(REQUEST_OPENED, data, time=t, id=eid, district=district)


def request_closed(
    eid: str, t: datetime, *, request_id: str, department: str, district: str, outcome: str
) -> Draft:
    data = {"request_id": request_id, "department": department, "outcome": outcome}
    return Draft(REQUEST_CLOSED, data, time=t, id=eid, district=district)
