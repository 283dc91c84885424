"""The alert lifecycle, pure: commands, scoping, folding the alerts topic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.alerts.lifecycle import (
    LIFECYCLE_SOURCE,
    Command,
    Rejected,
    decide,
    fold,
    mark_opened,
    may_act,
    needs_ack_escalation,
    needs_acknowledgement,
)
from hub.alerts.model import Alert, Severity

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
CORRELATOR = "urn:onenet:hub:correlator"


def alert(**kw: object) -> Alert:
    base: dict[str, object] = {
        "alert_id": "hydrogen-leak-1",
        "rule": "hydrogen-leak",
        "severity": "Severe",
        "category": "Safety",
        "headline": "leak",
        "key": "S1",
        "first_event_time": T0,
        "last_event_time": T0,
        "evidence": ["e1", "e2", "e3"],
        "departments": ["safety"],
    }
    return Alert.model_validate({**base, **kw})


def cmd(action: str, scope: str = "operator", **kw: object) -> Command:
    return Command.model_validate(
        {
            "command_id": f"c-{action}",
            "alert_id": "hydrogen-leak-1",
            "action": action,
            "actor": "alice",
            "scope": scope,
            "at": T0 + timedelta(minutes=1),
            **kw,
        }
    )


def test_acknowledge_then_resolve_records_who_and_when() -> None:
    acked = decide(alert(), cmd("acknowledge"), now=T0)
    assert acked.kind == "acknowledged"
    assert acked.alert.status == "acknowledged"
    assert acked.alert.lifecycle is not None
    assert acked.alert.lifecycle.acknowledged_by == "alice"
    assert acked.alert.change is not None
    assert (acked.alert.change.action, acked.alert.change.actor) == ("acknowledge", "alice")
    done = decide(acked.alert, cmd("resolve", note="valve closed"), now=T0)
    assert done.kind == "resolved"
    assert done.alert.status == "resolved"
    assert done.alert.lifecycle is not None
    assert done.alert.lifecycle.resolution_note == "valve closed"


@pytest.mark.parametrize(
    ("status", "action", "reason"),
    [
        ("acknowledged", "acknowledge", "already-acknowledged"),
        ("resolved", "acknowledge", "already-resolved"),
        ("resolved", "resolve", "already-resolved"),
        ("resolved", "assign", "already-resolved"),
    ],
)
def test_impossible_transitions_are_rejected(status: str, action: str, reason: str) -> None:
    with pytest.raises(Rejected) as exc:
        decide(alert(status=status), cmd(action, note="n", department="water"), now=T0)
    assert exc.value.reason == reason


def test_manual_resolve_and_comment_need_a_note() -> None:
    with pytest.raises(Rejected, match="note-required"):
        decide(alert(), cmd("resolve"), now=T0)
    with pytest.raises(Rejected, match="note-required"):
        decide(alert(), cmd("comment"), now=T0)
    commented = decide(alert(), cmd("comment", note="crew on site"), now=T0)
    assert commented.alert.lifecycle is not None
    assert [c.text for c in commented.alert.lifecycle.comments] == ["crew on site"]


def test_departments_act_only_on_alerts_routed_or_assigned_to_them() -> None:
    a = alert()
    assert may_act("operator", a)
    assert may_act("department:safety", a)
    assert not may_act("department:water", a)
    assert not may_act("viewer", a)
    with pytest.raises(Rejected, match="forbidden"):
        decide(a, cmd("acknowledge", scope="department:water"), now=T0)
    assigned = decide(a, cmd("assign", department="water"), now=T0).alert
    assert assigned.departments == ["safety", "water"]
    assert may_act("department:water", assigned)


def test_only_the_hub_escalates_unacknowledged_alerts_and_only_once() -> None:
    with pytest.raises(Rejected, match="forbidden"):
        decide(alert(), cmd("escalate-unacknowledged"), now=T0)
    up = decide(alert(), cmd("escalate-unacknowledged", scope="system"), now=T0)
    assert up.kind == "escalated"
    assert up.alert.severity is Severity.EXTREME
    with pytest.raises(Rejected, match="not-needed"):
        decide(up.alert, cmd("escalate-unacknowledged", scope="system"), now=T0)


def test_ack_timeout_counts_from_when_the_hub_first_saw_it_firing() -> None:
    a = alert()
    assert not needs_ack_escalation(a, T0 + timedelta(hours=1), timedelta(minutes=15))
    mark_opened(a, T0)
    mark_opened(a, T0 + timedelta(minutes=5))  # the first sighting counts
    assert not needs_ack_escalation(a, T0 + timedelta(minutes=14), timedelta(minutes=15))
    assert needs_ack_escalation(a, T0 + timedelta(minutes=15), timedelta(minutes=15))
    acked = decide(a, cmd("acknowledge"), now=T0).alert
    assert not needs_ack_escalation(acked, T0 + timedelta(hours=2), timedelta(minutes=15))


def test_fold_keeps_peoples_part_when_the_condition_changes() -> None:
    acked = decide(alert(), cmd("acknowledge"), now=T0).alert
    state = fold(None, "firing", alert(), source=CORRELATOR)
    state = fold(state, "acknowledged", acked, source=LIFECYCLE_SOURCE)
    updated = fold(state, "updated", alert(evidence=["e1", "e2", "e3", "e4"]), source=CORRELATOR)
    assert updated.status == "acknowledged"
    assert updated.evidence == ["e1", "e2", "e3", "e4"]
    assert updated.lifecycle is not None
    assert updated.lifecycle.acknowledged_by == "alice"
    # A raised severity needs a look again.
    worse = fold(updated, "escalated", alert(severity="Extreme"), source=CORRELATOR)
    assert worse.status == "firing"
    # The condition clearing resolves it, by the hub.
    cleared = fold(worse, "resolved", alert(status="resolved"), source=CORRELATOR)
    assert cleared.status == "resolved"
    assert cleared.lifecycle is not None
    assert cleared.lifecycle.resolved_by == "hub"


def test_a_person_resolution_is_not_reopened_by_new_evidence() -> None:
    done = decide(alert(), cmd("resolve", note="false alarm"), now=T0).alert
    again = fold(done, "updated", alert(evidence=["e1", "e2", "e3", "e9"]), source=CORRELATOR)
    assert again.status == "resolved"
    assert again.evidence[-1] == "e9"


def test_an_alarming_alert_the_hub_resolved_unseen_can_still_be_acknowledged() -> None:
    gone = alert(severity="Extreme", status="resolved")
    cleared = fold(alert(severity="Extreme"), "resolved", gone, source=CORRELATOR)
    assert cleared.status == "resolved"
    assert needs_acknowledgement(cleared)
    seen = decide(cleared, cmd("acknowledge"), now=T0)
    assert seen.kind == "acknowledged"
    assert seen.alert.status == "resolved"  # stays resolved: the acknowledgement is recorded
    assert not needs_acknowledgement(seen.alert)
    with pytest.raises(Rejected, match="already-resolved"):
        decide(seen.alert, cmd("acknowledge"), now=T0)


@pytest.mark.parametrize(
    ("severity", "status", "resolved_by", "needed"),
    [
        ("Extreme", "firing", None, True),
        ("Severe", "acknowledged", None, False),
        ("Moderate", "firing", None, False),
        ("Severe", "resolved", "alice", False),  # a person closed it: seen
        ("Severe", "resolved", "hub", True),
    ],
)
def test_which_alerts_need_acknowledgement(
    severity: str, status: str, resolved_by: str | None, needed: bool
) -> None:
    lc: dict[str, object] = {"resolved_by": resolved_by}
    if status == "acknowledged":
        lc["acknowledged_at"] = T0
    a = alert(severity=severity, status=status, lifecycle=lc)
    assert needs_acknowledgement(a) is needed
