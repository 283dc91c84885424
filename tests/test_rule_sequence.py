"""Sequence rules at their edges, without a broker (the `city` pack has none, so the rules here
are ad hoc): order in event time, `within` inclusive, expiry strict, skip-past-last-event for
overlapping candidates, not_followed_by, lateness, duplicates and escalations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.alerts.model import AlertChange, Severity
from hub.correlate.engine import Route, State
from hub.correlate.fact import Fact
from hub.correlate.sequence import SequenceEngine
from hub.correlate.spec import SequenceRule

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
WITHIN = timedelta(minutes=10)
SECOND = timedelta(seconds=1)
LATENESS = timedelta(minutes=5)
FAR_PAST = T0 - timedelta(days=1)


def rule(**over: Any) -> SequenceRule:
    spec: dict[str, Any] = {
        "name": "test-sequence",
        "kind": "sequence",
        "key": "door_id",
        "steps": [{"type": "x.door.forced"}, {"type": "x.alarm.raised"}],
        "within": "10m",
        "severity": "Minor",
        "category": "Security",
        "departments": ["security"],
        "headline": "Door {key}: {count} events within {within}",
    }
    spec.update(over)
    return SequenceRule.model_validate(spec)


AB = rule()
ABC = rule(
    steps=[{"type": "x.door.forced"}, {"type": "x.alarm.raised"}, {"type": "x.guard.absent"}]
)
A_NOT_C = rule(steps=[{"type": "x.door.forced"}], not_followed_by={"type": "x.guard.arrived"})
AB_NOT_C = rule(not_followed_by={"type": "x.guard.arrived"})

TYPES = {
    "A": "x.door.forced",
    "B": "x.alarm.raised",
    "C": "x.guard.absent",
    "G": "x.guard.arrived",
    "E": "x.camera.tampered",
}


def ev(name: str, seconds: float, *, door: str = "D1", **data: Any) -> Fact:
    """A fact of kind `name[0]` ("A", "B", ...); the whole name is its id ("A1", "B2")."""
    return Fact(
        uid=f"urn:site\x1f{name}",
        id=name,
        type=TYPES[name[0]],
        time=T0 + timedelta(seconds=seconds),
        data={"door_id": door, "location": {"lat": 31.2, "lon": 121.5}, **data},
        district="310101",
    )


class Sim:
    """A stand-in for the stream layer that checks the engine contract on every call."""

    def __init__(self, r: SequenceRule) -> None:
        self.engine = SequenceEngine(r)
        self.states: dict[str, State] = {}
        self.wm = FAR_PAST
        self.changes: list[AlertChange] = []

    def send(self, fact: Fact, wm: datetime | None = None) -> str:
        if wm is not None:
            self.wm = max(self.wm, wm)
        outcomes = []
        for route in self.engine.routes(fact):
            before = self.states.get(route.key)
            step = self.engine.observe(before, fact, route, self.wm)
            if step.outcome != "counted":
                assert (step.state, step.changes) == (before, [])
            self._store(route.key, step.state)
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
            assert due == (step.state != state or bool(step.changes)), key
            self._store(key, step.state)
            out += step.changes
            if step.state is not None:
                assert not self.engine.due(step.state, self.wm)
        self.changes += out
        return out

    def _store(self, key: str, state: State | None) -> None:
        if state is None:
            self.states.pop(key, None)
        else:
            json.dumps(state)
            self.states[key] = state

    def kinds(self) -> list[str]:
        return [c.kind for c in self.changes]

    def evidence(self) -> list[list[str]]:
        return [c.alert.evidence for c in self.changes if c.kind == "firing"]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- steps in order within `within` -------------------------------------------------------------


def test_a_then_b_fires_at_once_anchored_on_the_first_step() -> None:
    sim = Sim(AB)
    assert sim.send(ev("A1", 0)) == "counted"
    assert sim.changes == []
    assert sim.send(ev("B1", 120)) == "counted"
    assert sim.kinds() == ["firing"]
    alert = sim.changes[0].alert
    assert alert.evidence == ["A1", "B1"]
    assert alert.first_event_time == T0
    assert alert.last_event_time == at(120)
    assert alert.key == "D1"
    assert alert.severity is Severity.MINOR
    assert alert.headline == "Door D1: 2 events within 10 min"
    assert alert.status == "firing"


def test_last_step_exactly_within_matches_one_second_more_does_not() -> None:
    sim = Sim(AB)
    sim.send(ev("A1", 0))
    sim.send(ev("B1", 600))
    assert sim.evidence() == [["A1", "B1"]]
    sim2 = Sim(AB)
    sim2.send(ev("A1", 0))
    sim2.send(ev("B1", 601))
    assert sim2.changes == []


def test_b_earlier_than_a_does_not_complete_whatever_the_arrival_order() -> None:
    sim = Sim(AB)
    sim.send(ev("A1", 60))
    sim.send(ev("B1", 59))
    assert sim.changes == []


def test_equal_event_times_count_as_in_order() -> None:
    sim = Sim(AB)
    sim.send(ev("B1", 60))
    sim.send(ev("A1", 60))
    assert sim.evidence() == [["A1", "B1"]]


def test_out_of_order_arrival_matches_in_event_time() -> None:
    sim = Sim(AB)
    sim.send(ev("B1", 300))
    assert sim.send(ev("A1", 100)) == "counted"
    assert sim.evidence() == [["A1", "B1"]]
    assert sim.changes[0].alert.first_event_time == at(100)


def test_keys_are_separate() -> None:
    sim = Sim(AB)
    sim.send(ev("A1", 0, door="D1"))
    sim.send(ev("B1", 10, door="D2"))
    assert sim.changes == []
    assert sorted(sim.states) == ["D1", "D2"]


def test_three_steps_in_order() -> None:
    sim = Sim(ABC)
    sim.send(ev("A1", 0))
    sim.send(ev("C1", 30))  # C before B: not usable after B
    sim.send(ev("B1", 60))
    assert sim.changes == []
    sim.send(ev("C2", 600))
    assert sim.evidence() == [["A1", "B1", "C2"]]


def test_three_steps_beyond_within_do_not_match() -> None:
    sim = Sim(ABC)
    sim.send(ev("A1", 0))
    sim.send(ev("B1", 60))
    sim.send(ev("C1", 601))
    assert sim.changes == []


# --- overlapping instances: skip past last event -----------------------------------------------


def test_a_a_b_is_one_instance_with_the_earliest_a() -> None:
    sim = Sim(AB)
    sim.send(ev("A1", 0))
    sim.send(ev("A2", 30))
    sim.send(ev("B1", 60))
    assert sim.evidence() == [["A1", "B1"]]
    # A2 came before B1's time: it is spent, so a second B makes no second instance.
    assert sim.send(ev("B2", 90)) == "counted"
    assert sim.evidence() == [["A1", "B1"]]


def test_earliest_a_that_can_still_complete_is_used() -> None:
    sim = Sim(AB)
    sim.send(ev("A1", 0))
    sim.send(ev("A2", 300))
    sim.send(ev("B1", 700))  # A1 is 700 s before: out of range; A2 is 400 s before
    assert sim.evidence() == [["A2", "B1"]]


def test_later_instances_are_new_alerts() -> None:
    sim = Sim(AB)
    for name, t in (("A1", 0), ("B1", 10), ("A2", 20), ("B2", 30)):
        sim.send(ev(name, t))
    assert sim.evidence() == [["A1", "B1"], ["A2", "B2"]]
    ids = {c.alert.alert_id for c in sim.changes}
    assert len(ids) == 2


def test_a_first_step_at_the_previous_instances_last_time_is_spent() -> None:
    sim = Sim(AB)
    sim.send(ev("A1", 0))
    sim.send(ev("A2", 10))
    sim.send(ev("B1", 10))
    sim.send(ev("B2", 20))
    assert sim.evidence() == [["A1", "B1"]]
    # Arriving after the instance, such a step is of no use at all.
    assert sim.send(ev("A3", 10)) == "filtered"


def test_an_earlier_a_arriving_after_an_emitted_instance_cannot_replace_it() -> None:
    sim = Sim(AB)
    sim.send(ev("A2", 30))
    sim.send(ev("B1", 60))
    assert sim.send(ev("A1", 0)) == "filtered"
    assert sim.evidence() == [["A2", "B1"]]


# --- expiry, lateness, duplicates ---------------------------------------------------------------


def test_partial_match_expires_strictly_after_within() -> None:
    sim = Sim(AB)
    sim.send(ev("A1", 0))
    assert sim.tick(at(600)) == []
    assert "D1" in sim.states  # a B at 600 s could still arrive on time
    assert sim.send(ev("B1", 600), wm=at(600)) == "counted"
    assert sim.evidence() == [["A1", "B1"]]
    sim.tick(at(1201))
    assert sim.states == {}


def test_lone_first_step_leaves_no_state_after_expiry() -> None:
    sim = Sim(AB)
    sim.send(ev("A1", 0))
    sim.tick(at(600) + SECOND)
    assert sim.states == {}


def test_late_step_that_completes_a_held_partial_counts() -> None:
    sim = Sim(AB)
    sim.send(ev("A1", 0))
    sim.tick(at(400))
    assert sim.send(ev("B1", 300)) == "counted"  # before the watermark, but A1 is still held
    assert sim.evidence() == [["A1", "B1"]]


def test_late_step_that_completes_nothing_is_late() -> None:
    sim = Sim(AB)
    sim.tick(at(400))
    assert sim.send(ev("A1", 300)) == "late"
    assert sim.send(ev("B1", 350)) == "late"
    assert sim.states == {}


def test_step_older_than_the_horizon_is_late() -> None:
    sim = Sim(AB)
    sim.send(ev("B1", 1000))
    sim.tick(at(700))
    # A at 99 s would pair with B at 1000 s? No: 901 s apart. And it is behind wm - within.
    assert sim.send(ev("A1", 99)) == "late"


def test_resent_steps_are_duplicates() -> None:
    sim = Sim(AB)
    sim.send(ev("A1", 0))
    assert sim.send(ev("A1", 0)) == "duplicate"
    sim.send(ev("B1", 10))
    assert sim.send(ev("B1", 10)) == "duplicate"
    assert sim.send(ev("A1", 0)) == "duplicate"
    assert sim.kinds() == ["firing"]


def test_unrelated_events_are_not_routed() -> None:
    engine = SequenceEngine(AB)
    assert engine.routes(ev("G1", 0)) == []
    no_key = ev("A1", 0)
    del no_key.data["door_id"]
    assert engine.routes(no_key) == []
    step = engine.observe(None, ev("G1", 0), Route("D1"), FAR_PAST)
    assert (step.state, step.outcome) == (None, "filtered")


def test_alert_id_is_deterministic() -> None:
    def run() -> str:
        sim = Sim(AB)
        sim.send(ev("A1", 0))
        sim.send(ev("B1", 1))
        return sim.changes[0].alert.alert_id

    assert run() == run()


# --- not_followed_by ----------------------------------------------------------------------------


def test_not_followed_fires_when_the_watermark_passes_last_plus_within() -> None:
    sim = Sim(A_NOT_C)
    sim.send(ev("A1", 0))
    assert sim.tick(at(600)) == []
    changes = sim.tick(at(601))
    assert [c.kind for c in changes] == ["firing"]
    assert changes[0].alert.evidence == ["A1"]
    assert changes[0].alert.first_event_time == T0
    assert sim.states == {}


@pytest.mark.parametrize(("guard_at", "fires"), [(0, False), (600, False), (601, True)])
def test_negating_event_window_is_inclusive(guard_at: float, fires: bool) -> None:
    sim = Sim(A_NOT_C)
    sim.send(ev("A1", 0))
    outcome = sim.send(ev("G1", guard_at))
    assert outcome == "counted"
    sim.tick(at(2000))
    assert sim.kinds() == (["firing"] if fires else [])


def test_negating_event_before_the_steps_complete_does_not_count() -> None:
    sim = Sim(AB_NOT_C)
    sim.send(ev("A1", 0))
    sim.send(ev("G1", 30))  # between A and B
    sim.send(ev("B1", 60))
    sim.tick(at(660))
    assert sim.changes == []  # the verdict is due only after 660 s
    sim.tick(at(661))
    assert sim.evidence() == [["A1", "B1"]]


def test_negating_event_measured_from_the_last_step() -> None:
    sim = Sim(AB_NOT_C)
    sim.send(ev("A1", 0))
    sim.send(ev("B1", 500))
    sim.send(ev("G1", 1100))  # 600 s after B, 1100 s after A: still in time
    sim.tick(at(5000))
    assert sim.changes == []


def test_negating_event_arriving_late_but_before_the_verdict_cancels() -> None:
    sim = Sim(A_NOT_C)
    sim.send(ev("A1", 0))
    sim.tick(at(590))
    assert sim.send(ev("G1", 100)) == "counted"  # 490 s behind the watermark
    sim.tick(at(2000))
    assert sim.changes == []
    assert sim.states == {}


def test_negating_event_arriving_before_the_steps_cancels_at_completion() -> None:
    sim = Sim(AB_NOT_C)
    sim.send(ev("A1", 0))
    sim.send(ev("G1", 200))
    sim.send(ev("B1", 100))
    sim.tick(at(5000))
    assert sim.changes == []


def test_negating_event_after_the_verdict_is_late() -> None:
    sim = Sim(A_NOT_C)
    sim.send(ev("A1", 0))
    sim.tick(at(601))
    assert sim.kinds() == ["firing"]
    # Still within the horizon it is kept (a late first step at or before it could come)...
    assert sim.send(ev("G1", 300)) == "counted"
    # ...beyond it, nothing can use it.
    sim.tick(at(1000))
    assert sim.send(ev("G2", 399)) == "late"
    assert sim.kinds() == ["firing"]


def test_negating_event_with_nothing_to_negate_is_kept_then_forgotten() -> None:
    sim = Sim(A_NOT_C)
    assert sim.send(ev("G1", 100)) == "counted"
    sim.tick(at(700) + SECOND)
    assert sim.states == {}


def test_each_first_step_is_its_own_not_followed_instance() -> None:
    sim = Sim(A_NOT_C)
    sim.send(ev("A1", 0))
    sim.send(ev("A2", 700))
    sim.send(ev("G1", 750))  # answers A2 only
    sim.tick(at(5000))
    assert sim.evidence() == [["A1"]]


# --- escalation ---------------------------------------------------------------------------------


def test_any_escalation_tests_the_instance_facts() -> None:
    r = rule(escalate=[{"any": {"force": {"gte": 5}}, "severity": "Severe"}])
    sim = Sim(r)
    sim.send(ev("A1", 0, force=4.9))
    sim.send(ev("B1", 10))
    sim.send(ev("A2", 20, force=5))
    sim.send(ev("B2", 30))
    assert [c.alert.severity for c in sim.changes] == [Severity.MINOR, Severity.SEVERE]


def test_event_escalation_within_the_period_before_and_after_firing() -> None:
    r = rule(escalate=[{"event": {"type": "x.camera.tampered"}, "severity": "Severe"}])
    sim = Sim(r)
    sim.send(ev("A1", 0))
    assert sim.send(ev("E1", 5)) == "counted"  # kept for the instance to come
    sim.send(ev("B1", 10))
    assert sim.kinds() == ["firing", "escalated"]
    assert sim.changes[-1].alert.evidence == ["A1", "B1", "E1"]
    sim2 = Sim(r)
    sim2.send(ev("A1", 0))
    sim2.send(ev("B1", 10))
    assert sim2.send(ev("E1", 600)) == "counted"  # first step + within: inclusive
    assert sim2.kinds() == ["firing", "escalated"]
    assert sim2.changes[-1].alert.severity is Severity.SEVERE


def test_event_escalation_outside_the_period_does_nothing() -> None:
    r = rule(escalate=[{"event": {"type": "x.camera.tampered"}, "severity": "Severe"}])
    sim = Sim(r)
    sim.send(ev("A1", 100))
    sim.send(ev("B1", 110))
    assert sim.send(ev("E1", 701)) == "counted"  # kept: could fall in a later instance
    assert sim.send(ev("E0", 99)) == "counted"
    assert sim.kinds() == ["firing"]
    sim.tick(at(1400))
    assert sim.states == {}
    assert sim.send(ev("E2", 650)) == "filtered"


def test_event_escalation_for_a_not_followed_instance_applies_when_it_fires() -> None:
    r = rule(
        steps=[{"type": "x.door.forced"}],
        not_followed_by={"type": "x.guard.arrived"},
        escalate=[{"event": {"type": "x.camera.tampered"}, "severity": "Extreme"}],
    )
    sim = Sim(r)
    sim.send(ev("A1", 0))
    sim.send(ev("E1", 500))
    changes = sim.tick(at(601))
    assert [c.kind for c in changes] == ["firing", "escalated"]
    assert changes[-1].alert.severity is Severity.EXTREME


def test_late_single_step_is_an_instance_of_its_own_and_waits_for_its_verdict() -> None:
    sim = Sim(A_NOT_C)
    sim.tick(at(400))
    assert sim.send(ev("A1", 300)) == "counted"  # late, but it completes an instance
    assert sim.tick(at(900)) == []
    assert sim.evidence() == []
    sim.tick(at(901))
    assert sim.evidence() == [["A1"]]
