"""Threshold rules: at least N qualifying events for one key within a sliding event-time window.

The state machine is pure (state in, state and alert changes out) so its edges can be tested
without a broker, and so the stream layer can keep the state in a changelogged table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from hub.alerts.ids import alert_id
from hub.alerts.model import Alert, AlertChange, GeoPoint, Severity
from hub.correlate.observation import Observation

Outcome = Literal["late", "duplicate", "filtered", "counted"]


@dataclass(frozen=True)
class ThresholdRule:
    name: str
    event_type: str
    key_field: str
    value_field: str
    min_value: float
    min_count: int
    window: timedelta
    severity: Severity
    category: str
    departments: tuple[str, ...]
    headline: str  # str.format template over key, count, max_value, min_value, window_s
    escalate_value: float | None = None
    escalate_severity: Severity | None = None

    def severity_for(self, max_value: float) -> Severity:
        if (
            self.escalate_value is not None
            and self.escalate_severity is not None
            and max_value >= self.escalate_value
        ):
            return self.escalate_severity
        return self.severity


class Point(BaseModel):
    uid: str
    event_id: str
    t: datetime
    value: float


class Episode(BaseModel):
    alert: Alert
    members: dict[str, Point] = Field(default_factory=dict)  # by uid: every contributing point


class KeyState(BaseModel):
    """Everything a threshold rule remembers for one key; small and JSON-serialisable."""

    points: list[Point] = Field(default_factory=list)  # qualifying points, sorted by time
    episode: Episode | None = None


def _best_window(points: list[Point], pivot: Point, window: timedelta) -> list[Point]:
    """The largest set of points spanning at most `window` that contains `pivot`."""
    best: list[Point] = []
    for start in points:
        if start.t > pivot.t:
            break
        if pivot.t - start.t > window:
            continue
        members = [p for p in points if start.t <= p.t <= start.t + window]
        if len(members) > len(best):
            best = members
    return best


def observe(
    rule: ThresholdRule, state: KeyState, obs: Observation, watermark: datetime
) -> tuple[Outcome, list[AlertChange]]:
    """Feed one event; `watermark` is the event time before which input is considered complete."""
    if obs.time < watermark:
        return "late", []
    if obs.value < rule.min_value:
        return "filtered", []
    if any(p.uid == obs.uid for p in state.points):
        return "duplicate", []
    point = Point(uid=obs.uid, event_id=obs.event_id, t=obs.time, value=obs.value)
    state.points.append(point)
    state.points.sort(key=lambda p: p.t)
    members = _best_window(state.points, point, rule.window)
    if len(members) < rule.min_count:
        return "counted", []
    return "counted", [_match(rule, state, obs, members)]


def _match(
    rule: ThresholdRule, state: KeyState, obs: Observation, members: list[Point]
) -> AlertChange:
    episode = state.episode
    if episode is None:
        anchor = members[0].t
        alert = Alert(
            alert_id=alert_id(rule.name, obs.key, anchor),
            rule=rule.name,
            severity=rule.severity,
            category=rule.category,
            headline="",
            key=obs.key,
            district=obs.district,
            location=obs.location,
            first_event_time=anchor,
            last_event_time=anchor,
            departments=list(rule.departments),
        )
        episode = state.episode = Episode(alert=alert)
        kind: Literal["firing", "updated", "escalated"] = "firing"
    else:
        kind = "updated"
    alert = episode.alert
    for p in members:
        episode.members.setdefault(p.uid, p)
    ordered = sorted(episode.members.values(), key=lambda p: p.t)
    previous = alert.severity
    alert.evidence = [p.event_id for p in ordered]
    alert.first_event_time = ordered[0].t
    alert.last_event_time = ordered[-1].t
    alert.location = obs.location or alert.location
    alert.district = obs.district or alert.district
    max_value = max(p.value for p in ordered)
    alert.severity = rule.severity_for(max_value)
    if kind == "updated" and alert.severity.rank > previous.rank:
        kind = "escalated"
    alert.headline = rule.headline.format(
        key=obs.key,
        count=len(ordered),
        max_value=max_value,
        min_value=rule.min_value,
        window_s=int(rule.window.total_seconds()),
    )
    return AlertChange(kind=kind, alert=alert.model_copy(deep=True))


def advance(rule: ThresholdRule, state: KeyState, watermark: datetime) -> list[AlertChange]:
    """Move time forward: forget what no window can use and close a quiet episode.

    A point exactly one window behind the watermark can still pair with an on-time event, so
    both the pruning and the closing are strict.
    """
    horizon = watermark - rule.window
    state.points = [p for p in state.points if p.t >= horizon]
    episode = state.episode
    if episode is None or episode.alert.last_event_time + rule.window >= watermark:
        return []
    state.episode = None
    alert = episode.alert.model_copy(deep=True)
    alert.status = "resolved"
    return [AlertChange(kind="resolved", alert=alert)]


def is_idle(state: KeyState) -> bool:
    """True when the key holds nothing worth keeping, so its table entry can be deleted."""
    return not state.points and state.episode is None


__all__ = [
    "Episode",
    "GeoPoint",
    "KeyState",
    "Outcome",
    "Point",
    "ThresholdRule",
    "advance",
    "is_idle",
    "observe",
]
