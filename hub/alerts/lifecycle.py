"""The alert lifecycle: firing -> acknowledged -> resolved, with comments and assignment.

Pure functions, used by both the worker's lifecycle agent (which decides commands and emits
the resulting changes onto the alerts topic) and the control view (which folds the alerts
topic into its read model), so both agree on every alert's state after any restart.

    firing --acknowledge--> acknowledged --resolve--> resolved
       \\______________________resolve______________/
    the condition clears (correlator `resolved`)  -> resolved (by "hub")
    severity raised while acknowledged            -> firing again: it needs a look
    not acknowledged within the ack timeout       -> escalated one severity level, once
    Extreme/Severe resolved by the hub unseen     -> stays resolved, may still be acknowledged
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.alerts.model import Alert, AlertChange, Change, Comment, Lifecycle, Severity

LIFECYCLE_SOURCE = "urn:onenet:hub:lifecycle"
MAX_COMMENTS = 200
SYSTEM_ACTOR = "hub"

Action = Literal["acknowledge", "resolve", "comment", "assign", "escalate-unacknowledged"]


class Command(BaseModel):
    """A person's action on an alert, as it travels on the alerts.commands topic."""

    model_config = ConfigDict(extra="forbid")

    command_id: str = Field(min_length=1, max_length=64)
    alert_id: str = Field(min_length=1, max_length=128)
    action: Action
    actor: str = Field(min_length=1, max_length=128)
    #: the role the actor acted under: operator, department:<name>, or system (the hub itself)
    scope: str = Field(min_length=1, max_length=140)
    at: datetime
    note: str | None = Field(default=None, max_length=2000)
    department: str | None = Field(default=None, min_length=1, max_length=64)


