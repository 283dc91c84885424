"""What a connector hands to the runner: a draft event, a ready CloudEvent, or raw bytes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Draft:
    """An event before its envelope: the runner fills `source`, `id` and `time` when absent.

    Give `id` whenever the department's system has a natural one (a reading number, a request
    id): then a re-sent record is recognised as the same event. Without it the id is a hash of
    the content, which also makes identical re-sends collapse.
    """

    type: str
    data: Mapping[str, Any]
    time: datetime | str | None = None
    id: str | None = None
    district: str | None = None
    subject: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One input record. `payload` is a Draft, a CloudEvent as a dict, or its JSON bytes.

    `origin` says where it came from (file:line, MQTT topic, URL) and is written to the
    dead-letter headers; `position` is the checkpoint to resume after this record;
    `raw` is what was received, dead-lettered as is when the record is rejected.
    """

    payload: Draft | Mapping[str, Any] | bytes
    origin: str = ""
    position: Any = None
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What became of one record: published, a duplicate dropped, or rejected with a reason."""

    status: Literal["published", "duplicate", "rejected"]
    reason: str = ""
    detail: str = ""
    topic: str = ""
    event_id: str = ""

    @property
    def accepted(self) -> bool:
        return self.status != "rejected"


class MappingError(Exception):
    """Raised by a mapping function for a record it cannot map; the record is dead-lettered."""

    def __init__(self, detail: str, *, reason: str = "mapping-failed") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
