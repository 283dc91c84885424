"""Scenario injection: timed events that must cause known alerts of the default rule pack.

Each scenario is a function of a `Context` (when, which city, which seeded random stream) that
returns its drafts and the ground truth they imply under contract v1's rule pack `city`.
Near-miss scenarios come within one step of a rule (two readings, 61 s, 3999 ppm, 350 m, ...)
and imply no alert at all: they are there to test the rules' edges.

Keys of the ground truth: `hydrogen-leak` and `hazard-near-crowd` by site_id,
`inspection-overdue` by enterprise_id, `incident-burst` by the H3 cell (resolution 7, the
security events' Kafka key) of its first incident, `service-hotspot` by
"district/department/service_code", `service-sla-breach` by request_id.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import cycle

import h3  # type: ignore[import-untyped]

from connectors.sdk.item import Draft
from connectors.simulator import drafts
from connectors.simulator.city import City, Station
from connectors.simulator.drafts import time_of
from connectors.simulator.geo import Point
from connectors.simulator.resources import Combo, Resources
from connectors.simulator.truth import GroundTruth
from hub.events import SECURITY_KEY_RESOLUTION

HOUR = 3600.0
MINUTE = 60.0

#: Rule names and deadlines of the default rule pack (contract v1).
LEAK_RULE = "hydrogen-leak"
CROWD_RULE = "hazard-near-crowd"
OVERDUE_RULE = "inspection-overdue"
BURST_RULE = "incident-burst"
HOTSPOT_RULE = "service-hotspot"
SLA_RULE = "service-sla-breach"
OVERDUE_GRACE = timedelta(hours=24)
SLA = timedelta(hours=72)


@dataclass
class Context:
    """What a scenario function gets: its start, the city, and its own random stream."""

    name: str
    at: datetime
    city: City
    rng: random.Random
    resources: Resources
    #: the run's tag ("seed-fingerprint"), part of every id so that runs never mix
    tag: str
    instance: int
    _count: int = 0

    def eid(self) -> str:
        self._count += 1
        return f"sim-{self.tag}-s{self.instance:03d}-{self._count:02d}"

    def natural_id(self, kind: str, n: int) -> str:
        """A department's own id (incident, request) for the n-th one of this instance."""
        return f"{kind}-{self.tag}-S{self.instance:03d}-{n:02d}"

    def t(self, seconds: float) -> datetime:
        return self.at + timedelta(seconds=seconds)

    def jitter(self, seconds: float, spread: float) -> datetime:
        return self.t(seconds + self.rng.uniform(-spread, spread))

    def truth(
        self,
        rule: str,
        key: str,
        severity: str,
        evidence: Sequence[Draft],
        *,
        fires_at: datetime,
    ) -> GroundTruth:
        times = [time_of(d) for d in evidence]
        return GroundTruth(
            scenario=self.name,
            rule=rule,
            key=key,
            severity=severity,
            start=min(times),
            end=max([*times, fires_at]),
            fires_at=fires_at,
            evidence=tuple(d.id or "" for d in evidence),
        )

    # --- event helpers ------------------------------------------------------------------------

    def readings(self, st: Station, at_s: Sequence[float], ppm: Sequence[float]) -> list[Draft]:
        sensors = cycle(st.sensors)
        out = []
        for s, v in zip(at_s, ppm, strict=True):
            sensor = next(sensors)
            out.append(
                drafts.hydrogen_reading(
                    self.eid(),
                    self.t(s),
                    site_id=st.site_id,
                    sensor_id=sensor.sensor_id,
                    point=st.point,
                    district=st.district,
                    ppm=v,
                    pressure_mpa=sensor.pressure_mpa,
                )
            )
        return out

    def crowd(self, at_s: float, camera_id: str, point: Point, value: float) -> Draft:
        return drafts.crowd_density(
            self.eid(),
            self.t(at_s),
            camera_id=camera_id,
            point=point,
            district=self.city.district_of(point),
            value=value,
        )

    def hazard(self, at_s: float, site_id: str, point: Point, text: str) -> Draft:
        return drafts.hazard_reported(
            self.eid(),
            self.t(at_s),
            site_id=site_id,
            point=point,
            district=self.city.district_of(point),
            hazard=text,
        )

    def incident(self, t: datetime, point: Point, category: str) -> Draft:
        eid = self.eid()
        return drafts.incident_reported(
            eid,
            t,
            incident_id=self.natural_id("INC", self._count),
            category=category,
            point=point,
            district=self.city.district_of(point),
        )

    def request(self, t: datetime, combo: Combo, n: int) -> tuple[Draft, str]:
        request_id = self.natural_id("REQ", n)
        district = next(d for d in self.city.districts if d.code == combo.district)
        draft = drafts.request_opened(
            self.eid(),
            t,
            request_id=request_id,
            department=combo.department,
            service_code=combo.service_code,
            point=district.random_point(self.rng),
            district=combo.district,
        )
        return draft, request_id

    def close(self, t: datetime, combo: Combo, request_id: str) -> Draft:
        return drafts.request_closed(
            self.eid(),
            t,
            request_id=request_id,
            department=combo.department,
            district=combo.district,
            outcome="resolved",
        )


