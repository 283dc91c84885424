"""Threshold rules at their edges, without a broker: the pack's hydrogen-leak and variants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.alerts.model import Severity
from hub.correlate.engine import Route
from hub.correlate.fact import Fact
from hub.correlate.pack import load_pack
from hub.correlate.spec import ThresholdRule
from hub.correlate.threshold import ThresholdEngine

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
FAR_PAST = T0 - timedelta(days=1)
PACK = load_pack()
LEAK = next(r for r in PACK.rules if r.name == "hydrogen-leak")
HOTSPOT = next(r for r in PACK.rules if r.name == "service-hotspot")
assert isinstance(LEAK, ThresholdRule)
assert isinstance(HOTSPOT, ThresholdRule)


def reading(i: int, seconds: float, ppm: float, *, source: str = "urn:s", site: str = "S1") -> Fact:
    return Fact(
        uid=f"{source}\x1fe{i}",
        id=f"e{i}",
        type="city.safety.hydrogen.reading",
        time=T0 + timedelta(seconds=seconds),
        data={
            "site_id": site,
            "sensor_id": "x",
            "h2_ppm": ppm,
            "location": {"lat": 31.2, "lon": 121.5},
        },
        district="310101",
    )


class Run:
    """One key's state, threaded through the engine as the stream layer would."""

    def __init__(self, rule: ThresholdRule = LEAK) -> None:
        self.engine = ThresholdEngine(rule)
        self.state: dict[str, Any] | None = None
        self.outcomes: list[str] = []

    def feed(self, *facts: Fact, wm: datetime = FAR_PAST) -> list[Any]:
        changes: list[Any] = []
        for f in facts:
            routes = self.engine.routes(f)
            if not routes:
                self.outcomes.append("unrouted")
                continue
            step = self.engine.observe(self.state, f, routes[0], wm)
            self.state = step.state
            self.outcomes.append(step.outcome)
            changes += step.changes
        return changes

    def advance(self, wm: datetime) -> list[Any]:
        step = self.engine.advance(self.state, "S1", wm)
        self.state = step.state
        return step.changes


def test_three_readings_within_window_fire_severe() -> None:
    changes = Run().feed(reading(1, 0, 4000), reading(2, 20, 4500), reading(3, 40, 5000))
    assert [c.kind for c in changes] == ["firing"]
    alert = changes[0].alert
    assert alert.severity is Severity.SEVERE
    assert alert.evidence == ["e1", "e2", "e3"]
    assert alert.first_event_time == T0
    assert alert.last_event_time == T0 + timedelta(seconds=40)
    assert alert.departments == ["safety"]
    assert alert.district == "310101"
    assert alert.headline == "Hydrogen leak at S1 (310101): 3 readings up to 5,000 ppm in 40 s"


def test_exactly_sixty_seconds_apart_still_counts() -> None:
    changes = Run().feed(reading(1, 0, 4000), reading(2, 30, 4000), reading(3, 60, 4000))
    assert [c.kind for c in changes] == ["firing"]


def test_spread_over_more_than_sixty_seconds_is_silent() -> None:
    assert Run().feed(reading(1, 0, 4000), reading(2, 31, 4000), reading(3, 60.5, 4000)) == []


def test_two_readings_only_is_silent() -> None:
    assert Run().feed(reading(1, 0, 9000), reading(2, 1, 9000)) == []


def test_3999_ppm_is_not_even_routed_to_the_rule() -> None:
    run = Run()
    assert run.feed(reading(1, 0, 4000), reading(2, 1, 4000), reading(3, 2, 3999.99)) == []
    assert run.outcomes == ["counted", "counted", "unrouted"]


def test_resent_duplicate_counts_once_but_the_same_id_from_another_source_counts() -> None:
    run = Run()
    run.feed(reading(1, 0, 5000), reading(2, 5, 5000))
    assert run.feed(reading(2, 5, 5000)) == []
    assert run.outcomes[-1] == "duplicate"
    changes = run.feed(reading(2, 6, 5000, source="urn:other"))
    assert [c.kind for c in changes] == ["firing"]


def test_extreme_when_any_reading_reaches_10000() -> None:
    changes = Run().feed(reading(1, 0, 4000), reading(2, 1, 10000), reading(3, 2, 4000))
    assert changes[0].alert.severity is Severity.EXTREME


def test_more_matches_update_the_same_episode_and_escalate() -> None:
    run = Run()
    first = run.feed(reading(1, 0, 4000), reading(2, 1, 4000), reading(3, 2, 4000))
    more = run.feed(reading(4, 10, 4100), reading(5, 11, 12000))
    assert [c.kind for c in first + more] == ["firing", "updated", "escalated"]
    assert len({c.alert.alert_id for c in first + more}) == 1
    assert more[-1].alert.severity is Severity.EXTREME
    assert more[-1].alert.evidence == ["e1", "e2", "e3", "e4", "e5"]