class Rejected(Exception):
    """A command that cannot apply; `reason` is a stable code, `detail` a sentence."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def may_act(scope: str, alert: Alert) -> bool:
    """Operators act on everything; a department only on alerts routed or assigned to it."""
    if scope in ("operator", "system"):
        return True
    if scope.startswith("department:"):
        dept = scope.removeprefix("department:")
        assigned = alert.lifecycle.assigned_to if alert.lifecycle else None
        return dept in alert.departments or dept == assigned
    return False


ALARMING = frozenset({Severity.EXTREME, Severity.SEVERE})


def needs_acknowledgement(alert: Alert) -> bool:
    """An Extreme or Severe alert nobody has acknowledged, whatever its status: a condition
    that cleared by itself seconds later must still be seen by a person."""
    lc = alert.lifecycle
    if alert.severity not in ALARMING or (lc is not None and lc.acknowledged_at is not None):
        return False
    # resolved by a person counts as seen; resolved by the hub (condition cleared) does not
    return alert.status != "resolved" or (lc is not None and lc.resolved_by == SYSTEM_ACTOR)


def _lifecycle(alert: Alert) -> Lifecycle:
    if alert.lifecycle is None:
        alert.lifecycle = Lifecycle()
    return alert.lifecycle


def fold(current: Alert | None, kind: str, incoming: Alert, *, source: str) -> Alert:
    """Apply one event of the alerts topic to an alert's state.

    Lifecycle events carry the whole new state. The correlator's changes carry only what the
    condition knows, so people's part (acknowledgement, assignment, comments) is kept.
    """
    if source == LIFECYCLE_SOURCE or current is None:
        return incoming.model_copy(deep=True)
    merged = incoming.model_copy(deep=True)
    merged.lifecycle = current.lifecycle.model_copy(deep=True) if current.lifecycle else None
    merged.change = None
    assigned = merged.lifecycle.assigned_to if merged.lifecycle else None
    if assigned and assigned not in merged.departments:
        merged.departments.append(assigned)
    if current.status == "resolved":
        merged.status = "resolved"  # a person closed it; new evidence is recorded, not reopened
    elif kind == "resolved":
        lc = _lifecycle(merged)
        lc.resolved_by = SYSTEM_ACTOR
        lc.resolved_at = incoming.last_event_time
        lc.resolution_note = "condition cleared"
    elif kind == "escalated":
        merged.status = "firing"
    else:
        merged.status = current.status
    return merged


def decide(current: Alert | None, cmd: Command, *, now: datetime) -> AlertChange:
    """The change a command causes, or `Rejected` with a reason a person can act on."""
    if current is None:
        raise Rejected("unknown-alert", f"no alert {cmd.alert_id} is known to the hub")
    if not may_act(cmd.scope, current):
        raise Rejected("forbidden", f"{cmd.scope} may not act on alert {cmd.alert_id}")
    alert = current.model_copy(deep=True)
    lc = _lifecycle(alert)
    alert.change = Change(action=cmd.action, actor=cmd.actor, at=cmd.at, note=cmd.note)
    if cmd.action == "acknowledge":
        if alert.status == "resolved" and needs_acknowledgement(current):
            # seen after the hub resolved it: recorded, the alert stays resolved
            lc.acknowledged_by, lc.acknowledged_at = cmd.actor, cmd.at
            return AlertChange(kind="acknowledged", alert=alert)
        if alert.status != "firing":
            raise Rejected(
                f"already-{alert.status}",
                f"alert {alert.alert_id} is {alert.status}"
                + (f" (by {lc.acknowledged_by})" if alert.status == "acknowledged" else ""),
            )
        alert.status = "acknowledged"
        lc.acknowledged_by, lc.acknowledged_at = cmd.actor, cmd.at
        return AlertChange(kind="acknowledged", alert=alert)
    if cmd.action == "resolve":
        if alert.status == "resolved":
            raise Rejected("already-resolved", f"alert {alert.alert_id} is already resolved")
        if not cmd.note:
            raise Rejected("note-required", "resolving by hand needs a note saying why")
        alert.status = "resolved"
        lc.resolved_by, lc.resolved_at, lc.resolution_note = cmd.actor, cmd.at, cmd.note
        return AlertChange(kind="resolved", alert=alert)
    if cmd.action == "comment":
        if not cmd.note:
            raise Rejected("note-required", "a comment needs text")
        lc.comments = [*lc.comments, Comment(at=cmd.at, actor=cmd.actor, text=cmd.note)][
            -MAX_COMMENTS:
        ]
        return AlertChange(kind="commented", alert=alert)
    if cmd.action == "assign":
        if not cmd.department:
            raise Rejected("department-required", "say which department to assign it to")
        if alert.status == "resolved":
            raise Rejected("already-resolved", f"alert {alert.alert_id} is already resolved")
        lc.assigned_to = cmd.department
        if cmd.department not in alert.departments:
            alert.departments.append(cmd.department)
        return AlertChange(kind="assigned", alert=alert)
    # escalate-unacknowledged: only the hub itself sends it, from its acknowledgement timer
    if cmd.scope != "system":
        raise Rejected("forbidden", "only the hub escalates unacknowledged alerts")
    if alert.status != "firing" or lc.ack_escalated:
        raise Rejected("not-needed", f"alert {alert.alert_id} needs no escalation")
    lc.ack_escalated = True
    alert.severity = _raise(alert.severity)
    alert.change = Change(
        action="escalate-unacknowledged", actor=SYSTEM_ACTOR, at=now, note=cmd.note
    )
    return AlertChange(kind="escalated", alert=alert)


def _raise(severity: Severity) -> Severity:
    order = [Severity.MINOR, Severity.MODERATE, Severity.SEVERE, Severity.EXTREME]
    return order[min(order.index(severity) + 1, len(order) - 1)]


def needs_ack_escalation(alert: Alert, now: datetime, timeout: timedelta) -> bool:
    lc = alert.lifecycle
    opened = lc.opened_at if lc else None
    return (
        alert.status == "firing"
        and not (lc and lc.ack_escalated)
        and opened is not None
        and now - opened >= timeout
    )


def mark_opened(alert: Alert, now: datetime) -> None:
    """Remember when the hub first saw the alert firing: the acknowledgement clock starts."""
    lc = _lifecycle(alert)
    if lc.opened_at is None:
        lc.opened_at = now