@dataclass
class Injection:
    scenario: str
    at: datetime
    events: list[Draft]
    truths: list[GroundTruth]
    #: one line for the log: where it happens and what it should cause
    summary: str


ScenarioFn = Callable[[Context], Injection]


@dataclass(frozen=True)
class Scenario:
    name: str
    fn: ScenarioFn
    rule: str
    description: str


# --- positive scenarios -------------------------------------------------------------------------


def leak(ctx: Context) -> Injection:
    """Four readings from the sensors of one station within 6 s, rising past 10000 ppm."""
    st = ctx.resources.station(ctx.at, ctx.t(10))
    ppm = [round(v + ctx.rng.uniform(-150, 150), 1) for v in (4600, 6900, 9100)]
    ppm.append(round(12400 + ctx.rng.uniform(-300, 300), 1))
    events = ctx.readings(st, [0, 2, 4, 6], ppm)
    truth = ctx.truth(LEAK_RULE, st.site_id, "Extreme", events, fires_at=time_of(events[2]))
    return Injection(ctx.name, ctx.at, events, [truth], f"hydrogen leak at {st.site_id}")


def leak_near_crowd(ctx: Context) -> Injection:
    """Three readings >= 4000 at a station, then a dense crowd at its forecourt camera."""
    st = ctx.resources.station(ctx.at, ctx.t(3 * MINUTE))
    ppm = [round(v + ctx.rng.uniform(-100, 100), 1) for v in (4300, 5600, 7100)]
    readings = ctx.readings(st, [0, 3, 8], ppm)
    cam = st.camera
    crowds = [
        ctx.crowd(90, cam.camera_id, cam.point, round(ctx.rng.uniform(4.2, 4.6), 2)),
        ctx.crowd(150, cam.camera_id, cam.point, round(ctx.rng.uniform(4.7, 5.5), 2)),
    ]
    truths = [
        ctx.truth(LEAK_RULE, st.site_id, "Severe", readings, fires_at=time_of(readings[2])),
        ctx.truth(
            CROWD_RULE, st.site_id, "Extreme", [*readings, *crowds], fires_at=time_of(crowds[0])
        ),
    ]
    return Injection(
        ctx.name, ctx.at, readings + crowds, truths, f"leak next to a crowd at {st.site_id}"
    )


def hazard_near_crowd(ctx: Context) -> Injection:
    """A hazard report at a station between two dense-crowd readings of its camera."""
    st = ctx.resources.station(ctx.at, ctx.t(7 * MINUTE))
    cam = st.camera
    first = ctx.crowd(0, cam.camera_id, cam.point, round(ctx.rng.uniform(4.1, 4.6), 2))
    hazard = ctx.hazard(
        4 * MINUTE, st.site_id, st.point, "dispenser hose rupture reported by station staff"
    )
    second = ctx.crowd(6 * MINUTE, cam.camera_id, cam.point, round(ctx.rng.uniform(4.6, 5.2), 2))
    events = [first, hazard, second]
    truth = ctx.truth(CROWD_RULE, st.site_id, "Extreme", events, fires_at=time_of(hazard))
    return Injection(ctx.name, ctx.at, events, [truth], f"hazard next to a crowd at {st.site_id}")


