"""The simulator: deterministic, valid, paced, quiet when it should be, and exactly as loud as
its ground truth says.

The rule checks use a brute-force checker of the six default rules written here from the
contract alone (no code shared with the simulator or the hub's rule engine), so a simulator
bug and a checker bug would have to agree to pass.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h3  # type: ignore[import-untyped]
import orjson
import pytest

from connectors.sdk.item import Draft, Item, SendOutcome
from connectors.sdk.options import validate
from connectors.simulator import (
    SCENARIOS,
    Simulation,
    SimulatorConnector,
    SimulatorOptions,
    generate,
    read_truths,
    to_cloudevent,
    write_jsonl,
)
from connectors.simulator.drafts import time_of
from hub.errors import UserError
from hub.events import parse_record, parse_structured
from hub.topics import DOMAINS, Topics
from tests.support.hubproc import Hub

START = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
POSITIVE = [n for n in SCENARIOS if not n.endswith("near-miss")]
NEAR_MISSES = [n for n in SCENARIOS if n.endswith("near-miss")]

# --- an independent brute-force checker of the default rule pack ---------------------------------


@dataclass(frozen=True)
class Found:
    rule: str
    key: str
    severity: str
    start: datetime
    end: datetime
    fires_at: datetime
    evidence: tuple[str, ...]


@dataclass(frozen=True, eq=False)  # identity: one object per event
class Ev:
    id: str
    type: str
    t: datetime
    data: dict[str, Any]
    district: str | None

    @property
    def lat_lon(self) -> tuple[float, float]:
        return self.data["location"]["lat"], self.data["location"]["lon"]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def metres(a: Ev, b: Ev) -> float:
    (lat1, lon1), (lat2, lon2) = a.lat_lon, b.lat_lon
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def _episodes(members: Iterable[Ev], gap: timedelta) -> list[list[Ev]]:
    """Split contributing events into episodes where they are more than `gap` apart."""
    out: list[list[Ev]] = []
    for e in sorted(set(members), key=lambda e: (e.t, e.id)):
        if out and e.t - out[-1][-1].t <= gap:
            out[-1].append(e)
        else:
            out.append([e])
    return out


def _found(
    rule: str, key: str, severity: str, members: list[Ev], fires: list[datetime], end: datetime
) -> Found:
    lo, hi = members[0].t, members[-1].t
    fire = min(f for f in fires if lo <= f <= hi)
    return Found(rule, key, severity, lo, max(hi, end), fire, tuple(sorted(e.id for e in members)))


def _windows(points: list[Ev], span: timedelta, least: int) -> tuple[set[Ev], list[datetime]]:
    """Members of every window of `span` holding >= `least` points, and when each filled up."""
    points = sorted(points, key=lambda e: e.t)
    members: set[Ev] = set()
    fires: list[datetime] = []
    for i, first in enumerate(points):
        window = [p for p in points[i:] if p.t - first.t <= span]
        if len(window) >= least:
            members.update(window)
            fires.append(window[least - 1].t)
    return members, fires


def check_rules(events: Iterable[dict[str, Any]], horizon: datetime) -> list[Found]:
    evs = [Ev(e["id"], e["type"], _t(e["time"]), e["data"], e.get("district")) for e in events]
    by_type: dict[str, list[Ev]] = defaultdict(list)
    for e in evs:
        by_type[e.type.removeprefix("city.")].append(e)
    readings = by_type["safety.hydrogen.reading"]
    high = [r for r in readings if r.data["h2_ppm"] >= 4000]
    hazards = high + by_type["safety.hazard.reported"]
    found: list[Found] = []

    # hydrogen-leak: >= 3 readings >= 4000 ppm at one site within 60 s
    per_site: dict[str, list[Ev]] = defaultdict(list)
    for r in high:
        per_site[r.data["site_id"]].append(r)
    for site, pts in per_site.items():
        members, fires = _windows(pts, timedelta(seconds=60), 3)
        for ep in _episodes(members, timedelta(seconds=60)):
            sev = "Extreme" if max(e.data["h2_ppm"] for e in ep) >= 10000 else "Severe"
            found.append(_found("hydrogen-leak", site, sev, ep, fires, ep[-1].t))

    # hazard-near-crowd: hazard and crowd >= 4.0 within 500 m and 10 min
    crowds = [c for c in by_type["security.crowd.density"] if c.data["persons_per_m2"] >= 4.0]
    pairs: dict[str, set[Ev]] = defaultdict(set)
    pair_fires: dict[str, list[datetime]] = defaultdict(list)
    for h in hazards:
        for c in crowds:
            if abs(h.t - c.t) <= timedelta(minutes=10) and metres(h, c) <= 500:
                pairs[h.data["site_id"]].update((h, c))
                pair_fires[h.data["site_id"]].append(max(h.t, c.t))
    for site, members in pairs.items():
        for ep in _episodes(members, timedelta(minutes=10)):
            found.append(
                _found("hazard-near-crowd", site, "Extreme", ep, pair_fires[site], ep[-1].t)
            )

    # inspection-overdue: no completion by due_by + 24 h; Severe on a hazard while overdue
    completions = by_type["safety.inspection.completed"]
    for s in by_type["safety.inspection.scheduled"]:
        deadline = _t(s.data["due_by"]) + timedelta(hours=24)
        ent = s.data["enterprise_id"]
        done = sorted(c.t for c in completions if c.data["enterprise_id"] == ent and c.t >= s.t)
        if (done and done[0] <= deadline) or deadline > horizon:
            continue
        until = next((d for d in done if d > deadline), horizon)
        worse = [
            h for h in hazards if h.data["site_id"] == s.data["site_id"] and deadline < h.t <= until
        ]
        sev = "Severe" if worse else "Moderate"
        end = max([deadline, *(h.t for h in worse)])
        found.append(
            Found(
                "inspection-overdue",
                ent,
                sev,
                s.t,
                end,
                deadline,
                tuple(sorted([s.id, *(h.id for h in worse)])),
            )
        )

    # incident-burst: >= 3 incidents within 15 min, each within 300 m of the others
    incidents = sorted(by_type["security.incident.reported"], key=lambda e: e.t)
    parent: dict[Ev, Ev] = {}

    def root(e: Ev) -> Ev:
        while parent.setdefault(e, e) is not e:
            e = parent[e]
        return e

    burst_fires: list[datetime] = []
    span = timedelta(minutes=15)
    for i, a in enumerate(incidents):
        near = [b for b in incidents[i + 1 :] if b.t - a.t <= span and metres(a, b) <= 300]
        for j, b in enumerate(near):
            for c in near[j + 1 :]:
                if metres(b, c) <= 300:
                    burst_fires.append(max(b.t, c.t))
                    for x in (b, c):
                        parent[root(x)] = root(a)
    clusters: dict[Ev, list[Ev]] = defaultdict(list)
    for e in list(parent):
        clusters[root(e)].append(e)
    for cluster in clusters.values():
        ep = sorted(cluster, key=lambda e: (e.t, e.id))
        key = h3.latlng_to_cell(*ep[0].lat_lon, 7)
        found.append(_found("incident-burst", key, "Severe", ep, burst_fires, ep[-1].t))

    # service-hotspot: >= 5 opened, same department + service_code, one district, within 24 h
    opened = by_type["service.request.opened"]
    groups: dict[str, list[Ev]] = defaultdict(list)
    for o in opened:
        groups[f"{o.district}/{o.data['department']}/{o.data['service_code']}"].append(o)
    for key, pts in groups.items():
        members, fires = _windows(pts, timedelta(hours=24), 5)
        for ep in _episodes(members, timedelta(hours=24)):
            found.append(_found("service-hotspot", key, "Moderate", ep, fires, ep[-1].t))

    # service-sla-breach: opened and not closed within 72 h
    closed: dict[str, datetime] = {}
    for c in by_type["service.request.closed"]:
        rid = c.data["request_id"]
        closed[rid] = min(closed.get(rid, c.t), c.t)
    for o in opened:
        deadline = o.t + timedelta(hours=72)
        rid = o.data["request_id"]
        if deadline <= horizon and not (rid in closed and closed[rid] <= deadline):
            found.append(
                Found("service-sla-breach", rid, "Minor", o.t, deadline, deadline, (o.id,))
            )
    return sorted(found, key=lambda f: (f.rule, f.key, f.start))


def truth_found(truths: Iterable[Any], horizon: datetime) -> list[Found]:
    out = [
        Found(t.rule, t.key, t.severity, t.start, t.end, t.fires_at, tuple(sorted(t.evidence)))
        for t in truths
        if t.end <= horizon
    ]
    return sorted(out, key=lambda f: (f.rule, f.key, f.start))


def run_until(sim: Simulation, until: datetime) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for _, draft in sim.timeline():
        event = to_cloudevent(draft)
        if _t(event["time"]) > until:
            return out
        out.append(event)
    raise AssertionError("unreachable")


def _assert_same(found: list[Found], expected: list[Found]) -> None:
    assert [f.rule for f in found] == [e.rule for e in expected], (found, expected)
    assert found == expected


# --- determinism and validity ---------------------------------------------------------------


def _ids_and_bytes(seed: int, **kw: Any) -> list[bytes]:
    return [orjson.dumps(to_cloudevent(d)) for d in generate(seed, start_time=START, **kw)]


def test_same_seed_same_events_and_other_seed_other_events() -> None:
    a = _ids_and_bytes(7, count=3000, time_scale=60)
    assert a == _ids_and_bytes(7, count=3000, time_scale=60)
    b = _ids_and_bytes(8, count=3000, time_scale=60)
    assert len(b) == 3000
    assert a != b
    assert sum(x == y for x, y in zip(a, b, strict=True)) == 0


def test_ids_are_unique_and_do_not_depend_on_the_start_time() -> None:
    first = [d.id for d in generate(3, count=5000, start_time=START, time_scale=600)]
    later = [
        d.id for d in generate(3, count=5000, start_time=START + timedelta(days=9), time_scale=600)
    ]
    assert len(set(first)) == 5000
    assert first == later
    other_options = [d.id for d in generate(3, count=100, start_time=START, scenarios=["leak"])]
    assert not set(other_options) & set(first)


def test_every_event_validates_against_the_contract() -> None:
    sparse = Simulation(5, scenarios=list(SCENARIOS), start_time=START, time_scale=3600)
    events = run_until(sparse, START + timedelta(days=12))
    dense = generate(5, count=4000, start_time=START, time_scale=1)
    events += [to_cloudevent(d) for d in dense]
    seen_types = set()
    for event in events:
        parsed = parse_structured(orjson.dumps(event))
        seen_types.add(parsed.type)
        assert parsed.district, event
    assert len(seen_types) == 8  # every v1 event type occurs


def test_city_values_stay_in_their_normal_ranges() -> None:
    quiet = generate(11, count=20000, start_time=START, time_scale=30, scenarios=["none"])
    events = [to_cloudevent(d) for d in quiet]
    ppm = [e["data"]["h2_ppm"] for e in events if e["type"].endswith("hydrogen.reading")]
    crowd = [e["data"]["persons_per_m2"] for e in events if e["type"].endswith("crowd.density")]
    assert min(ppm) >= 50
    assert max(ppm) <= 400
    assert min(crowd) >= 0.2
    assert max(crowd) <= 2.5
    sites = {e["data"]["site_id"] for e in events if e["type"].endswith("hydrogen.reading")}
    assert sites == {f"H2-ST-{i:02d}" for i in range(1, 7)}


# --- the rules: background quiet, scenarios exact ----------------------------------------------


@pytest.mark.parametrize(
    ("time_scale", "rate", "days"),
    [(3600, 20, 40), (60, 20, 1.5), (1, 50, 0.01)],
    ids=["sparse-40-days", "medium-36-hours", "dense-14-minutes"],
)
def test_background_triggers_no_rule(time_scale: float, rate: float, days: float) -> None:
    sim = Simulation(1, scenarios=["none"], start_time=START, time_scale=time_scale, rate=rate)
    horizon = START + timedelta(days=days)
    events = run_until(sim, horizon)
    assert len(events) > 15000
    assert check_rules(events, horizon) == []


@pytest.mark.parametrize("name", POSITIVE)
def test_scenario_causes_exactly_its_ground_truth(name: str) -> None:
    sim = Simulation(2, scenarios=[name], start_time=START, time_scale=3600)
    assert sim.truths, name
    horizon = max(t.end for t in sim.truths) + timedelta(hours=6)
    found = check_rules(run_until(sim, horizon), horizon)
    _assert_same(found, truth_found(sim.truths, horizon))


@pytest.mark.parametrize("name", ["leak", "leak-near-crowd", "hazard-near-crowd", "incident-burst"])
def test_short_scenarios_in_a_dense_stream(name: str) -> None:
    sim = Simulation(4, scenarios=[name], start_time=START, time_scale=2, rate=20)
    horizon = max(t.end for t in sim.truths) + timedelta(minutes=15)
    found = check_rules(run_until(sim, horizon), horizon)
    _assert_same(found, truth_found(sim.truths, horizon))


@pytest.mark.parametrize("name", NEAR_MISSES)
def test_near_miss_causes_nothing(name: str) -> None:
    sim = Simulation(3, scenarios=[name], start_time=START, time_scale=3600)
    assert sim.truths == []
    horizon = START + timedelta(days=5)
    assert check_rules(run_until(sim, horizon), horizon) == []


@pytest.mark.parametrize(
    ("scenarios", "time_scale", "rate"),
    [
        (None, 3600, 20),  # the demo mix
        (list(SCENARIOS), 3600, 20),  # every scenario once, 15 s of wall time apart
        (list(SCENARIOS), 60, 5),  # the same, 15 simulated minutes apart
        (["leak"] * 8, 1, 20),  # more leaks than stations: sites are reused
    ],
    ids=["demo-mix", "all-hourly", "all-minutely", "eight-leaks"],
)
def test_mixed_scenarios_do_not_interfere(
    scenarios: list[str] | None, time_scale: float, rate: float
) -> None:
    sim = Simulation(9, scenarios=scenarios, start_time=START, time_scale=time_scale, rate=rate)
    horizon = max(t.end for t in sim.truths) + timedelta(seconds=2000 * sim.spacing_s)
    found = check_rules(run_until(sim, horizon), horizon)
    _assert_same(found, truth_found(sim.truths, horizon))


def test_checker_agrees_with_the_contract_edges() -> None:
    """The checker itself, on hand-made events at the edges of each rule."""

    def ev(eid: str, type_: str, sec: float, **data: Any) -> dict[str, Any]:
        t = (START + timedelta(seconds=sec)).isoformat().replace("+00:00", "Z")
        return {"id": eid, "type": type_, "time": t, "data": data, "district": "310101"}

    loc = {"lat": 31.23, "lon": 121.47}
    far = {"lat": 31.23 + 0.0045, "lon": 121.47}  # 500.4 m north
    r = "city.safety.hydrogen.reading"
    leak = [
        ev(f"r{i}", r, s, site_id="A", h2_ppm=4000, location=loc) for i, s in enumerate((0, 30, 60))
    ]
    hit = check_rules(leak, START + timedelta(hours=1))
    assert [(f.rule, f.severity, f.fires_at) for f in hit] == [
        ("hydrogen-leak", "Severe", START + timedelta(seconds=60))
    ]
    crowd = ev(
        "c", "city.security.crowd.density", 600, camera_id="C", persons_per_m2=4.0, location=far
    )
    assert [f.rule for f in check_rules([*leak[:1], crowd], START)] == []
    near = dict(crowd, data={**crowd["data"], "location": loc})
    assert [f.rule for f in check_rules([*leak[:1], near], START)] == ["hazard-near-crowd"]


# --- the connector: pacing, resume, ground truth ---------------------------------------------


class MemorySink:
    """A real in-memory Sink: records what it is given, with the monotonic time of arrival."""

    def __init__(self, resume_from: Any = None) -> None:
        self.resume_from = resume_from
        self.stopping = asyncio.Event()
        self.items: list[tuple[float, Item]] = []
        self.checkpoints: list[Any] = []
        self.position: Any = resume_from

    async def send(self, item: Item) -> SendOutcome:
        return await self.submit(item)

    async def submit(self, item: Item) -> SendOutcome:
        self.items.append((time.monotonic(), item))
        self.position = item.position
        await asyncio.sleep(0)
        return SendOutcome("published")

    async def reject(self, raw: bytes, reason: str, detail: str, **_: Any) -> None:
        raise AssertionError(f"the simulator rejected a record: {reason}: {detail}")

    async def checkpoint(self) -> None:
        self.checkpoints.append(self.position)

    @property
    def drafts(self) -> list[Draft]:
        out = [item.payload for _, item in self.items]
        assert all(isinstance(d, Draft) for d in out)
        return out  # type: ignore[return-value]


def run_connector(sink: MemorySink | None = None, **options: Any) -> MemorySink:
    sink = sink or MemorySink()
    connector = SimulatorConnector(SimulatorOptions(**options))

    async def main() -> None:
        await connector.run(sink)

    asyncio.run(main())
    return sink


def test_rate_is_kept_without_drift() -> None:
    began = time.monotonic()
    sink = run_connector(rate=100, duration=2.0, scenario=["none"])
    arrivals = [t - began for t, _ in sink.items]
    assert 170 <= len(arrivals) <= 215, len(arrivals)
    buckets = [sum(1 for a in arrivals if k * 0.5 <= a < (k + 1) * 0.5) for k in range(4)]
    assert all(35 <= b <= 65 for b in buckets), buckets
    # event times follow the wall clock times the time scale (1): 100 events per second
    times = [time_of(d) for d in sink.drafts]
    assert (times[100] - times[0]).total_seconds() == pytest.approx(1.0, abs=0.02)


def test_rate_zero_runs_flat_out_and_count_stops_it() -> None:
    began = time.monotonic()
    sink = run_connector(rate=0, count=3000, scenario=["none"], start_time=START)
    assert len(sink.items) == 3000
    assert time.monotonic() - began < 5
    assert sink.items[-1][1].position["emitted"] == 3000


def test_stopping_ends_a_run_promptly() -> None:
    sink = MemorySink()
    connector = SimulatorConnector(SimulatorOptions(rate=5))

    async def main() -> float:
        task = asyncio.create_task(connector.run(sink))
        await asyncio.sleep(0.5)
        sink.stopping.set()
        stopped = time.monotonic()
        await asyncio.wait_for(task, 2)
        return time.monotonic() - stopped

    assert asyncio.run(main()) < 0.3
    assert 2 <= len(sink.items) <= 4


def test_restart_continues_the_same_sequence() -> None:
    options: dict[str, Any] = {"rate": 0, "scenario": ["leak"], "seed": 5}
    whole = run_connector(count=400, start_time=START, **options).drafts
    first = run_connector(count=150, start_time=START, **options)
    assert first.position == {"emitted": 150, "start": "2026-05-01T00:00:00Z"}
    rest = run_connector(MemorySink(first.position), count=400, start_time=START, **options)
    assert first.drafts + rest.drafts == whole
    # nothing left to do once the count is reached
    assert run_connector(MemorySink(rest.position), count=400, **options).items == []


def test_restart_without_a_start_time_never_goes_back_in_event_time() -> None:
    options: dict[str, Any] = {"rate": 0, "scenario": ["leak"], "seed": 5, "count": 400}
    whole = run_connector(start_time=START, **options).drafts
    # an old checkpoint at time scale 1: the sequence goes on from now, same ids and content
    now = datetime.now(UTC)
    old = {"emitted": 150, "start": "2026-05-01T00:00:00Z"}
    moved = run_connector(MemorySink(old), **options).drafts
    assert [d.id for d in moved] == [d.id for d in whole[150:]]
    assert [d.data for d in moved if d.type.endswith("request.opened")] == [
        d.data for d in whole[150:] if d.type.endswith("request.opened")
    ]
    assert abs((time_of(moved[0]) - now).total_seconds()) < 2
    # at time scale 3600 the timeline runs days ahead of the clock: a restart continues it
    fast = {**options, "time_scale": 3600}
    first = run_connector(**{**fast, "count": 150})
    rest = run_connector(MemorySink(first.position), **fast).drafts
    reference = run_connector(start_time=START, **fast).drafts
    gap = time_of(rest[0]) - time_of(first.drafts[-1])
    assert gap == time_of(reference[150]) - time_of(reference[149])
    assert [d.id for d in first.drafts + rest] == [d.id for d in reference]


def test_ground_truth_file_lists_what_the_sent_events_cause(tmp_path: Path) -> None:
    path = tmp_path / "truth.jsonl"
    sink = run_connector(
        rate=0,
        count=2000,
        time_scale=3600,
        scenario=["leak", "sla-breach", "overdue-inspection@500"],
        start_time=START,
        ground_truth=path,
    )
    written = read_truths(path)
    # the overdue inspection is scheduled 500 h in and due 30 h later: beyond 2000 events
    assert [t["rule"] for t in written] == ["hydrogen-leak", "service-sla-breach"]
    sent = {d.id for d in sink.drafts}
    assert all(set(t["evidence"]) <= sent for t in written)
    last = max(time_of(d) for d in sink.drafts)
    horizon = max(_t(t["end"]) for t in written)
    assert horizon <= last
    events = [to_cloudevent(d) for d in sink.drafts]
    found = check_rules(events, last)
    assert [(f.rule, f.key, f.severity) for f in found] == sorted(
        (t["rule"], t["key"], t["severity"]) for t in written
    )


def test_write_jsonl_writes_publishable_cloudevents(tmp_path: Path) -> None:
    path = tmp_path / "city.jsonl"
    n = write_jsonl(path, generate(6, count=500, start_time=START, scenarios=["leak"]))
    lines = path.read_bytes().splitlines()
    assert n == len(lines) == 500
    events = [parse_structured(line) for line in lines]
    assert {e.envelope.source for e in events} == {"urn:onenet:simulator"}
    assert len({e.envelope.id for e in events}) == 500


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"scenario": ["leak", "flood"]}, "unknown scenario 'flood'"),
        ({"scenario": ["leak@soon"]}, "must be seconds"),
        ({"rate": 1, "time_scale": 7200}, "at most 3600"),
        ({"start_time": "2026-05-01T08:00:00"}, "zone offset"),
        ({"rate": -1}, "--rate"),
    ],
)
def test_bad_options_are_user_errors(values: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError) as err:
        validate(SimulatorOptions, values)
    assert message in str(err.value)


@pytest.mark.parametrize("position", [{"offset": 3}, 17, {"emitted": 3, "start": "noon"}])
def test_a_foreign_checkpoint_is_a_user_error(position: Any) -> None:
    with pytest.raises(UserError, match="reset-checkpoint"):
        run_connector(MemorySink(position), count=10)


def test_docs_describe_every_scenario() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "connectors" / "simulator.md"
    text = docs.read_text()
    missing = [name for name in SCENARIOS if f"| `{name}` |" not in text]
    assert missing == []


# --- against the real broker, through the real CLI ---------------------------------------------


def test_cli_publishes_a_leak_to_the_broker(kafka_bootstrap: str, tmp_path: Path) -> None:
    hub = Hub(kafka_bootstrap, tmp_path)
    created = hub.run("topics", "create")
    assert created.returncode == 0, created.stderr
    truth = tmp_path / "truth.jsonl"
    args = ["connector", "run", "simulator", "--count", "200", "--rate", "0", "--scenario", "leak"]
    done = hub.run(*args, "--ground-truth", str(truth))
    assert done.returncode == 0, done.stderr
    assert "published 200" in done.stderr, done.stderr

    topics = Topics(hub.prefix)
    records = {d: hub.read_topic(topics.events(d)) for d in DOMAINS}
    assert sum(len(r) for r in records.values()) == 200
    assert hub.read_topic(topics.deadletter) == []
    safety = [(rec, parse_record(rec.value, rec.headers)) for rec in records["safety"]]
    high = [(rec, e) for rec, e in safety if getattr(e.data, "h2_ppm", 0) >= 4000]
    assert len(high) >= 3
    sites = {e.data.site_id for _, e in high}  # type: ignore[attr-defined]
    assert len(sites) == 1
    assert {rec.key.decode() for rec, _ in high} == sites
    times = sorted(e.event_time for _, e in high)
    assert times[-1] - times[0] <= timedelta(seconds=60)
    assert [t["rule"] for t in read_truths(truth)] == ["hydrogen-leak"]

    again = hub.run(*args)  # the checkpoint says all 200 were sent: nothing more
    assert again.returncode == 0, again.stderr
    assert "published 0" in again.stderr
    help_text = hub.run("connector", "run", "simulator", "--help").stdout
    assert "--time-scale" in help_text
    assert "--ground-truth" in help_text


def test_worker_alerts_match_the_ground_truth(kafka_bootstrap: str, tmp_path: Path) -> None:
    """The simulator's promise, end to end: the real worker raises exactly the expected
    hydrogen-leak alerts (the leak, not its near misses). Other rules are checked offline
    above; here only the rule every worker has is compared."""
    hub = Hub(kafka_bootstrap, tmp_path)
    assert hub.run("topics", "create").returncode == 0
    truth = tmp_path / "truth.jsonl"
    scenarios = ["--scenario", "leak", "--scenario", "leak-near-miss@3"]
    args = ["--count", "500", "--rate", "0", *scenarios, "--ground-truth", str(truth)]
    done = hub.run("connector", "run", "simulator", *args)
    assert done.returncode == 0, done.stderr
    with hub.worker() as proc:
        hub.wait_consumed(f"{hub.prefix}.events.safety")
        assert proc.poll() is None, hub.log()
        tail = hub.run("alerts", "tail", "--json", "--from-beginning", "--idle-timeout", "5")
    assert tail.returncode == 0, tail.stderr
    latest: dict[str, dict[str, Any]] = {}
    for line in tail.stdout.splitlines():
        data = orjson.loads(line)["data"]
        if data["rule"] == "hydrogen-leak":
            latest[data["alert_id"]] = data
    got = sorted((a["key"], a["severity"], a["evidence"]) for a in latest.values())
    expected = [(t["key"], t["severity"], t["evidence"]) for t in read_truths(truth)]
    assert got == expected, hub.log()
