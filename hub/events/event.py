"""A validated v1 event: its envelope plus the typed data, and the keys Kafka needs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from hub.clock import utcnow
from hub.events.envelope import CORE_ATTRIBUTES, CloudEvent, ExtensionValue
from hub.events.errors import EventRejected, Reason
from hub.events.types import EVENT_TYPES, EventData, Location

_RESERVED = CORE_ATTRIBUTES | {"district", "data"}


class Event:
    """An immutable, validated event.

    Equality ignores ``envelope.data`` (the raw object as received) and compares the typed
    ``data`` instead, so an event equals its own canonical re-encoding.
    """

    __slots__ = ("data", "envelope")

    envelope: CloudEvent
    data: EventData

    def __init__(self, envelope: CloudEvent, data: EventData) -> None:
        model = EVENT_TYPES.get(envelope.type)
        if model is None:
            raise EventRejected(Reason.UNKNOWN_TYPE, unknown_type_detail(envelope.type))
        if type(data) is not model:
            raise TypeError(f"{envelope.type} carries {model.__name__}, not {type(data).__name__}")
        if envelope.district is None and data.requires_district():
            raise EventRejected(
                Reason.MISSING_DISTRICT,
                f"{envelope.type} without data.location needs the envelope's district "
                "extension; add one of them",
            )
        object.__setattr__(self, "envelope", envelope)
        object.__setattr__(self, "data", data)

    @classmethod
    def from_envelope(cls, envelope: CloudEvent) -> Event:
        """Type the envelope's raw data (raises pydantic's ValidationError on bad data)."""
        model = EVENT_TYPES.get(envelope.type)
        if model is None:
            raise EventRejected(Reason.UNKNOWN_TYPE, unknown_type_detail(envelope.type))
        return cls(envelope, model.model_validate(envelope.data))

    @classmethod
    def new(
        cls,
        data: EventData,
        *,
        source: str,
        district: str | None = None,
        id: str | None = None,
        time: datetime | None = None,
        subject: str | None = None,
        extensions: dict[str, ExtensionValue] | None = None,
    ) -> Event:
        """Build an event for a producer (connector), filling ``id`` and ``time`` if absent."""
        clash = _RESERVED.intersection(extensions or ())
        if clash:
            raise ValueError(f"extensions must not redefine attributes: {sorted(clash)}")
        envelope = CloudEvent.model_validate(
            {
                "specversion": "1.0",
                "id": id if id is not None else str(uuid.uuid4()),
                "source": source,
                "type": data.event_type,
                "time": time if time is not None else utcnow(),
                "subject": subject,
                "district": district,
                "data": data.model_dump(mode="json"),
                **(extensions or {}),
            }
        )
        return cls(envelope, data)

    def __reduce__(self) -> tuple[type[Event], tuple[CloudEvent, EventData]]:
        # Slots plus a refusing __setattr__ defeat pickle's default; rebuild through __init__.
        return (Event, (self.envelope, self.data))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Event is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Event is immutable")

    @property
    def type(self) -> str:
        return self.envelope.type

    @property
    def event_time(self) -> datetime:
        """When it happened (aware, UTC): the clock that windows and deadlines use."""
        return self.envelope.time

    @property
    def district(self) -> str | None:
        return self.envelope.district

    @property
    def location(self) -> Location | None:
        location: Location | None = getattr(self.data, "location", None)
        return location

    @property
    def dedup_key(self) -> tuple[str, str]:
        """CloudEvents identity: a re-sent duplicate has the same (source, id)."""
        return (self.envelope.source, self.envelope.id)

    @property
    def domain(self) -> str:
        """safety, security or service: which events topic the event belongs on."""
        return self.data.domain

    @property
    def key(self) -> str:
        """Kafka correlation key: site_id (safety), H3 cell (security), request_id (service)."""
        return self.data.correlation_key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self.data == other.data and (
            self.envelope.attributes() == other.envelope.attributes()
        )

    def __hash__(self) -> int:
        return hash(self.dedup_key)

    def __repr__(self) -> str:
        return (
            f"Event(type={self.type!r}, source={self.envelope.source!r}, id={self.envelope.id!r})"
        )


def unknown_type_detail(event_type: str) -> str:
    return f"type {event_type!r} is not a v1 event type; expected one of {', '.join(EVENT_TYPES)}"