def _overdue(ctx: Context, *, escalate: bool) -> Injection:
    due_s = 6 * HOUR
    deadline_s = due_s + OVERDUE_GRACE.total_seconds()
    ent = ctx.resources.enterprise(ctx.at, None)  # never completed: overdue for good
    scheduled = drafts.inspection_scheduled(ctx.eid(), ctx.at, ent, ctx.t(due_s))
    events = [scheduled]
    severity = "Moderate"
    if escalate:
        # Well after the deadline, so it is "while overdue" however a rule measures that.
        events.append(
            ctx.hazard(
                deadline_s + 3 * HOUR,
                ent.site_id,
                ent.point,
                "solvent vapour smell reported by neighbours",
            )
        )
        severity = "Severe"
    truth = ctx.truth(OVERDUE_RULE, ent.enterprise_id, severity, events, fires_at=ctx.t(deadline_s))
    what = "overdue inspection, then a hazard," if escalate else "overdue inspection"
    return Injection(ctx.name, ctx.at, events, [truth], f"{what} at {ent.enterprise_id}")


def overdue_inspection(ctx: Context) -> Injection:
    """An inspection due in 6 h that is never completed: overdue 30 h after scheduling."""
    return _overdue(ctx, escalate=False)


def overdue_escalation(ctx: Context) -> Injection:
    """As overdue-inspection, plus a hazard report at the site 3 h after it became overdue."""
    return _overdue(ctx, escalate=True)


def incident_burst(ctx: Context) -> Injection:
    """Three incidents within 9 minutes, all within 120 m of one point."""
    centre = ctx.resources.spot(ctx.at, ctx.t(15 * MINUTE))
    times = [ctx.t(0), ctx.jitter(4 * MINUTE, 60), ctx.jitter(9 * MINUTE, 60)]
    categories = ["fight", "fight", ctx.rng.choice(["theft", "fight", "disturbance"])]
    events = [
        ctx.incident(t, centre.toward(ctx.rng.uniform(0, 360), ctx.rng.uniform(0, 120)), c)
        for t, c in zip(times, categories, strict=True)
    ]
    first = events[0].data["location"]
    key = h3.latlng_to_cell(first["lat"], first["lon"], SECURITY_KEY_RESOLUTION)
    truth = ctx.truth(BURST_RULE, str(key), "Severe", events, fires_at=times[2])
    return Injection(ctx.name, ctx.at, events, [truth], f"incident burst in cell {key}")


def service_hotspot(ctx: Context) -> Injection:
    """Five requests for one department and service code in one district within 30 minutes,
    each closed within hours (so no SLA breach comes with it)."""
    combo = ctx.resources.combo(ctx.at, ctx.t(HOUR))
    opens: list[Draft] = []
    closes: list[Draft] = []
    for n, minutes in enumerate((0, 6, 13, 21, 30), start=1):
        opened, request_id = ctx.request(ctx.t(minutes * MINUTE), combo, n)
        opens.append(opened)
        closes.append(
            ctx.close(time_of(opened) + timedelta(hours=ctx.rng.uniform(1, 5)), combo, request_id)
        )
    truth = ctx.truth(HOTSPOT_RULE, combo.key, "Moderate", opens, fires_at=time_of(opens[-1]))
    return Injection(ctx.name, ctx.at, opens + closes, [truth], f"service hotspot {combo.key}")


#: Breaches fall mostly on the slow departments, so the black list has a clear bottom.
SLOW_DEPARTMENTS = (("housing", 5.0), ("market-regulation", 3.0), ("environment", 2.0))


