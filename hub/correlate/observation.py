"""What a rule sees of an event: the few fields it correlates on, independent of the wire form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.alerts.model import GeoPoint


@dataclass(frozen=True, slots=True)
class Observation:
    uid: str  # "(source, id)" joined: the identity of the event, for de-duplication
    event_id: str  # the CloudEvent id, listed as evidence
    time: datetime  # event time, timezone-aware
    key: str
    value: float
    location: GeoPoint | None = None
    district: str | None = None
