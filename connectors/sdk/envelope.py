"""Turn whatever a connector produced into validated CloudEvent bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from connectors.sdk.item import Draft
from hub.clock import utcnow
from hub.events.fields import format_rfc3339


def _rfc3339(value: datetime | str | None) -> str:
    if value is None:
        return format_rfc3339(utcnow())
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()  # left naive on purpose: validation rejects it with a reason
        return format_rfc3339(value)
    return value


def content_id(event_type: str, time: str, data: Mapping[str, Any]) -> str:
    """A stable id from the content, so identical re-sends without a natural id collapse."""
    body = orjson.dumps([event_type, time, data], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()[:32]


def draft_to_dict(draft: Draft, *, default_source: str) -> dict[str, Any]:
    time = _rfc3339(draft.time)
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": draft.id or content_id(draft.type, time, draft.data),
        "source": draft.source or default_source,
        "type": draft.type,
        "time": time,
        "datacontenttype": "application/json",
        "data": dict(draft.data),
    }
    if draft.district is not None:
        event["district"] = draft.district
    if draft.subject is not None:
        event["subject"] = draft.subject
    return event


def to_bytes(payload: Draft | Mapping[str, Any] | bytes, *, default_source: str) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, Draft):
        return orjson.dumps(draft_to_dict(payload, default_source=default_source))
    return orjson.dumps(dict(payload))
