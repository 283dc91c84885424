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
ChangeKind = Literal[
    "firing", "updated", "escalated", "acknowledged", "resolved", "commented", "assigned"
]

ALERT_EVENT_TYPES: dict[str, str] = {
    "firing": "city.alert.firing",
    "updated": "city.alert.updated",
    "escalated": "city.alert.escalated",
    "acknowledged": "city.alert.acknowledged",
    "resolved": "city.alert.resolved",
    # contract v1.1 (additive): people's comments and assignments are state changes too
    "commented": "city.alert.commented",
    "assigned": "city.alert.assigned",
}
KIND_OF_TYPE = {v: k for k, v in ALERT_EVENT_TYPES.items()}


class GeoPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    lat: float
    lon: float


class Comment(BaseModel):
    at: datetime
    actor: str
    text: str


class Change(BaseModel):
    """Who did what, and when: carried by every change people cause (contract v1.1)."""

    action: str
    actor: str
    at: datetime
    note: str | None = None


class Lifecycle(BaseModel):
    """What people did with an alert. Absent on alerts no one has touched yet (v1.1)."""

    opened_at: datetime | None = None  # wall-clock time the hub first saw it firing
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = None
    assigned_to: str | None = None
    comments: list[Comment] = Field(default_factory=list)
    ack_escalated: bool = False


class Alert(BaseModel):
    """The current state of one alert episode, exactly the `data` of an alert CloudEvent."""

    model_config = ConfigDict(extra="forbid")

    alert_id: str
    rule: str
    severity: Severity
    category: str
    headline: str
    #: contract v1.2 (additive): the headline in Chinese, and a longer text in each language
    headline_zh: str | None = None
    description: str | None = None
    description_zh: str | None = None
    key: str
    district: str | None = None
    location: GeoPoint | None = None
    first_event_time: datetime
    last_event_time: datetime
    evidence: list[str] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list)
    status: Status = "firing"
    lifecycle: Lifecycle | None = None
    change: Change | None = None


class AlertChange(BaseModel):
    """One state change of an alert: what happened to it, and the alert as it now stands."""

    kind: ChangeKind
    alert: Alert

    @property
    def event_type(self) -> str:
        return ALERT_EVENT_TYPES[self.kind]
