"""Who gets which site: scenario instances are given resources no other instance uses nearby
in time, so two injected scenarios never merge into one alert or make an extra one.

When every station is taken, the allocator raises `Busy` with how long to wait, and the
schedule starts that instance later; overdue inspections keep their enterprise for good (it
never completes), so new enterprises are registered when the reserved ones run out.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import h3  # type: ignore[import-untyped]

from connectors.simulator.city import OLD_CITY, City, Enterprise, Station
from connectors.simulator.geo import Point
from hub.events import SECURITY_KEY_RESOLUTION

#: Longer than every window a station takes part in (60 s leak, 10 min crowd co-location).
STATION_GUARD = timedelta(minutes=15)
ENTERPRISE_GUARD = timedelta(hours=1)
#: Incident spots of different instances are this far apart, or this far apart in time.
SPOT_SPACING_M = 2000.0
SPOT_GUARD = timedelta(hours=2)
#: Longer than the 24 h hotspot window, so scenario requests never add up across instances.
COMBO_GUARD = timedelta(hours=26)
#: Crowd points and chemical sites stay this far apart (the co-location radius is 500 m).
CROWD_TO_SITE_M = 800.0

Interval = tuple[datetime, datetime | None]  # end None: taken for good


class Busy(Exception):
    """Every resource of the kind is taken at the time asked; `wait` later one is free."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"busy for {wait}")
        self.wait = wait


@dataclass(frozen=True, slots=True)
class Combo:
    """What the hotspot rule groups service requests by."""

    district: str
    department: str
    service_code: str

    @property
    def key(self) -> str:
        return f"{self.district}/{self.department}/{self.service_code}"


def _overlaps(
    intervals: list[Interval], start: datetime, end: datetime | None, guard: timedelta
) -> bool:
    """Whether [start, end] comes within `guard` of any interval (None: no end)."""
    for s, e in intervals:
        before = e is not None and e + guard <= start
        after = end is not None and end + guard <= s
        if not (before or after):
            return True
    return False


def _free_from(
    intervals: list[Interval], start: datetime, end: datetime, guard: timedelta
) -> datetime:
    """The earliest start >= `start` at which an interval as long as [start, end] fits."""
    length = end - start
    while True:
        clash = [
            e
            for s, e in intervals
            if e is not None and _overlaps([(s, e)], start, start + length, guard)
        ]
        if not clash:
            return start
        start = max(clash) + guard


