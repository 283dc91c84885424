"""The ingest gate: what every path onto the domain topics does to a record, written once.

`onenet publish` and the connector runner both take bytes from outside, parse them with the
workers' parser, send a valid event to its domain topic keyed by its correlation key with the
structured-mode content type, and send anything else to the dead-letter topic with the
reason. This module builds those records; the callers only send them, so the two paths
cannot drift apart. Pure: it names topics and headers and touches no producer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.events.deadletter import deadletter_headers, fit_for_deadletter
from hub.events.encode import CONTENT_TYPE_STRUCTURED
from hub.events.event import Event
from hub.events.fields import DEFAULT_TIME_RANGE, TimeRange
from hub.events.parse import DEFAULT_MAX_BYTES, parse_structured
from hub.topics import Topics

#: The header of a structured-mode record, as the Kafka binding of CloudEvents names it.
CONTENT_TYPE = ("content-type", CONTENT_TYPE_STRUCTURED.encode())
#: The connector that published an event (absent on records `onenet publish` sent).
CONNECTOR_HEADER = "onenet_connector"

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record ready for `producer.send(topic, value, key=key, headers=headers)`."""

    topic: str
    value: bytes
    key: bytes | None
    headers: Headers


def admit(
    raw: bytes,
    topics: Topics,
    *,
    connector: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    time_range: TimeRange = DEFAULT_TIME_RANGE,
) -> tuple[Event, Outgoing]:
    """The event in `raw` and its record for the domain topic; raises `EventRejected`.

    The value is `raw` untouched, so what a department sent is what the workers read.
    """
    event = parse_structured(raw, max_bytes=max_bytes, time_range=time_range)
    headers: Headers = [CONTENT_TYPE]
    if connector is not None:
        headers.append((CONNECTOR_HEADER, connector.encode()))
    return event, Outgoing(topics.events(event.domain), raw, event.key.encode(), headers)


def refuse(
    raw: bytes,
    reason: str,
    detail: str,
    topics: Topics,
    *,
    connector: str | None = None,
    origin: str | None = None,
    extra: Sequence[tuple[str, bytes]] = (),
) -> Outgoing:
    """The dead letter for `raw`: its reason in the headers, cut down if it would not fit."""
    headers = [
        *deadletter_headers(reason, detail, connector=connector, origin=origin),
        *extra,
    ]
    _, value, headers = fit_for_deadletter(None, raw, headers)
    return Outgoing(topics.deadletter, value or b"", None, headers)
