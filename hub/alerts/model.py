"""The alert of contract v1, and the change records that announce its lifecycle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    """CAP 1.2 severities, ordered by `rank` so escalation can compare them."""

    MINOR = "Minor"
    MODERATE = "Moderate"
    SEVERE = "Severe"
    EXTREME = "Extreme"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.MINOR: 1, Severity.MODERATE: 2, Severity.SEVERE: 3, Severity.EXTREME: 4}

Status = Literal["firing", "acknowledged", "resolved"]
ChangeKind = Literal["firing", "updated", "escalated", "acknowledged", "resolved"]

ALERT_EVENT_TYPES: dict[str, str] = {
    "firing": "city.alert.firing",
    "updated": "city.alert.updated",
    "escalated": "city.alert.escalated",
    "acknowledged": "city.alert.acknowledged",
    "resolved": "city.alert.resolved",
}


class GeoPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    lat: float
    lon: float


class Alert(BaseModel):
    """The current state of one alert episode, exactly the `data` of an alert CloudEvent."""

    model_config = ConfigDict(extra="forbid")

    alert_id: str
    rule: str
    severity: Severity
    category: str
    headline: str
    key: str
    district: str | None = None
    location: GeoPoint | None = None
    first_event_time: datetime
    last_event_time: datetime
    evidence: list[str] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list)
    status: Status = "firing"


class AlertChange(BaseModel):
    """One state change of an alert: what happened to it, and the alert as it now stands."""

    kind: ChangeKind
    alert: Alert

    @property
    def event_type(self) -> str:
        return ALERT_EVENT_TYPES[self.kind]