def sla_breach(ctx: Context) -> Injection:
    """A request that is never closed: breaches the 72 h SLA."""
    combo = ctx.resources.combo(ctx.at, ctx.at, prefer=SLOW_DEPARTMENTS)
    opened, request_id = ctx.request(ctx.at, combo, 1)
    truth = ctx.truth(SLA_RULE, request_id, "Minor", [opened], fires_at=ctx.at + SLA)
    return Injection(
        ctx.name, ctx.at, [opened], [truth], f"SLA breach {request_id} ({combo.department})"
    )


# --- near misses: one step short of a rule, no alert --------------------------------------------


def leak_near_miss(ctx: Context) -> Injection:
    """Three stations: two readings only; three spread over 61 s; three with one at 3999 ppm."""
    two = ctx.resources.station(ctx.at, ctx.t(10))
    spread = ctx.resources.station(ctx.at, ctx.t(61))
    low = ctx.resources.station(ctx.at, ctx.t(20))
    events = [
        *ctx.readings(two, [0, 10], [9000, 9500]),
        *ctx.readings(spread, [0, 30, 61], [4400, 4800, 5100]),
        *ctx.readings(low, [0, 8, 16], [4100, 3999, 4600]),
    ]
    where = f"{two.site_id}, {spread.site_id}, {low.site_id}"
    return Injection(ctx.name, ctx.at, events, [], f"leak near misses at {where}")


def crowd_near_miss(ctx: Context) -> Injection:
    """A high reading with a crowd 650 m away; a high reading with a crowd of 3.9; a hazard
    with a crowd 11 minutes later."""
    far = ctx.resources.station(ctx.at, ctx.t(3 * MINUTE))
    thin = ctx.resources.station(ctx.at, ctx.t(4 * MINUTE))
    late = ctx.resources.station(ctx.at, ctx.t(12 * MINUTE))
    mobile = ctx.resources.crowd_point(far, 650)
    events = [
        *ctx.readings(far, [0], [6000]),
        ctx.crowd(2 * MINUTE, f"CAM-MOB-{far.site_id[-2:]}", mobile, 4.6),
        *ctx.readings(thin, [0], [5500]),
        ctx.crowd(3 * MINUTE, thin.camera.camera_id, thin.camera.point, 3.9),
        ctx.hazard(0, late.site_id, late.point, "hydrogen odour reported by a driver"),
        ctx.crowd(11 * MINUTE, late.camera.camera_id, late.camera.point, 4.7),
    ]
    where = f"{far.site_id}, {thin.site_id}, {late.site_id}"
    return Injection(ctx.name, ctx.at, events, [], f"crowd near misses at {where}")


def overdue_near_miss(ctx: Context) -> Injection:
    """An inspection completed 23 h after its due time: late, but inside the 24 h grace."""
    due_s = 6 * HOUR
    ent = ctx.resources.enterprise(ctx.at, ctx.t(due_s + 23 * HOUR))
    events = [
        drafts.inspection_scheduled(ctx.eid(), ctx.at, ent, ctx.t(due_s)),
        drafts.inspection_completed(ctx.eid(), ctx.t(due_s + 23 * HOUR), ent, "pass"),
    ]
    return Injection(ctx.name, ctx.at, events, [], f"late but in-grace inspection {ent.site_id}")


def burst_near_miss(ctx: Context) -> Injection:
    """Three incidents 350 m apart within 6 minutes; three within 100 m over 16.5 minutes."""
    wide = ctx.resources.spot(ctx.at, ctx.t(10 * MINUTE))
    slow = ctx.resources.spot(ctx.at, ctx.t(17 * MINUTE))
    side = 350.0
    radius = side / 3**0.5  # an equilateral triangle: every pair exactly 350 m apart
    base = ctx.rng.uniform(0, 120)
    events = [
        ctx.incident(ctx.t(i * 3 * MINUTE), wide.toward(base + 120 * i, radius), "theft")
        for i in range(3)
    ]
    events += [
        ctx.incident(ctx.t(s), slow.toward(ctx.rng.uniform(0, 360), 40), "disturbance")
        for s in (0, 8 * MINUTE, 16.5 * MINUTE)
    ]
    events.sort(key=time_of)
    return Injection(ctx.name, ctx.at, events, [], "incident burst near misses")


