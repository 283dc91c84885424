"""The hydrogen-leak threshold state machine at its edges, without a broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.alerts.model import GeoPoint, Severity
from hub.correlate.observation import Observation
from hub.correlate.pack import HYDROGEN_LEAK as RULE
from hub.correlate.threshold import KeyState, advance, is_idle, observe

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
FAR_PAST = T0 - timedelta(days=1)


def obs(
    i: int, seconds: float, ppm: float, *, source: str = "urn:s", key: str = "S1"
) -> Observation:
    return Observation(
        uid=f"{source}\x1fe{i}",
        event_id=f"e{i}",
        time=T0 + timedelta(seconds=seconds),
        key=key,
        value=ppm,
        location=GeoPoint(lat=31.2, lon=121.5),
        district="310101",
    )


def feed(state: KeyState, items: list[Observation], wm: datetime = FAR_PAST) -> list:
    changes = []
    for o in items:
        _, c = observe(RULE, state, o, wm)
        changes += c
    return changes


def test_three_readings_within_window_fire_severe() -> None:
    state = KeyState()
    changes = feed(state, [obs(1, 0, 4000), obs(2, 20, 4500), obs(3, 40, 5000)])
    assert [c.kind for c in changes] == ["firing"]
    alert = changes[0].alert
    assert alert.severity is Severity.SEVERE
    assert alert.evidence == ["e1", "e2", "e3"]
    assert alert.first_event_time == T0
    assert alert.last_event_time == T0 + timedelta(seconds=40)
    assert alert.departments == ["safety"]
    assert "S1" in alert.headline


def test_exactly_sixty_seconds_apart_still_counts() -> None:
    changes = feed(KeyState(), [obs(1, 0, 4000), obs(2, 30, 4000), obs(3, 60, 4000)])
    assert [c.kind for c in changes] == ["firing"]


def test_spread_over_more_than_sixty_seconds_is_silent() -> None:
    changes = feed(KeyState(), [obs(1, 0, 4000), obs(2, 31, 4000), obs(3, 60.5, 4000)])
    assert changes == []


def test_two_readings_only_is_silent() -> None:
    assert feed(KeyState(), [obs(1, 0, 9000), obs(2, 1, 9000)]) == []


def test_3999_ppm_does_not_qualify() -> None:
    state = KeyState()
    outcomes = [observe(RULE, state, o, FAR_PAST)[0] for o in (obs(1, 0, 4000), obs(2, 1, 4000))]
    outcome, changes = observe(RULE, state, obs(3, 2, 3999.99), FAR_PAST)
    assert outcomes == ["counted", "counted"]
    assert (outcome, changes) == ("filtered", [])


def test_resent_duplicate_counts_once() -> None:
    state = KeyState()
    feed(state, [obs(1, 0, 5000), obs(2, 5, 5000)])
    outcome, changes = observe(RULE, state, obs(2, 5, 5000), FAR_PAST)
    assert (outcome, changes) == ("duplicate", [])
    # The same id from another source is another event.
    outcome, changes = observe(RULE, state, obs(2, 6, 5000, source="urn:other"), FAR_PAST)
    assert outcome == "counted"
    assert [c.kind for c in changes] == ["firing"]


def test_extreme_when_any_reading_reaches_10000() -> None:
    changes = feed(KeyState(), [obs(1, 0, 4000), obs(2, 1, 10000), obs(3, 2, 4000)])
    assert changes[0].alert.severity is Severity.EXTREME


def test_more_matches_update_the_same_episode_and_escalate() -> None:
    state = KeyState()
    first = feed(state, [obs(1, 0, 4000), obs(2, 1, 4000), obs(3, 2, 4000)])
    more = feed(state, [obs(4, 10, 4100), obs(5, 11, 12000)])
    assert [c.kind for c in first + more] == ["firing", "updated", "escalated"]
    ids = {c.alert.alert_id for c in first + more}
    assert len(ids) == 1
    assert more[-1].alert.severity is Severity.EXTREME
    assert more[-1].alert.evidence == ["e1", "e2", "e3", "e4", "e5"]


def test_out_of_order_events_inside_lateness_still_match() -> None:
    changes = feed(KeyState(), [obs(3, 40, 4000), obs(1, 0, 4000), obs(2, 20, 4000)])
    assert [c.kind for c in changes] == ["firing"]
    assert changes[0].alert.evidence == ["e1", "e2", "e3"]
    assert changes[0].alert.first_event_time == T0


def test_events_before_the_watermark_are_late() -> None:
    state = KeyState()
    outcome, _ = observe(RULE, state, obs(1, 0, 9000), T0 + timedelta(seconds=1))
    assert outcome == "late"
    assert state.points == []


def test_alert_id_is_deterministic_across_replays() -> None:
    items = [obs(1, 0, 4000), obs(2, 1, 4000), obs(3, 2, 4000)]
    a = feed(KeyState(), items)[0].alert.alert_id
    b = feed(KeyState(), items)[0].alert.alert_id
    c = feed(KeyState(), [obs(i, s + 1, 4000) for i, s in ((1, 0), (2, 1), (3, 2))])[0]
    assert a == b
    assert c.alert.alert_id != a  # another episode anchor, another id


def test_quiet_episode_resolves_and_a_new_one_gets_a_new_id() -> None:
    state = KeyState()
    first = feed(state, [obs(1, 0, 4000), obs(2, 1, 4000), obs(3, 2, 4000)])
    # e3 at +2 s can still pair with an on-time event at +62 s: the episode stays open.
    assert advance(RULE, state, T0 + timedelta(seconds=62)) == []
    closed = advance(RULE, state, T0 + timedelta(seconds=62, microseconds=1))
    assert [c.kind for c in closed] == ["resolved"]
    assert closed[0].alert.status == "resolved"
    assert closed[0].alert.alert_id == first[0].alert.alert_id
    assert is_idle(state)
    wm = T0 + timedelta(seconds=63)
    again = feed(state, [obs(7, 100, 4000), obs(8, 101, 4000), obs(9, 102, 4000)], wm)
    assert [c.kind for c in again] == ["firing"]
    assert again[0].alert.alert_id != first[0].alert.alert_id


@pytest.mark.parametrize("n", [1, 2])
def test_state_is_pruned_once_no_window_can_use_it(n: int) -> None:
    state = KeyState()
    feed(state, [obs(i, i, 4000) for i in range(n)])
    advance(RULE, state, T0 + timedelta(seconds=n + 61))
    assert is_idle(state)
