"""A fictional city, laid out from a seed: districts, H2 stations, chemical sites, cameras,
and the 12345 hotline's departments.

Everything is drawn from one `random.Random(seed)`, so a seed is a city: the same seed gives the
same sites at the same places, which is what makes a simulator run reproducible. Distances
between sites are constrained so that scenarios at different sites cannot correlate with each
other by accident (stations are 2 km apart, cameras of one station are far from the others).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from connectors.simulator.geo import Point

CENTRE: Final = Point(31.23, 121.47)
#: Local time of the fictional city (UTC+8), for daily rhythms such as crowds.
UTC_OFFSET_S: Final = 8 * 3600

STATIONS = 6
SENSORS_PER_STATION = (3, 4)
STATION_SPACING_M = 2000.0
ENTERPRISES = 8
#: Enterprises kept out of the background schedule, so an injected overdue inspection is
#: never completed by a background inspection of the same enterprise.
RESERVED_ENTERPRISES = 3
STREET_CAMERAS = 18


@dataclass(frozen=True, slots=True)
class District:
    code: str
    name: str
    south: float
    west: float
    north: float
    east: float

    def contains(self, p: Point) -> bool:
        return self.south <= p.lat < self.north and self.west <= p.lon < self.east

    def random_point(self, rng: random.Random, margin: float = 0.004) -> Point:
        return Point(
            rng.uniform(self.south + margin, self.north - margin),
            rng.uniform(self.west + margin, self.east - margin),
        )


def _districts() -> tuple[District, ...]:
    """Six administrative districts in a 3 x 2 grid around the centre (about 15 x 13 km)."""
    names = [
        ("310101", "Old City"),
        ("310102", "Riverside"),
        ("310103", "Harbour"),
        ("310104", "North Gate"),
        ("310105", "Science Park"),
        ("310106", "East Bank"),
    ]
    rows = [(CENTRE.lat - 0.06, CENTRE.lat), (CENTRE.lat, CENTRE.lat + 0.06)]
    cols = [CENTRE.lon - 0.08 + i * 0.16 / 3 for i in range(4)]
    out = []
    for i, (code, name) in enumerate(names):
        south, north = rows[i // 3]
        out.append(District(code, name, south, cols[i % 3], north, cols[i % 3 + 1]))
    return tuple(out)


DISTRICTS: Final = _districts()
OLD_CITY: Final = DISTRICTS[0]


@dataclass(frozen=True, slots=True)
class Camera:
    camera_id: str
    point: Point
    district: str
    #: typical persons/m² at midday; background values stay within 0.2-2.5
    baseline: float


@dataclass(frozen=True, slots=True)
class Sensor:
    sensor_id: str
    #: the sensor's resting reading; background readings stay within 50-400 ppm
    baseline_ppm: float
    pressure_mpa: float


@dataclass(frozen=True, slots=True)
class Station:
    site_id: str
    point: Point
    district: str
    sensors: tuple[Sensor, ...]
    #: the forecourt camera, 120-300 m from the dispensers
    camera: Camera


@dataclass(frozen=True, slots=True)
class Enterprise:
    enterprise_id: str
    site_id: str
    name: str
    point: Point
    district: str
    reserved: bool


@dataclass(frozen=True, slots=True)
class Department:
    name: str
    service_codes: tuple[str, ...]
    #: median hours to close a request; the spread differs too, so SLA compliance (and the
    #: red/black list built on it) separates the departments
    median_close_h: float


DEPARTMENTS: Final = (
    Department("water", ("pipe-burst", "water-quality", "low-pressure"), 3.0),
    Department("urban-management", ("illegal-parking", "street-litter", "night-noise"), 6.0),
    Department("transport", ("pothole", "traffic-signal", "bus-stop"), 10.0),
    Department("environment", ("air-odour", "construction-noise", "waste-burning"), 18.0),
    Department("market-regulation", ("food-safety", "price-fraud", "unlicensed-vendor"), 28.0),
    Department("housing", ("elevator-fault", "ceiling-leak", "property-management"), 40.0),
)

_CHEMICALS = ("Solvents", "Coatings", "Plating", "Dyes", "Resins", "Gases", "Reagents", "Inks")


@dataclass(frozen=True)
class City:
    seed: int
    districts: tuple[District, ...]
    stations: tuple[Station, ...]
    enterprises: tuple[Enterprise, ...]
    cameras: tuple[Camera, ...]
    departments: tuple[Department, ...]

    @property
    def sensors(self) -> list[tuple[Station, Sensor]]:
        return [(st, s) for st in self.stations for s in st.sensors]

    @property
    def background_enterprises(self) -> tuple[Enterprise, ...]:
        return tuple(e for e in self.enterprises if not e.reserved)

    @property
    def reserved_enterprises(self) -> tuple[Enterprise, ...]:
        return tuple(e for e in self.enterprises if e.reserved)

    def district_of(self, p: Point) -> str:
        return district_of(p)

    def random_point(self, rng: random.Random) -> Point:
        return Point(
            rng.uniform(CENTRE.lat - 0.056, CENTRE.lat + 0.056),
            rng.uniform(CENTRE.lon - 0.076, CENTRE.lon + 0.076),
        )


def district_of(p: Point) -> str:
    """The code of the district containing `p` (the nearest one for a point outside the map)."""
    for d in DISTRICTS:
        if d.contains(p):
            return d.code
    return min(DISTRICTS, key=lambda d: _box_distance(d, p)).code


def _box_distance(d: District, p: Point) -> float:
    dlat = max(d.south - p.lat, 0.0, p.lat - d.north)
    dlon = max(d.west - p.lon, 0.0, p.lon - d.east)
    return dlat * dlat + dlon * dlon


def _place(
    rng: random.Random, draw: District, avoid: list[tuple[Point, float]], tries: int = 500
) -> Point:
    for _ in range(tries):
        p = draw.random_point(rng)
        if all(p.metres_to(q) >= r for q, r in avoid):
            return p
    raise RuntimeError(f"cannot place a site in {draw.name} under the spacing constraints")


def build_city(seed: int) -> City:
    """The city of `seed`. Pure: the same seed always returns an equal city."""
    rng = random.Random(f"onenet-city:{seed}")  # noqa: S311 (a simulation)
    outer = DISTRICTS[1:]  # refuelling stations are kept out of the dense old city
    stations: list[Station] = []
    avoid: list[tuple[Point, float]] = []
    for i in range(STATIONS):
        district = outer[i % len(outer)]
        point = _place(rng, district, avoid)
        avoid.append((point, STATION_SPACING_M))
        site_id = f"H2-ST-{i + 1:02d}"
        sensors = tuple(
            Sensor(
                f"{site_id}-S{j + 1}",
                baseline_ppm=round(rng.uniform(80, 220), 1),
                pressure_mpa=rng.choice((35.0, 70.0)),
            )
            for j in range(rng.randint(*SENSORS_PER_STATION))
        )
        cam_point = point.toward(rng.uniform(0, 360), rng.uniform(120, 300))
        camera = Camera(
            f"CAM-ST{i + 1:02d}", cam_point, district_of(cam_point), round(rng.uniform(0.4, 1.0), 2)
        )
        stations.append(Station(site_id, point, district.code, sensors, camera))

    # Chemical sites sit in the old city, at least 900 m from every station and its camera,
    # so a hazard there never pairs with a crowd at a station.
    chem_avoid = [(st.point, 900.0) for st in stations] + [
        (st.camera.point, 900.0) for st in stations
    ]
    enterprises: list[Enterprise] = []
    for i in range(ENTERPRISES):
        point = _place(rng, OLD_CITY, chem_avoid)
        chem_avoid.append((point, 300.0))
        enterprises.append(
            Enterprise(
                enterprise_id=f"ENT-{1001 + i}",
                site_id=f"CHEM-{i + 1:02d}",
                name=f"Old City {_CHEMICALS[i % len(_CHEMICALS)]} Co.",
                point=point,
                district=OLD_CITY.code,
                reserved=i >= ENTERPRISES - RESERVED_ENTERPRISES,
            )
        )

    cameras = [st.camera for st in stations]
    for i in range(STREET_CAMERAS):
        district = DISTRICTS[i % len(DISTRICTS)]
        point = district.random_point(rng)
        cameras.append(
            Camera(f"CAM-{i + 1:04d}", point, district.code, round(rng.uniform(0.3, 1.2), 2))
        )
    return City(
        seed=seed,
        districts=DISTRICTS,
        stations=tuple(stations),
        enterprises=tuple(enterprises),
        cameras=tuple(cameras),
        departments=DEPARTMENTS,
    )