def hotspot_near_miss(ctx: Context) -> Injection:
    """Five requests of one kind in one district, but only four within any 24 h."""
    combo = ctx.resources.combo(ctx.at, ctx.t(25 * HOUR))
    events: list[Draft] = []
    for n, hours in enumerate((0, 1, 2, 3, 25), start=1):
        opened, request_id = ctx.request(ctx.t(hours * HOUR), combo, n)
        events += [opened, ctx.close(time_of(opened) + timedelta(hours=2), combo, request_id)]
    events.sort(key=time_of)
    return Injection(ctx.name, ctx.at, events, [], f"hotspot near miss {combo.key}")


def sla_near_miss(ctx: Context) -> Injection:
    """A request closed 71.5 h after it was opened."""
    combo = ctx.resources.combo(ctx.at, ctx.at, prefer=SLOW_DEPARTMENTS)
    opened, request_id = ctx.request(ctx.at, combo, 1)
    closed = ctx.close(ctx.t(71.5 * HOUR), combo, request_id)
    return Injection(ctx.name, ctx.at, [opened, closed], [], f"SLA near miss {request_id}")


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "leak", leak, LEAK_RULE, "4 readings >= 4000 ppm in 6 s at one station -> Extreme"
        ),
        Scenario(
            "leak-near-crowd",
            leak_near_crowd,
            CROWD_RULE,
            "3 readings >= 4000 ppm + crowd >= 4.0/m2 at 120-300 m -> Severe leak + Extreme",
        ),
        Scenario(
            "hazard-near-crowd",
            hazard_near_crowd,
            CROWD_RULE,
            "hazard report between two crowd readings >= 4.0/m2 nearby -> Extreme",
        ),
        Scenario(
            "overdue-inspection",
            overdue_inspection,
            OVERDUE_RULE,
            "inspection never completed: fires at due_by + 24 h -> Moderate",
        ),
        Scenario(
            "overdue-escalation",
            overdue_escalation,
            OVERDUE_RULE,
            "overdue inspection, then a hazard at that site -> Severe",
        ),
        Scenario(
            "incident-burst",
            incident_burst,
            BURST_RULE,
            "3 incidents in 9 min within 240 m of each other -> Severe",
        ),
        Scenario(
            "service-hotspot",
            service_hotspot,
            HOTSPOT_RULE,
            "5 requests, same department/code/district, in 30 min -> Moderate",
        ),
        Scenario(
            "sla-breach", sla_breach, SLA_RULE, "request never closed: fires at +72 h -> Minor"
        ),
        Scenario(
            "leak-near-miss",
            leak_near_miss,
            LEAK_RULE,
            "2 readings only; 3 over 61 s; 3 with one at 3999 ppm -> nothing",
        ),
        Scenario(
            "crowd-near-miss",
            crowd_near_miss,
            CROWD_RULE,
            "crowd 650 m away; crowd 3.9/m2; crowd 11 min later -> nothing",
        ),
        Scenario(
            "overdue-near-miss",
            overdue_near_miss,
            OVERDUE_RULE,
            "completed 23 h after due_by -> nothing",
        ),
        Scenario(
            "burst-near-miss",
            burst_near_miss,
            BURST_RULE,
            "3 incidents 350 m apart; 3 within 100 m over 16.5 min -> nothing",
        ),
        Scenario(
            "hotspot-near-miss",
            hotspot_near_miss,
            HOTSPOT_RULE,
            "5 requests, only 4 within any 24 h -> nothing",
        ),
        Scenario(
            "sla-near-miss", sla_near_miss, SLA_RULE, "request closed after 71.5 h -> nothing"
        ),
    )
}
