"""One GeoReport v2 service request -> its opened (and, once closed, closed) event drafts.

Event ids are `(service_request_id, status)`, so every re-poll of the same request, in the
overlap window or after a restart, is recognised as a duplicate; a request first seen closed
yields both events, so the SLA and hotspot rules still see when it was opened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from connectors.sdk.item import Draft, MappingError
from hub.events.fields import parse_rfc3339

OPENED = "city.service.request.opened"
CLOSED = "city.service.request.closed"
MAX_OUTCOME = 1000
MAX_ID = 128


@dataclass(frozen=True)
class MappingConfig:
    departments: Mapping[str, str] = field(default_factory=dict)
    default_department: str | None = None
    district: str | None = None
    district_field: str | None = None
    assume_tz: tzinfo | None = None


def parse_time(value: Any, name: str, assume_tz: tzinfo | None) -> datetime:
    """An aware UTC time; a time without offset gets `assume_tz` if configured, else refused."""
    if isinstance(value, str) and assume_tz is not None:
        try:
            naive = datetime.fromisoformat(value)
        except ValueError:
            naive = None
        if naive is not None and naive.tzinfo is None:
            value = naive.replace(tzinfo=assume_tz)
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise MappingError(
            f"{name} {str(value)[:40]!r} {exc}; for servers that send local time without an "
            "offset, set --assume-tz (e.g. Asia/Shanghai)",
            reason="invalid-time",
        ) from None


def event_id(request_id: str, status: str) -> str:
    plain = f"{request_id}/{status}"
    if len(plain) <= MAX_ID:
        return plain
    return f"sha256-{hashlib.sha256(plain.encode()).hexdigest()[:40]}/{status}"


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _coordinate(value: Any) -> Any:
    """Numbers as is; numeric strings (common in the wild) as floats; anything else unchanged,
    so validation names the field and the bad value in the dead letter."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def bound_time(record: Mapping[str, Any], bound_field: str, cfg: MappingConfig) -> datetime | None:
    """The record's time on the polling axis, or None if it has none usable."""
    try:
        return parse_time(record.get(bound_field), bound_field, cfg.assume_tz)
    except MappingError:
        return None


def map_request(record: Any, cfg: MappingConfig, *, now: datetime) -> list[Draft]:
    if not isinstance(record, Mapping):
        raise MappingError(
            f"a service request must be a JSON object, got {type(record).__name__}",
            reason="not-an-object",
        )
    request_id = _text(record.get("service_request_id"))
    status = str(record.get("status") or "").strip().lower()
    missing = [
        name
        for name, value in (
            ("service_request_id", request_id),
            ("status", status),
            ("service_code", _text(record.get("service_code"))),
            ("requested_datetime", record.get("requested_datetime")),
        )
        if not value
    ]
    if missing:
        raise MappingError(f"service request lacks {', '.join(missing)}", reason="missing-field")
    assert request_id is not None
    if status not in ("open", "closed"):
        raise MappingError(
            f"status {status[:40]!r} is neither 'open' nor 'closed' (GeoReport v2)",
            reason="unknown-status",
        )
    agency = _text(record.get("agency_responsible"))
    department = cfg.departments.get(agency or "") or agency or cfg.default_department
    if department is None:
        raise MappingError(
            "no agency_responsible and no --department default to route the request to",
            reason="missing-department",
        )
    district = cfg.district
    if district is None and cfg.district_field:
        district = _text(record.get(cfg.district_field))

    opened: dict[str, Any] = {
        "request_id": request_id,
        "service_code": _text(record.get("service_code")),
        "department": department,
    }
    lat, lon = record.get("lat"), record.get("long")
    if lat not in (None, "") or lon not in (None, ""):
        opened["location"] = {"lat": _coordinate(lat), "lon": _coordinate(lon)}
    requested = parse_time(record["requested_datetime"], "requested_datetime", cfg.assume_tz)
    drafts = [
        Draft(
            type=OPENED,
            data=opened,
            time=requested,
            id=event_id(request_id, "open"),
            district=district,
        )
    ]
    if status == "closed":
        closed: dict[str, Any] = {"request_id": request_id, "department": department}
        notes = _text(record.get("status_notes"))
        if notes:
            closed["outcome"] = notes[:MAX_OUTCOME]
        updated = record.get("updated_datetime")
        # Without updated_datetime the closing time is unknown; the poll that saw it closed
        # is its latest possible time.
        when = parse_time(updated, "updated_datetime", cfg.assume_tz) if updated else now
        drafts.append(
            Draft(
                type=CLOSED,
                data=closed,
                time=when,
                id=event_id(request_id, "closed"),
                district=district,
            )
        )
    return drafts
