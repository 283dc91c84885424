"""Co-location rules (hazard-near-crowd, incident-burst) at their edges, without a broker.

Every test drives the engine as the stream layer does: each fact goes to every key `routes`
names, each key with its own state, and the changes of all cells are collected.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h3  # type: ignore[import-untyped]
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.alerts.model import AlertChange, Severity
from hub.correlate import colocation
from hub.correlate.colocation import (
    EARTH_RADIUS_M,
    EDGE_MARGIN,
    ColocationEngine,
    haversine_m,
    min_edge_length_m,
    resolution_for,
)
from hub.correlate.engine import Outcome, Route, State
from hub.correlate.fact import Fact
from hub.correlate.spec import ColocationRule, RulePack

PACK = RulePack.model_validate(
    yaml.safe_load(
        (Path(__file__).resolve().parent.parent / "hub/data/rules/city.yaml").read_text()
    )
)
T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
FAR_PAST = T0 - timedelta(days=1)
BASE = (31.2304, 121.4737)  # central Shanghai

Point = tuple[float, float]


def pack_rule(name: str) -> ColocationRule:
    rule = next(r for r in PACK.rules if r.name == name)
    assert isinstance(rule, ColocationRule)
    return rule


HAZARD_NEAR_CROWD = pack_rule("hazard-near-crowd")
INCIDENT_BURST = pack_rule("incident-burst")


# --- geometry helpers -------------------------------------------------------------------------


def north(p: Point, metres: float) -> Point:
    """Due north: the great-circle distance from `p` is exactly `metres`."""
    return p[0] + math.degrees(metres / EARTH_RADIUS_M), p[1]


def destination(p: Point, bearing: float, metres: float) -> Point:
    lat1, lon1, th = math.radians(p[0]), math.radians(p[1]), math.radians(bearing)
    d = metres / EARTH_RADIUS_M
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(th))
    lon2 = lon1 + math.atan2(
        math.sin(th) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * math.sin(lat2)
    )
    return math.degrees(lat2), math.degrees(lon2)


def bearing(a: Point, b: Point) -> float:
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    dlon = math.radians(b[1] - a[1])
    y = math.sin(dlon) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    return math.degrees(math.atan2(y, x))


def cell(p: Point, res: int) -> str:
    return str(h3.latlng_to_cell(p[0], p[1], res))


def centre(c: str) -> Point:
    lat, lon = h3.cell_to_latlng(c)
    return float(lat), float(lon)


def border_pair(res: int, neighbour: int, gap: float) -> tuple[Point, Point, str, str]:
    """Two points `gap` metres apart either side of the edge between a cell and a neighbour."""
    home = cell(BASE, res)
    other = sorted(str(c) for c in h3.grid_ring(home, 1))[neighbour]
    (a_lat, a_lon), (b_lat, b_lon) = h3.directed_edge_to_boundary(
        h3.cells_to_directed_edge(home, other)
    )
    mid = ((a_lat + b_lat) / 2, (a_lon + b_lon) / 2)
    towards = bearing(centre(home), centre(other))
    p, q = destination(mid, towards + 180, gap / 2), destination(mid, towards, gap / 2)
    assert (cell(p, res), cell(q, res)) == (home, other)
    return p, q, home, other


def vertex_triple(res: int, radius: float) -> tuple[list[Point], set[str]]:
    """Three points `radius` from a vertex where three cells meet, one in each cell."""
    home = cell(BASE, res)
    v = tuple(float(x) for x in h3.cell_to_boundary(home)[0])
    vertex: Point = (v[0], v[1])
    around = [
        str(c)
        for c in h3.grid_disk(home, 1)
        if any(haversine_m(vertex, (float(x), float(y))) < 1e-3 for x, y in h3.cell_to_boundary(c))
    ]
    assert len(around) == 3
    points = [destination(vertex, bearing(vertex, centre(c)), radius) for c in around]
    assert {cell(p, res) for p in points} == set(around)
    return points, set(around)


# --- fact helpers -----------------------------------------------------------------------------


def fact(
    i: int | str, type_: str, p: Point, seconds: float, source: str = "urn:t", **data: Any
) -> Fact:
    return Fact(
        uid=f"{source}\x1fe{i}",
        id=f"e{i}",
        type=type_,
        time=T0 + timedelta(seconds=seconds),
        data={**data, "location": {"lat": p[0], "lon": p[1]}},
        district="310101",
    )


def hazard(i: int | str, p: Point, s: float = 0, **kw: Any) -> Fact:
    return fact(i, "city.safety.hazard.reported", p, s, site_id="X", hazard="fire", **kw)


def hydrogen(i: int | str, p: Point, s: float, ppm: float) -> Fact:
    return fact(i, "city.safety.hydrogen.reading", p, s, site_id="X", sensor_id="S", h2_ppm=ppm)


def crowd(i: int | str, p: Point, s: float = 0, density: float = 5.0, **kw: Any) -> Fact:
    return fact(i, "city.security.crowd.density", p, s, camera_id="C", persons_per_m2=density, **kw)


def incident(i: int | str, p: Point, s: float = 0) -> Fact:
    return fact(i, "city.security.incident.reported", p, s, incident_id=f"I{i}", category="x")


class Stream:
    """The stream layer in miniature: per-cell states, every route observed, due checked."""

    def __init__(self, rule: ColocationRule) -> None:
        self.engine = ColocationEngine(rule)
        self.states: dict[str, State] = {}

    def send(self, f: Fact, watermark: datetime = FAR_PAST) -> tuple[list[Outcome], list[Any]]:
        outcomes: list[Outcome] = []
        changes: list[AlertChange] = []
        for route in self.engine.routes(f):
            step = self.engine.observe(self.states.get(route.key), f, route, watermark)
            self._put(route.key, step.state)
            outcomes.append(step.outcome)
            changes += step.changes
        return outcomes, changes

    def feed(self, facts: list[Fact], watermark: datetime = FAR_PAST) -> list[AlertChange]:
        return [c for f in facts for c in self.send(f, watermark)[1]]

    def advance(self, watermark: datetime) -> list[AlertChange]:
        """Advance every key, checking that `due` predicted exactly whether anything changed."""
        changes: list[AlertChange] = []
        for key, state in list(self.states.items()):
            due = self.engine.due(state, watermark)
            step = self.engine.advance(state, key, watermark)
            assert due == (step.state != state or bool(step.changes)), key
            self._put(key, step.state)
            changes += step.changes
        return changes

    def _put(self, key: str, state: State | None) -> None:
        if state is None:
            self.states.pop(key, None)
        else:
            self.states[key] = state


def kinds(changes: list[AlertChange]) -> list[str]:
    return [c.kind for c in changes]


# --- resolution and routing -------------------------------------------------------------------


def test_resolution_is_the_finest_whose_shortest_edge_clears_the_distance() -> None:
    assert resolution_for(500) == 7
    assert resolution_for(300) == 8
    for d in (1.0, 300.0, 500.0, 2_000.0, 50_000.0):
        res = resolution_for(d)
        assert min_edge_length_m(res) >= EDGE_MARGIN * d
        assert res == 15 or min_edge_length_m(res + 1) < EDGE_MARGIN * d


def test_shortest_edge_found_near_pentagons_is_the_global_minimum() -> None:
    every = min(
        float(h3.edge_length(e, "m"))
        for r0 in h3.get_res0_cells()
        for c in h3.cell_to_children(r0, 2)
        for e in h3.origin_to_directed_edges(c)
    )
    assert min_edge_length_m(2) == every


def test_haversine_agrees_with_h3() -> None:
    a, b = BASE, destination(BASE, 37.0, 1234.5)
    assert haversine_m(a, b) == pytest.approx(1234.5, abs=1e-6)
    assert haversine_m(a, b) == pytest.approx(h3.great_circle_distance(a, b, unit="m"), rel=1e-9)


@settings(max_examples=300, deadline=None)
@given(
    where=st.sampled_from(["city", "pentagon", "anywhere"]),
    lat=st.floats(-80, 80),
    lon=st.floats(-179, 179),
    heading=st.floats(0, 360),
    fraction=st.floats(0, 1),
    d=st.sampled_from([300.0, 500.0, 5_000.0]),
)
def test_points_within_distance_meet_in_the_smaller_home_cell(
    where: str, lat: float, lon: float, heading: float, fraction: float, d: float
) -> None:
    rule = HAZARD_NEAR_CROWD.model_copy(update={"distance": d})
    engine = ColocationEngine(rule)
    if where == "city":
        p = destination(BASE, heading * 7, fraction * 3 * d)
    elif where == "pentagon":
        p = destination(centre(h3.get_pentagons(engine.resolution)[0]), heading * 3, fraction * d)
    else:
        p = (lat, lon)
    q = destination(p, heading, fraction * d)
    a, b = hazard(1, p), crowd(2, q)
    keys_a = {r.key for r in engine.routes(a)}
    keys_b = {r.key for r in engine.routes(b)}
    anchor = min(cell(p, engine.resolution), cell(q, engine.resolution))
    assert anchor in keys_a & keys_b


def test_routes_are_the_home_cell_and_smaller_neighbours() -> None:
    engine = ColocationEngine(HAZARD_NEAR_CROWD)
    routes = engine.routes(hazard(1, BASE))
    home = cell(BASE, 7)
    assert routes[0] == Route(home, home=True)
    ring = {str(c) for c in h3.grid_ring(home, 1)}
    assert {r.key for r in routes[1:]} == {c for c in ring if c < home}
    assert not any(r.home for r in routes[1:])


def test_facts_without_a_location_or_role_are_not_routed() -> None:
    engine = ColocationEngine(HAZARD_NEAR_CROWD)
    nowhere = Fact(uid="u", id="e", type="city.safety.hazard.reported", time=T0, data={})
    assert engine.routes(nowhere) == []
    assert engine.routes(crowd(1, BASE, density=3.99)) == []
    assert engine.observe(None, nowhere, Route("x"), FAR_PAST).outcome == "filtered"


# --- hazard-near-crowd ------------------------------------------------------------------------


def test_hazard_within_499_m_of_a_crowd_fires_extreme_to_both_departments() -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    changes = s.feed([hazard(1, BASE), crowd(2, north(BASE, 499), 60)])
    assert kinds(changes) == ["firing"]
    alert = changes[0].alert
    assert alert.severity is Severity.EXTREME
    assert alert.departments == ["safety", "security"]
    assert sorted(alert.evidence) == ["e1", "e2"]
    assert alert.key == min(cell(BASE, 7), cell(north(BASE, 499), 7))
    # No gazetteer here: the site and the camera are named by their ids, the district by code.
    assert alert.headline == "Hazard at X 499 m from a crowd of 5/m² (C, 310101)"
    assert alert.first_event_time == T0
    assert alert.last_event_time == T0 + timedelta(seconds=60)


def test_501_m_is_too_far() -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    assert s.feed([hazard(1, BASE), crowd(2, north(BASE, 501), 60)]) == []


def test_exactly_500_m_counts() -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    assert kinds(s.feed([crowd(1, BASE), hazard(2, north(BASE, 500))])) == ["firing"]


@pytest.mark.parametrize(
    ("ppm", "density", "fires"),
    [(4000, 4.0, True), (3999.99, 9.0, False), (9000, 3.99, False)],
)
def test_hydrogen_and_crowd_thresholds(ppm: float, density: float, fires: bool) -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    changes = s.feed([hydrogen(1, BASE, 0, ppm), crowd(2, north(BASE, 100), 1, density)])
    assert kinds(changes) == (["firing"] if fires else [])


@pytest.mark.parametrize("reverse", [False, True])
def test_ten_minutes_apart_counts_and_one_second_more_does_not(reverse: bool) -> None:
    for gap, fires in ((600, True), (601, False)):
        s = Stream(HAZARD_NEAR_CROWD)
        pair = [hazard(1, BASE, 0), crowd(2, north(BASE, 50), gap)]
        changes = s.feed(pair[::-1] if reverse else pair)
        assert kinds(changes) == (["firing"] if fires else []), gap


def test_two_hazards_or_two_crowds_are_not_a_match() -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    assert s.feed([hazard(1, BASE), hydrogen(2, north(BASE, 10), 1, 9000)]) == []
    assert s.feed([crowd(3, north(BASE, 900)), crowd(4, north(BASE, 910))]) == []


# --- incident-burst ---------------------------------------------------------------------------


def test_three_incidents_each_290_m_apart_fire_severe() -> None:
    a = BASE
    b = destination(a, 90, 290)
    c = destination(a, 30, 290)
    sides = [haversine_m(a, b), haversine_m(b, c), haversine_m(a, c)]
    assert all(289 < x < 291 for x in sides)
    s = Stream(INCIDENT_BURST)
    changes = s.feed([incident(1, a, 0), incident(2, b, 60), incident(3, c, 120)])
    assert kinds(changes) == ["firing"]
    alert = changes[0].alert
    assert alert.severity is Severity.SEVERE
    assert sorted(alert.evidence) == ["e1", "e2", "e3"]
    assert alert.headline == "3 incidents within 290 m and 2 min in 310101"


def test_a_line_whose_ends_are_580_m_apart_is_not_a_burst() -> None:
    s = Stream(INCIDENT_BURST)
    line = [incident(1, BASE), incident(2, north(BASE, 290), 1), incident(3, north(BASE, 580), 2)]
    assert s.feed(line) == []
    # A fourth incident within 300 m of A and B completes a real triangle.
    assert kinds(s.feed([incident(4, destination(BASE, 30, 290), 3)])) == ["firing"]


def test_two_incidents_only_are_not_a_burst() -> None:
    assert Stream(INCIDENT_BURST).feed([incident(1, BASE), incident(2, north(BASE, 10), 1)]) == []


def test_burst_spans_at_most_fifteen_minutes() -> None:
    for last, fires in ((900, True), (901, False)):
        s = Stream(INCIDENT_BURST)
        burst = [incident(1, BASE, 0), incident(2, north(BASE, 20), 450), incident(3, BASE, last)]
        assert kinds(s.feed(burst)) == (["firing"] if fires else []), last


# --- cell borders: found once ------------------------------------------------------------------


@pytest.mark.parametrize("neighbour", range(6))
@pytest.mark.parametrize("swap", [False, True])
def test_pair_straddling_a_cell_border_fires_exactly_once(neighbour: int, swap: bool) -> None:
    p, q, home, other = border_pair(7, neighbour, 200)
    if swap:
        p, q = q, p
    s = Stream(HAZARD_NEAR_CROWD)
    changes = s.feed([hazard(1, p), crowd(2, q, 30)])
    assert kinds(changes) == ["firing"]
    assert changes[0].alert.key == min(home, other)
    # A further crowd reading extends that one alert; no other cell ever raises it.
    more = s.feed([crowd(3, q, 60)])
    assert kinds(more) == ["updated"]
    assert more[0].alert.alert_id == changes[0].alert.alert_id


def test_triangle_around_a_cell_vertex_fires_exactly_once() -> None:
    points, cells = vertex_triple(8, 120)
    s = Stream(INCIDENT_BURST)
    changes = s.feed([incident(i, p, i) for i, p in enumerate(points)])
    assert kinds(changes) == ["firing"]
    assert changes[0].alert.key == min(cells)


def test_pair_in_the_two_larger_cells_at_a_vertex_is_raised_by_the_smaller_of_them() -> None:
    points, _ = vertex_triple(7, 100)
    (x, px), (y, py), (_, pz) = sorted((cell(p, 7), p) for p in points)
    s = Stream(HAZARD_NEAR_CROWD)
    changes = s.feed([hazard(1, py, 0), hazard(2, px, 20), crowd(3, pz, 30)])
    # {1, 3} is anchored in y, {2, 3} in x: cell x holds hazard 1 too but must not raise {1, 3}.
    assert sorted((c.alert.key, sorted(c.alert.evidence)) for c in changes) == [
        (x, ["e2", "e3"]),
        (y, ["e1", "e3"]),
    ]
    assert kinds(changes) == ["firing", "firing"]


def test_distance_is_inclusive_to_the_last_bit() -> None:
    a, b = BASE, destination(BASE, 60, 400)
    exact = haversine_m(a, b)
    for d, fires in ((exact, True), (math.nextafter(exact, 0), False)):
        s = Stream(HAZARD_NEAR_CROWD.model_copy(update={"distance": d}))
        assert kinds(s.feed([hazard(1, a), crowd(2, b, 1)])) == (["firing"] if fires else [])
    # Between two held facts (checked while searching, not against the new fact).
    a, c = BASE, destination(BASE, 0, 280)
    b = destination(BASE, 30, 140)
    exact = haversine_m(a, c)
    assert haversine_m(a, b) < exact
    assert haversine_m(b, c) < exact
    for d, fires in ((exact, True), (math.nextafter(exact, 0), False)):
        s = Stream(INCIDENT_BURST.model_copy(update={"distance": d}))
        changes = s.feed([incident(1, a), incident(2, c, 1), incident(3, b, 2)])
        assert kinds(changes) == (["firing"] if fires else [])


# --- duplicates, order, lateness, expiry --------------------------------------------------------


def test_resent_duplicate_counts_once() -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    first = s.feed([hazard(1, BASE), crowd(2, north(BASE, 100), 5)])
    outcomes, changes = s.send(crowd(2, north(BASE, 100), 5))
    assert set(outcomes) == {"duplicate"}
    assert changes == []
    # The same id from another source is another event, and extends the alert.
    outcomes, changes = s.send(crowd(2, north(BASE, 100), 6, source="urn:other"))
    assert set(outcomes) == {"counted"}
    assert kinds(changes) == ["updated"]
    assert changes[0].alert.alert_id == first[0].alert.alert_id


def test_out_of_order_inside_lateness_still_matches() -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    lateness = timedelta(minutes=5)
    later = crowd(2, north(BASE, 100), 300)
    assert s.send(later, later.time - lateness)[1] == []
    # Exactly at the watermark is on time.
    outcomes, changes = s.send(hazard(1, BASE, 0), later.time - lateness)
    assert set(outcomes) == {"counted"}
    assert kinds(changes) == ["firing"]
    assert changes[0].alert.first_event_time == T0


def test_fact_before_the_watermark_is_late_everywhere() -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    s.send(crowd(2, north(BASE, 100), 301), T0 + timedelta(seconds=1))
    before = dict(s.states)
    outcomes, changes = s.send(hazard(1, BASE, 0), T0 + timedelta(seconds=1))
    assert outcomes == ["late"] * len(s.engine.routes(hazard(1, BASE, 0)))
    assert changes == []
    assert s.states == before


def test_facts_expire_strictly_after_within() -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    s.send(hazard(1, BASE, 0), T0)
    edge = T0 + timedelta(minutes=10)
    assert s.advance(edge) == []
    assert s.states  # kept: an on-time crowd at the watermark can still pair with it
    assert kinds(s.feed([crowd(2, north(BASE, 100), 600)], edge)) == ["firing"]

    s = Stream(HAZARD_NEAR_CROWD)
    s.send(hazard(1, BASE, 0), T0)
    s.advance(edge + timedelta(microseconds=1))
    assert s.states == {}


def test_state_stays_bounded_under_a_long_stream() -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    for i in range(200):
        t = i * 30.0
        s.send(
            crowd(i, north(BASE, i % 7), t, density=1.0 + 3 * (i % 2)), T0 + timedelta(seconds=t)
        )
    held = max(len(state["facts"]) for state in s.states.values())
    assert held == 11  # one reading a minute qualifies, kept for 10 min inclusive


def test_a_cell_holds_at_most_max_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(colocation, "MAX_FACTS", 5)
    s = Stream(HAZARD_NEAR_CROWD)
    s.feed([crowd(i, BASE, i) for i in range(8)])
    held = s.states[cell(BASE, 7)]["facts"]
    assert [h["fact"]["id"] for h in held] == ["e3", "e4", "e5", "e6", "e7"]


# --- episodes ---------------------------------------------------------------------------------


def test_repeated_matches_extend_then_the_episode_resolves() -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    near = north(BASE, 100)
    first = s.feed([hazard(1, BASE, 0), crowd(2, near, 60)])
    more = s.feed([crowd(3, near, 500)])
    assert kinds(first + more) == ["firing", "updated"]
    alert_id = first[0].alert.alert_id
    assert more[0].alert.alert_id == alert_id
    assert more[0].alert.evidence == ["e1", "e2", "e3"]
    last = T0 + timedelta(seconds=500)
    assert s.advance(last + timedelta(minutes=10)) == []
    resolved = s.advance(last + timedelta(minutes=10, microseconds=1))
    assert kinds(resolved) == ["resolved"]
    assert resolved[0].alert.alert_id == alert_id
    assert s.states == {}
    again = s.feed([hazard(4, BASE, 2000), crowd(5, near, 2001)], T0 + timedelta(seconds=2000))
    assert kinds(again) == ["firing"]
    assert again[0].alert.alert_id != alert_id


def test_a_match_beyond_within_of_the_episode_opens_a_new_one() -> None:
    s = Stream(HAZARD_NEAR_CROWD)
    first = s.feed([hazard(1, BASE, 0), crowd(2, BASE, 0)])
    # Before the watermark has closed the first episode, a match 10 min + 1 s after its end.
    changes = s.feed([hazard(3, BASE, 601), crowd(4, BASE, 601)])
    assert kinds(changes) == ["resolved", "firing"]
    assert changes[0].alert.alert_id == first[0].alert.alert_id
    assert changes[1].alert.alert_id != first[0].alert.alert_id


def test_alert_id_is_deterministic_across_replays() -> None:
    facts = [hazard(1, BASE, 0), crowd(2, north(BASE, 100), 60)]
    ids = {Stream(HAZARD_NEAR_CROWD).feed(facts)[0].alert.alert_id for _ in range(2)}
    assert len(ids) == 1


# --- roles and escalation ----------------------------------------------------------------------


def adhoc(**over: Any) -> ColocationRule:
    spec: dict[str, Any] = {
        "name": "adhoc",
        "kind": "colocation",
        "members": [
            {"role": "hazard", "match": {"type": "city.safety.hydrogen.reading"}},
            {
                "role": "hazard",
                "match": {
                    "type": "city.safety.hydrogen.reading",
                    "where": {"h2_ppm": {"gte": 5000}},
                },
            },
            {"role": "crowd", "match": {"type": "city.security.crowd.density"}},
        ],
        "require": {"hazard": 1, "crowd": 1},
        "distance": "500m",
        "within": "10m",
        "severity": "Severe",
        "category": "Safety",
        "departments": ["safety"],
        "headline": "{count} near {cell} within {distance}/{within}",
    }
    spec.update(over)
    return ColocationRule.model_validate(spec)


def test_a_fact_matching_two_members_of_one_role_counts_once() -> None:
    rule = adhoc(require={"hazard": 2, "crowd": 1})
    s = Stream(rule)
    assert s.feed([hydrogen(1, BASE, 0, 6000), crowd(2, BASE, 1)]) == []
    changes = s.feed([hydrogen(3, BASE, 2, 100)])
    assert kinds(changes) == ["firing"]
    assert changes[0].alert.headline.startswith("3 near ")


def test_a_fact_matching_two_roles_fills_only_one() -> None:
    members = [
        {"role": "a", "match": {"type": "city.safety.hydrogen.reading"}},
        {
            "role": "b",
            "match": {"type": "city.safety.hydrogen.reading", "where": {"h2_ppm": {"gte": 5}}},
        },
    ]
    s = Stream(adhoc(members=members, require={"a": 1, "b": 1}))
    assert s.feed([hydrogen(1, BASE, 0, 9)]) == []  # could be a or b, not both
    assert s.feed([hydrogen(2, BASE, 1, 1)]) != []  # only a: with the first as b, a match
    s = Stream(adhoc(members=members, require={"a": 1, "b": 1}))
    assert s.feed([hydrogen(1, BASE, 0, 1), hydrogen(2, BASE, 1, 1)]) == []  # neither can be b


def test_escalation_by_evidence_and_by_event_in_the_alerts_cell() -> None:
    rule = adhoc(
        escalate=[
            {"any": {"h2_ppm": {"gte": 10000}}, "severity": "Extreme"},
        ]
    )
    s = Stream(rule)
    assert s.feed([hydrogen(1, BASE, 0, 12000), crowd(2, BASE, 1)])[0].alert.severity is (
        Severity.EXTREME
    )

    rule = adhoc(
        escalate=[{"event": {"type": "city.security.incident.reported"}, "severity": "Extreme"}]
    )
    s = Stream(rule)
    first = s.feed([hydrogen(1, BASE, 0, 100), crowd(2, BASE, 1)])
    assert first[0].alert.severity is Severity.SEVERE
    far_cell = north(BASE, 20_000)
    assert s.send(incident(3, far_cell, 2)) == (["filtered"], [])
    # Delivered to the alert's cell although it happened elsewhere: not this alert's business.
    key = first[0].alert.key
    step = s.engine.observe(s.states[key], incident(3, far_cell, 2), Route(key), FAR_PAST)
    assert (step.outcome, step.changes) == ("filtered", [])
    outcomes, changes = s.send(incident(4, BASE, 3))
    assert outcomes == ["counted"]
    assert kinds(changes) == ["escalated"]
    assert changes[0].alert.severity is Severity.EXTREME
    assert changes[0].alert.alert_id == first[0].alert.alert_id


# --- property: the engine agrees with brute force ------------------------------------------------


# Types of the test's own (the field `v` is no contract field, which rule files may not name).
X_TYPE = "test.incident"
Y_TYPE = "test.crowd"


def _rules() -> dict[str, ColocationRule]:
    x = X_TYPE
    y = Y_TYPE
    base = {"distance": "300m", "within": "2m"}
    return {
        "pair": adhoc(
            members=[{"role": "p", "match": {"type": x}}, {"role": "q", "match": {"type": y}}],
            require={"p": 1, "q": 1},
            **base,
        ),
        "triple": adhoc(
            members=[{"role": "i", "match": {"type": [x, y]}}], require={"i": 3}, **base
        ),
        "overlap": adhoc(
            members=[
                {"role": "a", "match": {"type": x}},
                {"role": "a", "match": {"type": y, "where": {"v": {"gte": 5}}}},
                {"role": "b", "match": {"type": [x, y], "where": {"v": {"gte": 3}}}},
            ],
            require={"a": 1, "b": 2},
            **base,
        ),
    }


RULES = _rules()
RES = resolution_for(300)
CENTRES: dict[str, Point] = {
    "city": BASE,
    "pentagon": centre(h3.get_pentagons(RES)[3]),
    "vertex": (
        float(h3.cell_to_boundary(cell(BASE, RES))[2][0]),
        float(h3.cell_to_boundary(cell(BASE, RES))[2][1]),
    ),
}


def qualifies(rule: ColocationRule, facts: list[Fact]) -> bool:
    """Brute force: some K of `facts` fill `require` and are pairwise close in space and time."""
    size = sum(rule.require.values())
    slots = [r for r, n in rule.require.items() for _ in range(n)]
    tests = [(m.role, m.match.compile()) for m in rule.members]
    roles = {f.uid: {r for r, t in tests if t(f)} for f in facts}
    for combo in itertools.combinations(facts, size):
        times = [f.time for f in combo]
        if max(times) - min(times) > rule.within:
            continue
        pts = [p for f in combo if (p := f.point) is not None]
        if any(haversine_m(a, b) > rule.distance for a, b in itertools.combinations(pts, 2)):
            continue
        if any(
            all(slot in roles[f.uid] for f, slot in zip(combo, perm, strict=True))
            for perm in set(itertools.permutations(slots))
        ):
            return True
    return False


fact_spec = st.tuples(
    st.sampled_from([X_TYPE, Y_TYPE]),
    st.floats(-350, 350),  # metres north
    st.floats(-350, 350),  # metres east
    st.integers(0, 300),  # seconds
    st.integers(0, 9),  # v
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule_name=st.sampled_from(sorted(RULES)),
    where=st.sampled_from(sorted(CENTRES)),
    specs=st.lists(fact_spec, min_size=1, max_size=8),
    order=st.randoms(use_true_random=False),
    resend=st.lists(st.integers(0, 7), max_size=3),
    lateness=st.sampled_from([0, 60, 300]),
)
def test_engine_agrees_with_brute_force(
    rule_name: str,
    where: str,
    specs: list[tuple[str, float, float, int, int]],
    order: Any,
    resend: list[int],
    lateness: int,
) -> None:
    rule = RULES[rule_name]
    origin = CENTRES[where]
    facts = []
    for i, (type_, dn, de, s, v) in enumerate(specs):
        p = destination(destination(origin, 0, dn), 90, de) if dn or de else origin
        facts.append(fact(i, type_, p, s, v=v))
    arrivals = facts + [facts[i] for i in resend if i < len(facts)]
    order.shuffle(arrivals)

    stream = Stream(rule)
    accepted: dict[str, Fact] = {}
    firing: list[AlertChange] = []
    latest = FAR_PAST
    for f in arrivals:
        latest = max(latest, f.time)
        watermark = latest - timedelta(seconds=lateness)
        outcomes, changes = stream.send(f, watermark)
        if f.time >= watermark:
            accepted.setdefault(f.uid, f)
        else:
            assert set(outcomes) <= {"late"}
        firing += [c for c in changes if c.kind == "firing"]
        firing += [c for c in stream.advance(watermark) if c.kind == "firing"]

    by_id = {f.id: f for f in facts}
    assert bool(firing) == qualifies(rule, list(accepted.values()))
    evidence_sets = [frozenset(c.alert.evidence) for c in firing]
    assert len(set(evidence_sets)) == len(evidence_sets)  # no set raised twice
    for ids in evidence_sets:
        assert qualifies(rule, [by_id[i] for i in ids])
