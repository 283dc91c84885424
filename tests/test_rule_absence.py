"""Absence rules at their edges, without a broker: the `city` pack's `inspection-overdue` and
`service-sla-breach`, plus ad-hoc rules for what the pack does not exercise.

The deadline rule pinned here: the outcome is decided when the watermark passes the deadline
(strictly); an expect event at or before the deadline means no alert, one after it means the
alert fires and is resolved, whatever order the events arrived in within the allowed lateness.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.alerts.model import AlertChange, Severity
from hub.correlate.absence import AbsenceEngine
from hub.correlate.engine import Route, State
from hub.correlate.fact import Fact
from hub.correlate.spec import AbsenceRule, RulePack

PACK_FILE = Path(__file__).resolve().parent.parent / "hub" / "data" / "rules" / "city.yaml"
PACK = RulePack.model_validate(yaml.safe_load(PACK_FILE.read_text()))


def pack_rule(name: str) -> AbsenceRule:
    (rule,) = [r for r in PACK.rules if r.name == name]
    assert isinstance(rule, AbsenceRule)
    return rule


INSPECTION = pack_rule("inspection-overdue")
SLA = pack_rule("service-sla-breach")

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DUE = T0 + timedelta(hours=24)  # due_by of the schedules below
DEADLINE = DUE + timedelta(hours=24)  # inspection-overdue: due_by + 24 h
SLA_DEADLINE = T0 + timedelta(hours=72)
SECOND = timedelta(seconds=1)
LATENESS = PACK.lateness
LOC = {"lat": 31.21, "lon": 121.49}


def at(delta: timedelta | float) -> datetime:
    return T0 + (delta if isinstance(delta, timedelta) else timedelta(seconds=delta))


def scheduled(
    eid: str,
    t: datetime = T0,
    *,
    ent: str = "ENT-0815",
    site: str = "CHEM-07",
    due: datetime | None = DUE,
    source: str = "urn:inspections",
) -> Fact:
    data: dict[str, Any] = {"enterprise_id": ent, "site_id": site, "location": LOC}
    if due is not None:
        data["due_by"] = due.isoformat().replace("+00:00", "Z")
    return Fact(
        uid=f"{source}\x1f{eid}",
        id=eid,
        type="city.safety.inspection.scheduled",
        time=t,
        data=data,
        district="310101",
    )


def completed(
    eid: str, t: datetime, *, ent: str = "ENT-0815", site: str = "CHEM-07", result: str = "pass"
) -> Fact:
    return Fact(
        uid=f"urn:inspections\x1f{eid}",
        id=eid,
        type="city.safety.inspection.completed",
        time=t,
        data={"enterprise_id": ent, "site_id": site, "result": result, "location": LOC},
        district="310101",
    )


def reading(eid: str, t: datetime, ppm: float, *, site: str = "CHEM-07") -> Fact:
    return Fact(
        uid=f"urn:sensors\x1f{eid}",
        id=eid,
        type="city.safety.hydrogen.reading",
        time=t,
        data={"site_id": site, "sensor_id": "S1", "h2_ppm": ppm, "location": LOC},
    )


def hazard(eid: str, t: datetime, *, site: str = "CHEM-07") -> Fact:
    return Fact(
        uid=f"urn:hotline\x1f{eid}",
        id=eid,
        type="city.safety.hazard.reported",
        time=t,
        data={"site_id": site, "hazard": "solvent smell", "location": LOC},
    )


def opened(eid: str, request: str, t: datetime = T0, *, department: str = "water") -> Fact:
    return Fact(
        uid=f"urn:12345\x1f{eid}",
        id=eid,
        type="city.service.request.opened",
        time=t,
        data={"request_id": request, "service_code": "water-leak", "department": department},
        district="310104",
    )


def closed(eid: str, request: str, t: datetime, *, department: str = "water") -> Fact:
    return Fact(
        uid=f"urn:12345\x1f{eid}",
        id=eid,
        type="city.service.request.closed",
        time=t,
        data={"request_id": request, "department": department, "outcome": "resolved"},
        district="310104",
    )


class Sim:
    """A stand-in for the stream layer: one state per key, a monotone watermark, and a timer.

    Every `tick` checks the engine's contract: `due` predicts exactly whether `advance` changes
    anything, and states stay JSON-able.
    """

    def __init__(self, rule: AbsenceRule, start: datetime = T0 - timedelta(days=1)) -> None:
        self.engine = AbsenceEngine(rule)
        self.states: dict[str, State] = {}
        self.wm = start
        self.changes: list[AlertChange] = []

    def send(self, fact: Fact, wm: datetime | None = None) -> str:
        """Observe `fact` at `wm`, or at the watermark the stream would have (time - lateness)."""
        self.wm = max(self.wm, wm if wm is not None else fact.time - LATENESS)
        outcomes = []
        for route in self.engine.routes(fact):
            before = self.states.get(route.key)
            step = self.engine.observe(before, fact, route, self.wm)
            if step.outcome != "counted":
                assert step.state == before
                assert step.changes == []
            self._store(route, step.state)
            self.changes += step.changes
            outcomes.append(step.outcome)
        assert len(outcomes) <= 1
        return outcomes[0] if outcomes else "unrouted"

    def tick(self, wm: datetime) -> list[AlertChange]:
        self.wm = max(self.wm, wm)
        out: list[AlertChange] = []
        for key, state in list(self.states.items()):
            due = self.engine.due(state, self.wm)
            step = self.engine.advance(state, key, self.wm)
            assert due == (step.state != state or bool(step.changes)), (key, due)
            self._store(Route(key), step.state)
            out += step.changes
            if step.state is not None:
                assert not self.engine.due(step.state, self.wm)
        self.changes += out
        return out

    def _store(self, route: Route, state: State | None) -> None:
        if state is None:
            self.states.pop(route.key, None)
        else:
            json.dumps(state)
            self.states[route.key] = state

    def kinds(self) -> list[str]:
        return [c.kind for c in self.changes]


# --- inspection-overdue: the deadline ------------------------------------------------------------


def test_fires_moderate_once_the_watermark_passes_due_by_plus_24h() -> None:
    sim = Sim(INSPECTION)
    assert sim.send(scheduled("s1")) == "counted"
    assert sim.tick(DEADLINE) == []  # exactly at the deadline: a completion may still come
    changes = sim.tick(DEADLINE + SECOND)
    assert [c.kind for c in changes] == ["firing"]
    alert = changes[0].alert
    assert alert.severity is Severity.MODERATE
    assert alert.key == "CHEM-07/ENT-0815"
    assert alert.evidence == ["s1"]
    assert alert.first_event_time == T0
    assert alert.departments == ["safety"]
    assert alert.district == "310101"
    assert alert.location is not None
    assert alert.headline == (
        # due_by + 24 h is 2026-01-03T00:00:00Z: 08:00 in the city's zone (Asia/Shanghai)
        "Inspection of ENT-0815 at CHEM-07 (310101) overdue since 2026-01-03 08:00:00"
    )
    # Nothing more happens while it stays open.
    assert sim.tick(DEADLINE + timedelta(days=30)) == []
    assert "CHEM-07" in sim.states


def test_completion_exactly_at_the_deadline_means_no_alert_and_no_state() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    assert sim.send(completed("c1", DEADLINE)) == "counted"
    sim.tick(DEADLINE + timedelta(days=2))
    assert sim.changes == []
    assert sim.states == {}


def test_completion_one_second_late_is_a_breach_even_when_it_arrives_in_time() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    # Arrives while the watermark (its time - 5 min) is still before the deadline.
    assert sim.send(completed("c1", DEADLINE + SECOND)) == "counted"
    assert sim.wm < DEADLINE
    assert sim.changes == []
    changes = sim.tick(DEADLINE + SECOND)
    assert [c.kind for c in changes] == ["firing", "resolved"]
    assert changes[0].alert.alert_id == changes[1].alert.alert_id
    assert changes[1].alert.status == "resolved"
    assert changes[1].alert.last_event_time == DEADLINE + SECOND
    sim.tick(DEADLINE + timedelta(days=2))
    assert sim.states == {}


def test_completion_after_the_alert_fired_resolves_it() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    fired = sim.tick(DEADLINE + timedelta(hours=3))
    assert sim.send(completed("c1", DEADLINE + timedelta(hours=4))) == "counted"
    assert sim.kinds() == ["firing", "resolved"]
    assert sim.changes[-1].alert.alert_id == fired[0].alert.alert_id
    sim.tick(DEADLINE + timedelta(days=3))
    assert sim.states == {}


def test_a_completion_beyond_lateness_still_resolves_and_is_not_late() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    sim.tick(DEADLINE + timedelta(hours=10))
    # On time in the real world, but delivered ten hours later: the alert was wrong; end it.
    outcome = sim.send(completed("c1", DEADLINE - timedelta(hours=1)), wm=sim.wm)
    assert outcome == "counted"
    assert sim.kinds() == ["firing", "resolved"]


def test_completion_that_nothing_can_use_is_late() -> None:
    sim = Sim(INSPECTION)
    wm = at(timedelta(days=10))
    sim.tick(wm)
    assert sim.send(completed("c1", wm - timedelta(hours=25)), wm=wm) == "late"
    # Within deadline.plus of the watermark it is kept for a schedule that may follow.
    assert sim.send(completed("c2", wm - timedelta(hours=23)), wm=wm) == "counted"


def test_resent_completion_is_a_duplicate() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    assert sim.send(completed("c1", at(3600))) == "counted"
    assert sim.send(completed("c1", at(3600))) == "duplicate"


def test_completion_of_another_enterprise_or_site_does_not_count() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    sim.send(completed("c1", at(3600), ent="ENT-9999"))
    sim.send(completed("c2", at(3600), site="CHEM-99"))
    assert [c.kind for c in sim.tick(DEADLINE + SECOND)] == ["firing"]


def test_deadline_without_the_field_falls_back_to_the_event_time() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1", due=None))
    assert sim.tick(T0 + timedelta(hours=24)) == []
    assert [c.kind for c in sim.tick(T0 + timedelta(hours=24) + SECOND)] == ["firing"]


def test_due_by_with_an_offset_is_placed_on_the_utc_axis() -> None:
    sim = Sim(INSPECTION)
    fact = scheduled("s1", due=None)
    fact.data["due_by"] = "2026-01-02T08:00:00+08:00"  # = DUE
    sim.send(fact)
    assert sim.tick(DEADLINE) == []
    assert sim.tick(DEADLINE + SECOND)[0].alert.headline.endswith("2026-01-03 08:00:00")


# --- inspection-overdue: escalation -------------------------------------------------------------


def test_reading_at_4000_ppm_while_overdue_escalates_to_severe() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    sim.tick(DEADLINE + timedelta(hours=1))
    assert sim.send(reading("r0", DEADLINE + timedelta(hours=2), 3999)) == "unrouted"
    assert sim.send(reading("r1", DEADLINE + timedelta(hours=3), 4000)) == "counted"
    assert sim.kinds() == ["firing", "escalated"]
    alert = sim.changes[-1].alert
    assert alert.severity is Severity.SEVERE
    assert alert.evidence == ["s1", "r1"]
    assert alert.alert_id == sim.changes[0].alert.alert_id
    # Already Severe: another reading or a hazard changes nothing.
    assert sim.send(reading("r2", DEADLINE + timedelta(hours=4), 9000)) == "filtered"
    assert sim.send(hazard("h1", DEADLINE + timedelta(hours=4))) == "filtered"


def test_hazard_report_while_overdue_escalates_to_severe() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    sim.tick(DEADLINE + timedelta(hours=1))
    assert sim.send(hazard("h1", DEADLINE + timedelta(hours=3))) == "counted"
    assert sim.changes[-1].kind == "escalated"
    assert sim.changes[-1].alert.severity is Severity.SEVERE


def test_reading_before_or_exactly_at_the_deadline_does_nothing() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    assert sim.send(reading("r1", DUE, 9000)) == "filtered"
    assert sim.send(reading("r2", DEADLINE, 9000)) == "filtered"
    sim.tick(DEADLINE + SECOND)
    assert sim.kinds() == ["firing"]
    assert sim.changes[0].alert.severity is Severity.MODERATE


def test_late_reading_from_before_the_deadline_does_not_escalate_the_fired_alert() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    sim.tick(DEADLINE + timedelta(hours=1))
    assert sim.send(reading("r1", DEADLINE, 9000), wm=sim.wm) == "filtered"
    assert sim.send(reading("r2", DEADLINE + SECOND, 9000), wm=sim.wm) == "counted"
    assert sim.kinds() == ["firing", "escalated"]


def test_reading_at_another_site_or_without_a_wait_does_nothing() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    sim.tick(DEADLINE + SECOND)
    assert sim.send(reading("r1", DEADLINE + timedelta(hours=1), 9000, site="CHEM-99")) == (
        "filtered"
    )
    assert sim.kinds() == ["firing"]
    assert "CHEM-99" not in sim.states


def test_overdue_reading_seen_before_the_alert_could_fire_applies_when_it_fires() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    # Event time after the deadline; the watermark (its time - 5 min) is not past it yet.
    assert sim.send(reading("r1", DEADLINE + timedelta(minutes=1), 5000)) == "counted"
    assert sim.changes == []
    changes = sim.tick(DEADLINE + timedelta(minutes=1))
    assert [c.kind for c in changes] == ["firing", "escalated"]
    assert changes[-1].alert.severity is Severity.SEVERE


def test_reading_after_a_late_completion_does_not_escalate() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    sim.send(completed("c1", DEADLINE + timedelta(minutes=1)))
    sim.send(reading("r1", DEADLINE + timedelta(minutes=2), 9000))  # no longer overdue
    sim.tick(DEADLINE + timedelta(minutes=3))
    assert sim.kinds() == ["firing", "resolved"]
    assert sim.changes[-1].alert.severity is Severity.MODERATE


def test_escalation_event_arriving_when_the_deadline_is_due_fires_first() -> None:
    """`observe` lets time pass first, so the result does not depend on the timer."""
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    assert sim.send(reading("r1", DEADLINE + timedelta(hours=1), 5000)) == "counted"
    assert sim.kinds() == ["firing", "escalated"]


# --- inspection-overdue: several subjects, duplicates, re-schedules, order ----------------------


def test_each_enterprise_at_a_site_has_its_own_wait_and_alert() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1", ent="ENT-A"))
    sim.send(scheduled("s2", ent="ENT-B"))
    sim.send(scheduled("s3", ent="ENT-C"))
    sim.send(completed("c3", at(3600), ent="ENT-C"))
    changes = sim.tick(DEADLINE + SECOND)
    assert sorted(c.alert.key for c in changes) == ["CHEM-07/ENT-A", "CHEM-07/ENT-B"]
    assert len({c.alert.alert_id for c in changes}) == 2
    assert list(sim.states) == ["CHEM-07"]
    sim.send(completed("c1", DEADLINE + timedelta(hours=1), ent="ENT-A"))
    assert sim.changes[-1].kind == "resolved"
    assert sim.changes[-1].alert.key == "CHEM-07/ENT-A"
    # An escalation at the site raises every open alert there.
    sim.send(hazard("h1", DEADLINE + timedelta(hours=2)))
    assert [(c.kind, c.alert.key) for c in sim.changes[-1:]] == [("escalated", "CHEM-07/ENT-B")]


def test_resent_schedule_is_a_duplicate() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    assert sim.send(scheduled("s1")) == "duplicate"
    # The same id from another source is another event (a new schedule).
    assert sim.send(scheduled("s1", at(1), source="urn:other")) == "counted"


def test_resent_schedule_after_the_alert_fired_is_late_not_a_second_alert() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    sim.tick(DEADLINE + SECOND)
    assert sim.send(scheduled("s1"), wm=sim.wm) == "late"
    sim.tick(DEADLINE + timedelta(days=5))
    assert sim.kinds() == ["firing"]


def test_resent_schedule_after_an_early_completion_opens_no_new_wait() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    sim.send(completed("c1", at(600)))
    sim.tick(at(timedelta(hours=20)))  # the completion itself is forgotten by now
    assert sim.send(scheduled("s1"), wm=sim.wm) == "duplicate"
    sim.tick(DEADLINE + timedelta(days=1))
    assert sim.changes == []
    assert sim.states == {}


def test_reschedule_replaces_the_pending_wait() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    later_due = DUE + timedelta(days=7)
    assert sim.send(scheduled("s2", at(timedelta(hours=5)), due=later_due)) == "counted"
    assert sim.tick(DEADLINE + timedelta(days=1)) == []
    changes = sim.tick(later_due + timedelta(hours=24) + SECOND)
    assert [c.kind for c in changes] == ["firing"]
    assert changes[0].alert.evidence == ["s2"]
    assert changes[0].alert.first_event_time == at(timedelta(hours=5))


def test_an_older_schedule_arriving_after_a_newer_one_is_ignored() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s2", at(3600), due=DUE + timedelta(days=7)))
    assert sim.send(scheduled("s1", T0), wm=T0) == "filtered"
    assert sim.tick(DEADLINE + SECOND) == []


def test_reschedule_after_the_alert_fired_keeps_it_open_until_completion() -> None:
    sim = Sim(INSPECTION)
    sim.send(scheduled("s1"))
    sim.tick(DEADLINE + SECOND)
    t2 = DEADLINE + timedelta(hours=1)
    sim.send(scheduled("s2", t2, due=t2 + timedelta(hours=1)))
    assert sim.kinds() == ["firing"]
    # The new schedule runs out too: the same alert is updated with it.
    sim.tick(t2 + timedelta(hours=25) + SECOND)
    assert sim.kinds() == ["firing", "updated"]
    assert sim.changes[-1].alert.alert_id == sim.changes[0].alert.alert_id
    assert sim.changes[-1].alert.evidence == ["s1", "s2"]
    assert sim.changes[-1].alert.headline.endswith("overdue since 2026-01-03 08:00:00")
    sim.send(completed("c1", t2 + timedelta(hours=30)))
    assert sim.kinds() == ["firing", "updated", "resolved"]
    sim.tick(t2 + timedelta(days=5))
    assert sim.states == {}


def test_completion_before_the_schedule_arrives_counts_for_it() -> None:
    sim = Sim(INSPECTION)
    assert sim.send(completed("c1", at(7200))) == "counted"
    # The schedule (event time before the completion) arrives afterwards, within lateness.
    assert sim.send(scheduled("s1", at(7000)), wm=at(7000)) == "counted"
    sim.tick(DEADLINE + timedelta(days=1))
    assert sim.changes == []
    assert sim.states == {}


def test_completion_older_than_the_schedule_belongs_to_an_earlier_one() -> None:
    sim = Sim(INSPECTION)
    sim.send(completed("c0", at(-600)))  # last round's inspection
    sim.send(scheduled("s1"))
    assert [c.kind for c in sim.tick(DEADLINE + SECOND)] == ["firing"]
    sim2 = Sim(INSPECTION)
    sim2.send(scheduled("s1", at(600)))
    assert sim2.send(completed("c0", at(0)), wm=at(0)) == "counted"  # kept for a late start
    assert [c.kind for c in sim2.tick(DEADLINE + SECOND)] == ["firing"]


def test_remembered_completion_is_dropped_after_time_plus_24h() -> None:
    sim = Sim(INSPECTION)
    sim.send(completed("c1", at(0)))
    assert sim.tick(at(timedelta(hours=24))) == []
    assert "CHEM-07" in sim.states  # exactly at the bound: kept
    sim.tick(at(timedelta(hours=24)) + SECOND)
    assert sim.states == {}


def test_late_schedule_is_accepted_while_its_deadline_is_ahead() -> None:
    sim = Sim(INSPECTION)
    wm = at(timedelta(hours=30))
    sim.tick(wm)
    assert sim.send(scheduled("s1", T0), wm=wm) == "counted"
    assert [c.kind for c in sim.tick(DEADLINE + SECOND)] == ["firing"]
    # Its deadline exactly at the watermark: still judged exactly, so accepted.
    exact = scheduled("s2", T0, ent="ENT-2", due=sim.wm - timedelta(hours=24))
    assert sim.send(exact, wm=sim.wm) == "counted"
    # Both its time and its deadline behind the watermark: too late to judge.
    late = scheduled("s3", T0, ent="ENT-3", due=sim.wm - timedelta(hours=24, seconds=1))
    assert sim.send(late, wm=sim.wm) == "late"


def test_on_time_schedule_already_past_its_deadline_fires_at_once() -> None:
    sim = Sim(INSPECTION)
    t = DEADLINE + timedelta(hours=1)
    assert sim.send(scheduled("s1", t, due=DUE), wm=t) == "counted"
    assert sim.kinds() == ["firing"]


def test_events_without_the_key_or_subject_are_not_used() -> None:
    engine = AbsenceEngine(INSPECTION)
    no_site = scheduled("s1")
    del no_site.data["site_id"]
    assert engine.routes(no_site) == []
    no_ent = scheduled("s2")
    del no_ent.data["enterprise_id"]
    step = engine.observe(None, no_ent, Route("CHEM-07"), T0)
    assert (step.state, step.outcome) == (None, "filtered")
    other = Fact(uid="u", id="x", type="city.security.incident.reported", time=T0, data={})
    assert engine.routes(other) == []


def test_alert_id_is_deterministic_and_anchored_on_the_schedule() -> None:
    def run(t: datetime) -> str:
        sim = Sim(INSPECTION)
        sim.send(scheduled("s1", t))
        return sim.tick(DEADLINE + SECOND)[0].alert.alert_id

    assert run(T0) == run(T0)
    assert run(T0) != run(T0 + SECOND)


# --- service-sla-breach -------------------------------------------------------------------------


def test_request_open_72h_breaches_minor() -> None:
    sim = Sim(SLA)
    sim.send(opened("o1", "SR-1"))
    assert sim.tick(SLA_DEADLINE) == []
    changes = sim.tick(SLA_DEADLINE + SECOND)
    assert [c.kind for c in changes] == ["firing"]
    alert = changes[0].alert
    assert alert.severity is Severity.MINOR
    assert alert.key == "SR-1"
    assert alert.departments == ["service", "water"]
    assert alert.evidence == ["o1"]
    assert alert.district == "310104"
    assert alert.headline == (
        "Request SR-1 (water-leak, water) not closed within 72 h (due 2026-01-04 08:00:00)"
    )
    sim.send(closed("x1", "SR-1", SLA_DEADLINE + timedelta(hours=5)))
    assert sim.kinds() == ["firing", "resolved"]


def test_request_closed_exactly_at_72h_is_compliant() -> None:
    sim = Sim(SLA)
    sim.send(opened("o1", "SR-1"))
    sim.send(closed("x1", "SR-1", SLA_DEADLINE))
    sim.tick(SLA_DEADLINE + timedelta(days=4))
    assert sim.changes == []
    assert sim.states == {}


def test_request_closed_one_second_after_72h_is_a_breach() -> None:
    sim = Sim(SLA)
    sim.send(opened("o1", "SR-1"))
    sim.send(closed("x1", "SR-1", SLA_DEADLINE + SECOND))
    assert sim.changes == []
    sim.tick(SLA_DEADLINE + SECOND)
    assert sim.kinds() == ["firing", "resolved"]


def test_requests_are_independent() -> None:
    sim = Sim(SLA)
    sim.send(opened("o1", "SR-1"))
    sim.send(opened("o2", "SR-2", at(3600), department="environment"))
    sim.send(closed("x2", "SR-2", at(timedelta(hours=30)), department="environment"))
    changes = sim.tick(at(timedelta(hours=73)) + SECOND)
    assert [(c.kind, c.alert.key) for c in changes] == [("firing", "SR-1")]


def test_close_arriving_before_the_open_counts() -> None:
    sim = Sim(SLA)
    sim.send(closed("x1", "SR-1", at(3600)))
    assert sim.send(opened("o1", "SR-1", at(0)), wm=at(0)) == "counted"
    sim.tick(SLA_DEADLINE + timedelta(days=1))
    assert sim.changes == []
    assert sim.states == {}


def test_resent_open_of_a_closed_request_is_a_duplicate_then_late() -> None:
    sim = Sim(SLA)
    sim.send(opened("o1", "SR-1"))
    sim.send(closed("x1", "SR-1", at(3600)))
    assert sim.send(opened("o1", "SR-1"), wm=at(7200)) == "duplicate"
    sim.tick(SLA_DEADLINE + SECOND)
    assert sim.send(opened("o1", "SR-1"), wm=sim.wm) == "late"
    sim.tick(at(3600) + timedelta(hours=72) + SECOND)  # the close is forgotten too
    assert sim.states == {}
    assert sim.send(opened("o1", "SR-1"), wm=sim.wm) == "late"
    assert sim.changes == []


@pytest.mark.parametrize("hours", [0.5, 71.9])
def test_no_state_is_left_once_a_closed_request_is_past_its_deadline(hours: float) -> None:
    sim = Sim(SLA)
    sim.send(opened("o1", "SR-1"))
    sim.send(closed("x1", "SR-1", at(timedelta(hours=hours))))
    assert "SR-1" in sim.states  # the wait stays until its deadline, to know re-sent opens
    sim.tick(SLA_DEADLINE + timedelta(hours=hours) + SECOND)
    assert sim.states == {}


# --- ad-hoc rules -------------------------------------------------------------------------------


def test_any_escalation_tests_the_start_event() -> None:
    rule = AbsenceRule.model_validate(
        {
            **SLA.model_dump(mode="json", exclude={"escalate"}),
            "name": "sla-water",
            "escalate": [{"any": {"department": {"eq": "water"}}, "severity": "Moderate"}],
        }
    )
    sim = Sim(rule)
    sim.send(opened("o1", "SR-1"))
    sim.send(opened("o2", "SR-2", department="parks"))
    changes = sim.tick(SLA_DEADLINE + SECOND)
    severities = {c.alert.key: c.alert.severity for c in changes}
    assert severities == {"SR-1": Severity.MODERATE, "SR-2": Severity.MINOR}


def test_several_match_on_fields_make_one_subject() -> None:
    rule = AbsenceRule.model_validate(
        {
            **INSPECTION.model_dump(mode="json", exclude={"match_on"}),
            "match_on": ["enterprise_id", "result"],
        }
    )
    sim = Sim(rule)
    fact = scheduled("s1")
    fact.data["result"] = "pass"
    sim.send(fact)
    sim.send(completed("c1", at(60), result="fail"))  # another subject
    changes = sim.tick(DEADLINE + SECOND)
    assert [c.alert.key for c in changes] == ["CHEM-07/ENT-0815|pass"]
    assert "ENT-0815|pass" in changes[0].alert.headline
