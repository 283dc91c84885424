"""Turn Kafka record bytes into a validated :class:`Event`, or raise :class:`EventRejected`.

Cheap checks run before expensive ones: size before parsing, nesting depth before model
validation, so hostile input costs little. Nothing but ``EventRejected`` escapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, get_args

import orjson
from pydantic import ValidationError

from hub.events.envelope import CloudEvent
from hub.events.errors import EventRejected, Reason
from hub.events.event import Event
from hub.events.fields import DEFAULT_TIME_RANGE, TimeRange, format_rfc3339
from hub.events.types import EVENT_TYPES

DEFAULT_MAX_BYTES = 65536
DEFAULT_MAX_DEPTH = 16
#: Far below both orjson's own nesting limit (1024) and Python's recursion limit.
MAX_DEPTH_LIMIT = 256

Buffer = bytes | bytearray | memoryview
Headers = Sequence[tuple[str, bytes | None]]

_STRUCTURED = b"application/cloudevents"
_BATCH = b"application/cloudevents-batch"


def parse_structured(
    raw: Buffer,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    time_range: TimeRange = DEFAULT_TIME_RANGE,
) -> Event:
    """Parse a structured-mode record (``application/cloudevents+json``).

    ``max_depth`` counts the top-level object as depth 1.
    """
    if not raw:
        raise EventRejected(Reason.EMPTY, "the record has no value; send one CloudEvent object")
    _check_size(len(raw), max_bytes)
    max_depth = _depth_limit(max_depth)
    document = _loads(raw, max_depth)
    if not isinstance(document, dict):
        raise EventRejected(
            Reason.NOT_AN_OBJECT,
            f"a structured event must be a JSON object, got {_kind(document)}",
        )
    _check_depth(document, max_depth)
    return _build(document, time_range)


def parse_binary(
    value: Buffer | None,
    headers: Headers,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    time_range: TimeRange = DEFAULT_TIME_RANGE,
) -> Event:
    """Parse a binary-mode record: attributes in ``ce_*`` headers, ``data`` as the value.

    Per the CloudEvents Kafka binding every attribute arrives as a UTF-8 string, so
    integer and boolean extensions come back as strings. Depth is counted as if the data
    were nested in a structured event, so both modes accept the same documents.
    """
    if not value:
        raise EventRejected(Reason.EMPTY, "the record has no value; binary mode needs data")
    _check_size(len(value) + sum(len(n) + len(v or b"") for n, v in headers), max_bytes)
    max_depth = _depth_limit(max_depth)
    attributes: dict[str, Any] = {}
    for name, raw in headers:
        attribute = _KNOWN_HEADERS.get(name) or _attribute_of(name)
        if attribute is None or raw is None:
            continue
        if attribute in attributes:
            raise EventRejected(
                Reason.INVALID_ENVELOPE, f"header {name!r} appears twice; send it once"
            )
        try:
            attributes[attribute] = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise EventRejected(
                Reason.INVALID_ENCODING, f"header {name!r} is not valid UTF-8"
            ) from None
    data = _loads(value, max_depth)
    if not isinstance(data, dict):
        raise EventRejected(
            Reason.NOT_AN_OBJECT, f"binary-mode data must be a JSON object, got {_kind(data)}"
        )
    _check_depth(data, max_depth, depth=2)  # where data sits in the structured form
    attributes["data"] = data
    return _build(attributes, time_range)


def parse_record(
    value: Buffer | None,
    headers: Headers | None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    time_range: TimeRange = DEFAULT_TIME_RANGE,
) -> Event:
    """Parse a Kafka record in whichever content mode its headers announce.

    A ``content-type`` of ``application/cloudevents…`` means structured mode, as the binding
    requires; otherwise a ``ce_specversion`` header means binary mode; otherwise the value is
    taken as a structured event (plain JSON producers such as ``onenet publish``).
    """
    content_type: bytes | None = None
    binary = False
    for name, raw in headers or ():
        lowered = name.lower()
        if lowered == "content-type":
            content_type = raw
        elif lowered == "ce_specversion":
            binary = True
    if content_type is not None and content_type[:23].lower() == _STRUCTURED:
        if content_type[:29].lower() == _BATCH:
            raise EventRejected(
                Reason.INVALID_ENVELOPE,
                "batch mode (application/cloudevents-batch) is not accepted; "
                "send one event per record",
            )
        binary = False
    if binary:
        return parse_binary(
            value, headers or (), max_bytes=max_bytes, max_depth=max_depth, time_range=time_range
        )
    return parse_structured(
        value or b"", max_bytes=max_bytes, max_depth=max_depth, time_range=time_range
    )


# Exact-name lookups first: the lowercase spellings are what producers send, and a dict hit is
# several times cheaper than lower() + startswith() per header in the hot loop.
_KNOWN_HEADERS = {
    "ce_specversion": "specversion",
    "ce_id": "id",
    "ce_source": "source",
    "ce_type": "type",
    "ce_time": "time",
    "ce_subject": "subject",
    "ce_dataschema": "dataschema",
    "ce_district": "district",
    "content-type": "datacontenttype",
}


def _attribute_of(name: str) -> str | None:
    lowered = name.lower()
    if lowered.startswith("ce_"):
        return lowered[3:]
    return "datacontenttype" if lowered == "content-type" else None


def _build(document: dict[str, Any], time_range: TimeRange) -> Event:
    try:
        envelope = CloudEvent.model_validate(document)
    except ValidationError as exc:
        raise EventRejected.from_validation(Reason.INVALID_ENVELOPE, exc) from None
    _check_time("time", envelope.time, time_range)
    try:
        event = Event.from_envelope(envelope)
    except ValidationError as exc:
        raise EventRejected.from_validation(Reason.INVALID_DATA, exc, prefix="data") from None
    for name in _TIME_FIELDS[event.type]:
        value = getattr(event.data, name)
        if value is not None:
            _check_time(f"data.{name}", value, time_range, happened=False)
    return event


#: The time fields of each event type's data (``due_by``), found once rather than per event.
_TIME_FIELDS: dict[str, tuple[str, ...]] = {
    event_type: tuple(
        name
        for name, field in model.model_fields.items()
        if datetime in (field.annotation, *get_args(field.annotation))
    )
    for event_type, model in EVENT_TYPES.items()
}


def _check_time(
    path: str, value: datetime, time_range: TimeRange, *, happened: bool = True
) -> None:
    """Every time an event carries is judged by one range: rules add windows and deadlines
    to them, and a watermark follows them, so one absurd time must not reach either."""
    problem = time_range.problem(value, happened=happened)
    if problem is not None:
        raise EventRejected(
            Reason.TIME_OUT_OF_RANGE,
            f"{path}: {format_rfc3339(value)} {problem} "
            "(ONENET_EVENT_TIME_MIN, ONENET_EVENT_TIME_MAX, ONENET_EVENT_TIME_MAX_AHEAD_S); "
            "check the sending system's clock",
        )


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise EventRejected(
            Reason.TOO_LARGE,
            f"the record is {size} bytes, over the {max_bytes}-byte limit "
            "(ONENET_MAX_EVENT_BYTES); send smaller events",
        )


def _loads(raw: Buffer, max_depth: int) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        message = str(exc)
    if "depth limit" in message or "recursion" in message:
        raise EventRejected(Reason.TOO_DEEP, f"nested deeper than {max_depth} levels")
    try:
        bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EventRejected(
            Reason.INVALID_ENCODING, f"not valid UTF-8 at byte {exc.start}; encode as UTF-8"
        ) from None
    raise EventRejected(Reason.INVALID_JSON, f"not valid JSON: {message}")


_CONTAINERS = (dict, list)


def _check_depth(node: dict[str, Any] | list[Any], max_depth: int, depth: int = 1) -> None:
    # Recursion is bounded by max_depth (capped by _depth_limit) and is the fastest walk here.
    for child in node.values() if isinstance(node, dict) else node:
        if isinstance(child, _CONTAINERS):
            if depth >= max_depth:
                raise EventRejected(
                    Reason.TOO_DEEP, f"nested deeper than {max_depth} levels; flatten the data"
                )
            _check_depth(child, max_depth, depth + 1)


def _depth_limit(max_depth: int) -> int:
    if not 2 <= max_depth <= MAX_DEPTH_LIMIT:
        raise ValueError(f"max_depth must be in 2..{MAX_DEPTH_LIMIT}, got {max_depth}")
    return max_depth


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
