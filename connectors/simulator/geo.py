"""Points on the city map and distances between them, in metres.

Haversine on a sphere is exact enough for a city (errors of centimetres over kilometres), and
the rules' 300 m and 500 m radii are tested against the same formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
_M_PER_DEG_LAT = math.pi * EARTH_RADIUS_M / 180


@dataclass(frozen=True, slots=True)
class Point:
    lat: float
    lon: float

    def metres_to(self, other: Point) -> float:
        return metres_between(self.lat, self.lon, other.lat, other.lon)

    def moved(self, north_m: float, east_m: float) -> Point:
        """The point `north_m` north and `east_m` east of this one (flat-earth step)."""
        lat = self.lat + north_m / _M_PER_DEG_LAT
        lon = self.lon + east_m / (_M_PER_DEG_LAT * math.cos(math.radians(self.lat)))
        return Point(lat, lon)

    def toward(self, bearing_deg: float, metres: float) -> Point:
        rad = math.radians(bearing_deg)
        return self.moved(metres * math.cos(rad), metres * math.sin(rad))

    def location(self) -> dict[str, float]:
        """`data.location` of contract v1; 6 decimals are about 0.1 m."""
        return {"lat": round(self.lat, 6), "lon": round(self.lon, 6)}


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat = p2 - p1
    dlon = math.radians(lon2 - lon1)
    h = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