class Resources:
    def __init__(self, city: City, seed: int) -> None:
        self.city = city
        self._rng = random.Random(f"onenet-resources:{seed}")  # noqa: S311 (a simulation)
        self._stations: dict[str, list[Interval]] = {s.site_id: [] for s in city.stations}
        self._next_station = 0
        self._enterprises: list[Enterprise] = list(city.reserved_enterprises)
        self._enterprise_use: dict[str, list[Interval]] = {}
        self._spots: list[tuple[datetime, datetime, Point]] = []
        self._combos: list[tuple[datetime, datetime, Combo]] = []
        self._crowd_points: list[Point] = []

    def snapshot(self) -> Any:
        """A mark to undo the allocations of a scenario that has to move (allocations only
        ever append, so the mark is a set of lengths)."""
        return (
            {k: len(v) for k, v in self._stations.items()},
            self._next_station,
            len(self._enterprises),
            {k: len(v) for k, v in self._enterprise_use.items()},
            len(self._spots),
            len(self._combos),
            len(self._crowd_points),
            self._rng.getstate(),
        )

    def restore(self, mark: Any) -> None:
        stations, self._next_station, ents, uses, spots, combos, crowds, rng = mark
        for k, n in stations.items():
            del self._stations[k][n:]
        del self._enterprises[ents:]
        self._enterprise_use = {
            k: v[: uses[k]] for k, v in self._enterprise_use.items() if k in uses
        }
        del self._spots[spots:]
        del self._combos[combos:]
        del self._crowd_points[crowds:]
        self._rng.setstate(rng)

    def station(self, start: datetime, end: datetime) -> Station:
        """The next station in rotation that is idle from `start` to `end`, or `Busy`."""
        stations = self.city.stations
        for i in range(len(stations)):
            st = stations[(self._next_station + i) % len(stations)]
            if not _overlaps(self._stations[st.site_id], start, end, STATION_GUARD):
                self._next_station = (stations.index(st) + 1) % len(stations)
                self._stations[st.site_id].append((start, end))
                return st
        starts = [_free_from(u, start, end, STATION_GUARD) for u in self._stations.values()]
        raise Busy(min(starts) - start)

    def enterprise(self, start: datetime, end: datetime | None) -> Enterprise:
        """A reserved enterprise (never inspected by the background) idle from `start` on; one
        that is never completed (`end` None) stays taken for good."""
        for ent in self._enterprises:
            use = self._enterprise_use.setdefault(ent.enterprise_id, [])
            if not _overlaps(use, start, end, ENTERPRISE_GUARD):
                use.append((start, end))
                return ent
        ent = self._register_enterprise()
        self._enterprise_use[ent.enterprise_id] = [(start, end)]
        return ent

    def _register_enterprise(self) -> Enterprise:
        """A newly registered chemical site in the old city, kept away from every station,
        camera, other site and scenario crowd, as the city's own sites are."""
        n = len(self._enterprises) - len(self.city.reserved_enterprises) + 1
        avoid = [(st.point, 900.0) for st in self.city.stations]
        avoid += [(st.camera.point, 900.0) for st in self.city.stations]
        avoid += [(e.point, 250.0) for e in (*self.city.enterprises, *self._enterprises)]
        avoid += [(p, CROWD_TO_SITE_M) for p in self._crowd_points]
        point = OLD_CITY.random_point(self._rng)
        for _ in range(1000):
            if all(point.metres_to(q) >= r for q, r in avoid):
                break
            point = OLD_CITY.random_point(self._rng)
        ent = Enterprise(
            enterprise_id=f"ENT-{2000 + n}",
            site_id=f"CHEM-{50 + n}",
            name=f"Old City Chemicals No. {n}",
            point=point,
            district=OLD_CITY.code,
            reserved=True,
        )
        self._enterprises.append(ent)
        return ent

    def crowd_point(self, st: Station, metres: float) -> Point:
        """A point `metres` from the station, far from every chemical site (a mobile camera)."""
        sites = [e.point for e in (*self.city.enterprises, *self._enterprises)]
        point = st.point.toward(0, metres)
        for _ in range(72):
            point = st.point.toward(self._rng.uniform(0, 360), metres)
            if min(point.metres_to(q) for q in sites) >= CROWD_TO_SITE_M:
                break
        self._crowd_points.append(point)
        return point

    def spot(self, start: datetime, end: datetime) -> Point:
        """The centre of an H3 cell (the security events' Kafka key), away from other spots.

        Centred in a cell so that incidents within a few hundred metres share one key.
        """
        candidate = Point(0.0, 0.0)
        for _ in range(200):
            p = self.city.random_point(self._rng)
            lat, lon = h3.cell_to_latlng(h3.latlng_to_cell(p.lat, p.lon, SECURITY_KEY_RESOLUTION))
            candidate = Point(lat, lon)
            if all(
                e + SPOT_GUARD < start
                or s - SPOT_GUARD > end
                or candidate.metres_to(q) >= SPOT_SPACING_M
                for s, e, q in self._spots
            ):
                break
        self._spots.append((start, end, candidate))
        return candidate

    def combo(
        self, start: datetime, end: datetime, prefer: Sequence[tuple[str, float]] = ()
    ) -> Combo:
        """A (district, department, service code) no other scenario uses within a day."""
        rng = self._rng
        departments = {d.name: d for d in self.city.departments}
        names = [n for n, _ in prefer] or list(departments)
        weights = [w for _, w in prefer] or [1.0] * len(names)
        combo = None
        for _ in range(300):
            dept = departments[rng.choices(names, weights)[0]]
            combo = Combo(
                rng.choice(self.city.districts).code, dept.name, rng.choice(dept.service_codes)
            )
            if all(
                c != combo or e + COMBO_GUARD < start or s - COMBO_GUARD > end
                for s, e, c in self._combos
            ):
                break
        assert combo is not None
        self._combos.append((start, end, combo))
        return combo
