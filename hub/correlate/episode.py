"""Alert episodes shared by every rule kind: open, extend, escalate, resolve.

One episode of one condition is one alert: repeated matches extend it. Its id is anchored on
the event time of its first evidence, so re-processing the same events re-creates the same id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from hub.alerts.ids import alert_id
from hub.alerts.model import Alert, AlertChange, GeoPoint, Severity
from hub.correlate.fact import Fact
from hub.correlate.spec import _Rule
from hub.correlate.text import AlertText, Facts, default_text

MAX_EVIDENCE = 200  # an alert lists at most this many contributing events (the newest kept)


class Episode(BaseModel):
    alert: Alert
    evidence: dict[str, str] = Field(default_factory=dict)  # uid -> event id, insertion order
    values: dict[str, Any] = Field(default_factory=dict)  # engine-specific (e.g. deadline)


MAX_DESCRIPTION = 1000
TEXT_VALUES = "_text"  # the episode's running aggregates for templates (hub/correlate/text.py)


def render_text(
    rule: _Rule,
    episode: Episode,
    facts: list[Fact],
    fields: Mapping[str, Any],
    text: AlertText | None = None,
) -> None:
    """Fill the alert's headline and descriptions from the rule's templates."""
    text = text or default_text()
    alert = episode.alert
    seen = Facts.load(episode.values.get(TEXT_VALUES))
    seen.add(facts)
    episode.values[TEXT_VALUES] = seen.dump()
    scalars = {
        "key": alert.key,
        "rule": rule.name,
        "count": len(episode.evidence),
        "first_time": alert.first_event_time,
        "last_time": alert.last_event_time,
        **fields,
    }
    alert.headline = text.render(rule.headline, scalars, seen, "en")
    alert.headline_zh = (
        text.render(rule.headline_zh, scalars, seen, "zh-CN") if rule.headline_zh else None
    )
    alert.description = (
        text.render(rule.summary, scalars, seen, "en", MAX_DESCRIPTION) if rule.summary else None
    )
    alert.description_zh = (
        text.render(rule.summary_zh, scalars, seen, "zh-CN", MAX_DESCRIPTION)
        if rule.summary_zh
        else None
    )
    if alert.district is None:
        alert.district = text.district_code(seen)


def departments(rule: _Rule, facts: Iterable[Fact]) -> list[str]:
    found = list(rule.departments)
    for fact in facts:
        for name in rule.departments_from:
            value = fact.get(name)
            if isinstance(value, str) and value not in found:
                found.append(value)
    return found


def _place(facts: list[Fact]) -> tuple[GeoPoint | None, str | None]:
    location = district = None
    for fact in facts:
        p = fact.point
        if p is not None and location is None:
            location = GeoPoint(lat=p[0], lon=p[1])
        if fact.district and district is None:
            district = fact.district
    return location, district


def open_or_extend(
    rule: _Rule,
    episode: Episode | None,
    key: str,
    facts: list[Fact],
    severity: Severity,
    fields: Mapping[str, Any],
    text: AlertText | None = None,
) -> tuple[Episode, AlertChange | None]:
    """Open an episode for `facts`, or add them to the open one; None when nothing changed."""
    facts = sorted(facts, key=lambda f: f.time)
    if episode is None:
        anchor = facts[0].time
        location, district = _place(facts)
        alert = Alert(
            alert_id=alert_id(rule.name, key, anchor),
            rule=rule.name,
            severity=severity,
            category=rule.category,
            headline="",
            key=key,
            district=district,
            location=location,
            first_event_time=anchor,
            last_event_time=facts[-1].time,
            departments=departments(rule, facts),
        )
        episode = Episode(alert=alert)
        kind: Literal["firing", "updated", "escalated"] = "firing"
    else:
        kind = "updated"
    alert = episode.alert
    before = (len(episode.evidence), alert.severity, alert.last_event_time)
    for f in facts:
        episode.evidence.setdefault(f.uid, f.id)
    if len(episode.evidence) > MAX_EVIDENCE:
        for uid in list(episode.evidence)[: len(episode.evidence) - MAX_EVIDENCE]:
            del episode.evidence[uid]
    alert.evidence = list(episode.evidence.values())
    alert.first_event_time = min(alert.first_event_time, facts[0].time)
    alert.last_event_time = max(alert.last_event_time, facts[-1].time)
    for d in departments(rule, facts):
        if d not in alert.departments:
            alert.departments.append(d)
    if alert.location is None or alert.district is None:
        location, district = _place(facts)
        alert.location = alert.location or location
        alert.district = alert.district or district
    if severity.rank > alert.severity.rank:
        alert.severity = severity
        if kind == "updated":
            kind = "escalated"
    render_text(rule, episode, facts, {"key": key, **fields}, text)
    if kind == "updated" and before == (
        len(episode.evidence),
        alert.severity,
        alert.last_event_time,
    ):
        return episode, None
    return episode, AlertChange(kind=kind, alert=alert.model_copy(deep=True))


def escalate(episode: Episode, severity: Severity, fact: Fact) -> AlertChange | None:
    """Raise the open alert's severity because `fact` met an escalation clause."""
    alert = episode.alert
    if severity.rank <= alert.severity.rank:
        return None
    alert.severity = severity
    episode.evidence.setdefault(fact.uid, fact.id)
    alert.evidence = list(episode.evidence.values())
    alert.last_event_time = max(alert.last_event_time, fact.time)
    return AlertChange(kind="escalated", alert=alert.model_copy(deep=True))


def resolve(episode: Episode, at: datetime | None = None) -> AlertChange:
    alert = episode.alert.model_copy(deep=True)
    alert.status = "resolved"
    if at is not None:
        alert.last_event_time = max(alert.last_event_time, at)
    return AlertChange(kind="resolved", alert=alert)
