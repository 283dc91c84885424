"""The city's everyday traffic: sensor telemetry, incidents, hotline requests, inspections.

The background must never satisfy a rule of the default pack on its own, at any event rate, so
each rule is ruled out by construction rather than by luck:

- hydrogen readings stay within 50-400 ppm (threshold 4000) and crowds within 0.2-2.5
  persons/m² (threshold 4.0): no leak, no hazard near a crowd;
- every incident is more than 400 m from every incident (background or scenario) within 16
  minutes: no two could even be part of one burst;
- a (district, department, service code) gets at most 3 requests in any 25 h, and none within
  25 h of a scenario request of the same kind: no hotspot;
- every request is closed within 60 h and every inspection completed by due_by + 12 h; a
  follow-up takes the first slot after its planned time, and slots are at most an hour apart,
  so both stay inside their 72 h and 24 h deadlines;
- hazard reports are made only at background sites, never within 700 m and 15 minutes of a
  scenario crowd, and background inspections never run late, so nothing escalates.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.sdk.item import Draft
from connectors.simulator import drafts
from connectors.simulator.city import UTC_OFFSET_S, City, Enterprise
from connectors.simulator.drafts import time_of
from connectors.simulator.geo import Point
from connectors.simulator.resources import Combo

INCIDENT_SPACING_M = 400.0
INCIDENT_GUARD_S = 16 * 60.0
COMBO_WINDOW_S = 25 * 3600.0
COMBO_MAX = 3
MAX_CLOSE_H = 60.0
MAX_LATE_COMPLETION_H = 12.0
HAZARD_GUARD_M = 700.0
HAZARD_GUARD_S = 15 * 60.0
#: The largest slot spacing (simulated seconds between background events) the deadlines allow.
MAX_SPACING_S = 3600.0

# Mean and minimum simulated seconds between events of the kinds that are rare in a real city.
# Telemetry fills every other slot, so a dense run is mostly sensors, as a real feed is.
GAPS: dict[str, tuple[float, float]] = {
    "incident": (300.0, 60.0),
    "request": (600.0, 120.0),
    "inspection": (2700.0, 600.0),
    "hazard": (4 * 3600.0, 3600.0),
}
WEIGHTS: dict[str, float] = {
    "h2": 0.50,
    "crowd": 0.28,
    "incident": 0.08,
    "request": 0.10,
    "inspection": 0.03,
    "hazard": 0.01,
}
TELEMETRY = ["h2", "crowd"]
_H2_SHARE = WEIGHTS["h2"] / (WEIGHTS["h2"] + WEIGHTS["crowd"])
CATEGORIES = (("theft", 35), ("traffic", 25), ("fight", 12), ("disturbance", 18), ("fire", 10))
DEPARTMENT_SHARE = {
    "urban-management": 25,
    "transport": 20,
    "water": 15,
    "environment": 15,
    "housing": 15,
    "market-regulation": 10,
}
OUTCOMES = (("resolved", 80), ("explained", 12), ("referred", 8))
HAZARDS = (
    "minor solvent drip at the loading bay, contained",
    "chemical odour reported at the fence line",
    "drum label damaged, contents re-identified",
)

FollowUp = Callable[[str, datetime], Draft]


@dataclass(order=True)
class _Pending:
    at: datetime
    seq: int
    make: FollowUp = field(compare=False)


@dataclass(frozen=True)
class Exclusions:
    """What the scenarios of a run occupy, so the background keeps out of their way."""

    incidents: list[tuple[datetime, Point]]
    crowds: list[tuple[datetime, Point]]
    requests: dict[Combo, list[datetime]]
    incident_times: list[datetime] = field(default_factory=list)
    crowd_times: list[datetime] = field(default_factory=list)

    @classmethod
    def of(cls, events: list[Draft]) -> Exclusions:
        incidents: list[tuple[datetime, Point]] = []
        crowds: list[tuple[datetime, Point]] = []
        requests: dict[Combo, list[datetime]] = {}
        for d in events:
            t = time_of(d)
            if d.type == drafts.INCIDENT_REPORTED:
                incidents.append((t, _point(d)))
            elif d.type == drafts.CROWD_DENSITY and d.data["persons_per_m2"] >= 4.0:
                crowds.append((t, _point(d)))
            elif d.type == drafts.REQUEST_OPENED:
                combo = Combo(d.district or "", d.data["department"], d.data["service_code"])
                requests.setdefault(combo, []).append(t)
        incidents.sort(key=lambda p: p[0])
        crowds.sort(key=lambda p: p[0])
        for times in requests.values():
            times.sort()
        return cls(
            incidents,
            crowds,
            requests,
            incident_times=[t for t, _ in incidents],
            crowd_times=[t for t, _ in crowds],
        )


def _point(d: Draft) -> Point:
    loc = d.data["location"]
    return Point(loc["lat"], loc["lon"])


def _near(
    items: list[tuple[datetime, Point]],
    times: list[datetime],
    t: datetime,
    p: Point,
    guard_s: float,
    metres: float,
) -> bool:
    """Whether any item lies within `metres` of `p` and `guard_s` of `t`."""
    guard = timedelta(seconds=guard_s)
    lo, hi = bisect_left(times, t - guard), bisect_right(times, t + guard)
    return any(p.metres_to(q) <= metres for _, q in items[lo:hi])


class Background:
    """Background events for slots 0, 1, 2, ... at `start + slot * spacing_s`, in order."""

    def __init__(
        self,
        city: City,
        seed: int,
        *,
        start: datetime,
        spacing_s: float,
        tag: str,
        exclusions: Exclusions,
    ) -> None:
        if not 0 < spacing_s <= MAX_SPACING_S:
            raise ValueError(f"slot spacing must be in (0, {MAX_SPACING_S:g}] s, got {spacing_s}")
        self.city = city
        self.start = start
        self.spacing_s = spacing_s
        self.tag = tag
        self.rng = random.Random(f"onenet-background:{seed}")  # noqa: S311 (a simulation)
        self.excl = exclusions
        self._pending: list[_Pending] = []
        self._seq = 0
        self._next_due = {kind: 0.0 for kind in GAPS}
        self._soonest = 0.0
        self._sensors = city.sensors
        self._sensor_i = 0
        self._cameras = city.cameras
        self._camera_i = 0
        self._incidents: deque[tuple[float, Point]] = deque()
        self._combo_times: dict[Combo, deque[float]] = {}
        self._idle_enterprises = list(city.background_enterprises)
        self._counts = {"INC": 0, "REQ": 0}
        self._categories = [c for c, _ in CATEGORIES], [w for _, w in CATEGORIES]
        self._departments = {d.name: d for d in city.departments}
        self._dept_names = list(DEPARTMENT_SHARE)
        self._dept_weights = list(DEPARTMENT_SHARE.values())

    # --- one slot ---------------------------------------------------------------------------

    def event(self, slot: int) -> Draft:
        offset = slot * self.spacing_s
        t = self.start + timedelta(seconds=offset)
        eid = f"sim-{self.tag}-{slot:08d}"
        if self._pending and self._pending[0].at <= t:
            return heapq.heappop(self._pending).make(eid, t)
        kinds: list[str] = []
        if offset >= self._soonest:
            kinds = [k for k, due in self._next_due.items() if due <= offset]
        if kinds:
            kinds += TELEMETRY
            kind = self.rng.choices(kinds, [WEIGHTS[k] for k in kinds])[0]
        else:  # the common case of a dense run: skip building a weight list
            kind = "h2" if self.rng.random() < _H2_SHARE else "crowd"
        draft: Draft | None = None
        if kind in GAPS:
            mean, least = GAPS[kind]
            self._next_due[kind] = offset + max(least, self.rng.expovariate(1 / mean))
            self._soonest = min(self._next_due.values())
            if kind == "incident":
                draft = self._incident(eid, t, offset)
            elif kind == "request":
                draft = self._request(eid, t, offset)
            elif kind == "inspection":
                draft = self._inspection(eid, t)
            else:
                draft = self._hazard(eid, t)
        elif kind == "crowd":
            draft = self._crowd(eid, t)
        return draft or self._reading(eid, t)

    def _later(self, at: datetime, make: FollowUp) -> None:
        self._seq += 1
        heapq.heappush(self._pending, _Pending(at, self._seq, make))

    def _natural_id(self, kind: str) -> str:
        self._counts[kind] += 1
        return f"{kind}-{self.tag}-{self._counts[kind]:06d}"

    # --- telemetry --------------------------------------------------------------------------

    def _reading(self, eid: str, t: datetime) -> Draft:
        st, sensor = self._sensors[self._sensor_i]
        self._sensor_i = (self._sensor_i + 1) % len(self._sensors)
        ppm = min(400.0, max(50.0, sensor.baseline_ppm + self.rng.gauss(0, 30)))
        pressure = max(0.0, sensor.pressure_mpa + self.rng.gauss(0, 0.4))
        return drafts.hydrogen_reading(
            eid,
            t,
            site_id=st.site_id,
            sensor_id=sensor.sensor_id,
            point=st.point,
            district=st.district,
            ppm=round(ppm, 1),
            pressure_mpa=round(pressure, 2),
        )

    def _crowd(self, eid: str, t: datetime) -> Draft:
        cam = self._cameras[self._camera_i]
        self._camera_i = (self._camera_i + 1) % len(self._cameras)
        value = cam.baseline * _daily_rhythm(t) * (1 + self.rng.gauss(0, 0.1))
        return drafts.crowd_density(
            eid,
            t,
            camera_id=cam.camera_id,
            point=cam.point,
            district=cam.district,
            value=round(min(2.5, max(0.2, value)), 2),
        )

    # --- rare kinds -------------------------------------------------------------------------

    def _incident(self, eid: str, t: datetime, offset: float) -> Draft | None:
        recent = self._incidents
        while recent and recent[0][0] < offset - INCIDENT_GUARD_S:
            recent.popleft()
        for _ in range(30):
            p = self.city.random_point(self.rng)
            if any(p.metres_to(q) <= INCIDENT_SPACING_M for _, q in recent):
                continue
            excl = self.excl
            if _near(
                excl.incidents, excl.incident_times, t, p, INCIDENT_GUARD_S, INCIDENT_SPACING_M
            ):
                continue
            recent.append((offset, p))
            category = self.rng.choices(*self._categories)[0]
            return drafts.incident_reported(
                eid,
                t,
                incident_id=self._natural_id("INC"),
                category=category,
                point=p,
                district=self.city.district_of(p),
            )
        return None

    def _request(self, eid: str, t: datetime, offset: float) -> Draft | None:
        rng = self.rng
        for _ in range(20):
            dept = self._departments[rng.choices(self._dept_names, self._dept_weights)[0]]
            district = rng.choice(self.city.districts)
            combo = Combo(district.code, dept.name, rng.choice(dept.service_codes))
            times = self._combo_times.setdefault(combo, deque())
            while times and times[0] <= offset - COMBO_WINDOW_S:
                times.popleft()
            if len(times) >= COMBO_MAX:
                continue
            guard = timedelta(seconds=COMBO_WINDOW_S)
            if any(abs(s - t) <= guard for s in self.excl.requests.get(combo, ())):
                continue
            times.append(offset)
            request_id = self._natural_id("REQ")
            hours = min(
                MAX_CLOSE_H, max(0.25, rng.lognormvariate(math.log(dept.median_close_h), 0.7))
            )
            outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]

            def close(
                eid: str,
                at: datetime,
                request_id: str = request_id,
                combo: Combo = combo,
                outcome: str = outcome,
            ) -> Draft:
                return drafts.request_closed(
                    eid,
                    at,
                    request_id=request_id,
                    department=combo.department,
                    district=combo.district,
                    outcome=outcome,
                )

            self._later(t + timedelta(hours=hours), close)
            return drafts.request_opened(
                eid,
                t,
                request_id=request_id,
                department=dept.name,
                service_code=combo.service_code,
                point=district.random_point(rng),
                district=district.code,
            )
        return None

    def _inspection(self, eid: str, t: datetime) -> Draft | None:
        if not self._idle_enterprises:
            return None
        rng = self.rng
        ent = self._idle_enterprises.pop(rng.randrange(len(self._idle_enterprises)))
        due = t + timedelta(hours=rng.uniform(6, 72))
        if rng.random() < 0.85:
            done = t + (due - t) * rng.uniform(0.3, 1.0)
        else:  # late, but well inside the 24 h grace
            done = due + timedelta(hours=rng.uniform(0.5, MAX_LATE_COMPLETION_H))
        result = "pass" if rng.random() < 0.85 else "fail"

        def complete(eid: str, at: datetime, ent: Enterprise = ent) -> Draft:
            self._idle_enterprises.append(ent)
            return drafts.inspection_completed(eid, at, ent, result)

        self._later(done, complete)
        return drafts.inspection_scheduled(eid, t, ent, due)

    def _hazard(self, eid: str, t: datetime) -> Draft | None:
        ent = self.rng.choice(self.city.background_enterprises)
        excl = self.excl
        if _near(excl.crowds, excl.crowd_times, t, ent.point, HAZARD_GUARD_S, HAZARD_GUARD_M):
            return None
        return drafts.hazard_reported(
            eid,
            t,
            site_id=ent.site_id,
            point=ent.point,
            district=ent.district,
            hazard=self.rng.choice(HAZARDS),
        )


def _daily_rhythm(t: datetime) -> float:
    """Crowd factor by local hour: quiet at night, peaks at the morning and evening rush."""
    hour = ((t.timestamp() + UTC_OFFSET_S) % 86400) / 3600
    return (
        0.3
        + 1.2 * math.exp(-(((hour - 8.5) / 1.5) ** 2))
        + 1.2 * math.exp(-(((hour - 18.5) / 2.0) ** 2))
        + 0.5 * math.exp(-(((hour - 13.0) / 2.5) ** 2))
    )
