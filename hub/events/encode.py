"""Canonical encodings of an :class:`Event`, for producers and for re-publishing.

Canonical means one byte string per event: sorted keys, UTC times with ``Z``, data from the
typed model. Equal events therefore encode identically, which makes replays and
deduplication by content safe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from hub.events.event import Event
from hub.events.fields import format_rfc3339

#: The ``content-type`` header a producer sets on a structured-mode record.
CONTENT_TYPE_STRUCTURED = "application/cloudevents+json; charset=utf-8"


def to_structured_bytes(event: Event) -> bytes:
    """Structured mode (``application/cloudevents+json``): envelope and data in one object."""
    document: dict[str, Any] = event.envelope.model_dump(
        mode="json", exclude={"data"}, exclude_none=True
    )
    document["data"] = event.data.model_dump(mode="json")
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def to_binary(event: Event) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Binary mode: ``(value, headers)`` with one ``ce_*`` header per attribute.

    ``datacontenttype`` travels as the ``content-type`` header, as the Kafka binding requires.
    """
    headers: list[tuple[str, bytes]] = []
    for name, value in event.envelope.attributes().items():
        header = "content-type" if name == "datacontenttype" else f"ce_{name}"
        headers.append((header, _header_text(value).encode("utf-8")))
    value_bytes = orjson.dumps(event.data.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return value_bytes, headers


def _header_text(value: str | int | bool | datetime) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_rfc3339(value)
    return str(value)