def test_out_of_order_events_inside_lateness_still_match() -> None:
    changes = Run().feed(reading(3, 40, 4000), reading(1, 0, 4000), reading(2, 20, 4000))
    assert [c.kind for c in changes] == ["firing"]
    assert changes[0].alert.evidence == ["e1", "e2", "e3"]
    assert changes[0].alert.first_event_time == T0


def test_events_before_the_watermark_are_late_and_leave_no_state() -> None:
    run = Run()
    assert run.feed(reading(1, 0, 9000), wm=T0 + timedelta(seconds=1)) == []
    assert run.outcomes == ["late"]
    assert run.state is None


def test_alert_id_is_deterministic_across_replays() -> None:
    facts = [reading(1, 0, 4000), reading(2, 1, 4000), reading(3, 2, 4000)]
    a = Run().feed(*facts)[0].alert.alert_id
    b = Run().feed(*facts)[0].alert.alert_id
    shifted = Run().feed(reading(1, 1, 4000), reading(2, 2, 4000), reading(3, 3, 4000))
    assert a == b
    assert shifted[0].alert.alert_id != a


def test_quiet_episode_resolves_and_a_new_one_gets_a_new_id() -> None:
    run = Run()
    first = run.feed(reading(1, 0, 4000), reading(2, 1, 4000), reading(3, 2, 4000))
    # e3 at +2 s can still pair with an on-time event at +62 s: the episode stays open.
    assert run.advance(T0 + timedelta(seconds=62)) == []
    closed = run.advance(T0 + timedelta(seconds=62, microseconds=1))
    assert [c.kind for c in closed] == ["resolved"]
    assert closed[0].alert.status == "resolved"
    assert closed[0].alert.alert_id == first[0].alert.alert_id
    assert run.state is None
    again = run.feed(
        reading(7, 100, 4000),
        reading(8, 101, 4000),
        reading(9, 102, 4000),
        wm=T0 + timedelta(seconds=63),
    )
    assert [c.kind for c in again] == ["firing"]
    assert again[0].alert.alert_id != first[0].alert.alert_id


@pytest.mark.parametrize("n", [1, 2])
def test_state_is_pruned_once_no_window_can_use_it(n: int) -> None:
    run = Run()
    run.feed(*(reading(i, i, 4000) for i in range(n)))
    assert run.engine.due(run.state or {}, T0 + timedelta(seconds=n + 61))
    run.advance(T0 + timedelta(seconds=n + 61))
    assert run.state is None


def test_due_is_false_while_nothing_can_change() -> None:
    run = Run()
    run.feed(reading(1, 0, 4000))
    assert not run.engine.due(run.state or {}, T0 + timedelta(seconds=60))


def request(i: int, hours: float, district: str = "310101", code: str = "streetlight") -> Fact:
    return Fact(
        uid=f"urn:h\x1fq{i}",
        id=f"q{i}",
        type="city.service.request.opened",
        time=T0 + timedelta(hours=hours),
        data={"request_id": f"R{i}", "service_code": code, "department": "water"},
        district=district,
    )


def test_hotspot_groups_by_department_service_and_district() -> None:
    engine = ThresholdEngine(HOTSPOT)
    assert engine.routes(request(1, 0)) == [Route("water|streetlight|310101")]
    assert engine.routes(request(1, 0, district="310102")) == [Route("water|streetlight|310102")]
    run = Run(HOTSPOT)
    assert run.feed(*(request(i, i * 5) for i in range(4))) == []
    changes = run.feed(request(9, 23.9))
    assert [c.kind for c in changes] == ["firing"]
    assert changes[0].alert.departments == ["service", "water"]


def test_hotspot_window_of_24h_excludes_the_25th_hour() -> None:
    run = Run(HOTSPOT)
    assert run.feed(*(request(i, h) for i, h in enumerate([0, 6, 12, 18, 24.01]))) == []


def tumbling(size: str = "1h") -> ThresholdRule:
    return ThresholdRule.model_validate(
        {
            "name": "t",
            "kind": "threshold",
            "match": {"type": "city.safety.hydrogen.reading"},
            "group_by": "site_id",
            "window": {"size": size, "type": "tumbling"},
            "aggregate": {"fn": "distinct", "field": "sensor_id"},
            "threshold": 2,
            "severity": "Minor",
            "category": "Safety",
            "departments": ["safety"],
            "headline": "{value:.0f} sensors at {key}",
        }
    )


def test_tumbling_distinct_count_is_per_aligned_window() -> None:
    def sensor(i: int, minutes: float, sensor_id: str) -> Fact:
        f = reading(i, minutes * 60, 10)
        return Fact(f.uid, f.id, f.type, f.time, {**f.data, "sensor_id": sensor_id}, f.district)

    run = Run(tumbling())
    # 08:59 and 09:00 fall in different hour windows, and the same sensor twice counts once.
    assert run.feed(sensor(1, 59, "a"), sensor(2, 59.5, "a"), sensor(3, 60, "b")) == []
    changes = run.feed(sensor(4, 61, "c"))
    assert [c.kind for c in changes] == ["firing"]
    assert changes[0].alert.headline == "2 sensors at S1"
