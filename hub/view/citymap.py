"""The city drawn from data: H3 cells where events happen, labelled with their districts.

No map tiles are fetched (the wall screen has no internet): the background is the H3 cells the
hub has seen events at and their neighbours, each cell given the district of the nearest
observed cell, and the foreground is the cells of open alerts. The background grows from the
observed cells outwards, never from their bounding box, so one far-away reading costs a few
cells, not the whole rectangle between it and the city; it is capped, and the response says so.
Boundaries are computed here with `h3.cell_to_boundary` so the page only has to project and
draw polygons.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable

import h3  # type: ignore[import-untyped]
from pydantic import BaseModel

from hub.alerts.model import Alert

RESOLUTION = 8  # ~0.74 km² cells: a 15 km city is a few hundred of them
MAX_KNOWN_CELLS = 20_000
MAX_BACKGROUND_CELLS = 6_000
PAD_RINGS = 1  # neighbours drawn around each observed cell (about 1 km at resolution 8)


class Cell(BaseModel):
    cell: str
    boundary: list[tuple[float, float]]  # (lat, lon) vertices
    district: str | None = None


class AlertCell(BaseModel):
    cell: str
    boundary: list[tuple[float, float]]
    severity: str
    alert_ids: list[str]


class DistrictLabel(BaseModel):
    district: str
    lat: float
    lon: float


class CityMap(BaseModel):
    resolution: int
    background: list[Cell]
    #: True when more cells were observed than `background_limit`; only that many are drawn
    background_capped: bool = False
    background_limit: int = MAX_BACKGROUND_CELLS
    districts: list[DistrictLabel]
    alerts: list[AlertCell]


def _boundary(cell: str) -> list[tuple[float, float]]:
    return [(round(lat, 6), round(lon, 6)) for lat, lon in h3.cell_to_boundary(cell)]


class CityGrid:
    """Cells seen with events, and the district each was seen with most often."""

    def __init__(self) -> None:
        self._known: dict[str, Counter[str]] = {}
        self._version = 0
        self._cached: tuple[int, list[Cell], list[DistrictLabel]] | None = None
        self.capped = False  # whether the last background left observed cells out

    def observe(self, lat: float, lon: float, district: str | None) -> None:
        cell = h3.latlng_to_cell(lat, lon, RESOLUTION)
        counts = self._known.get(cell)
        if counts is None:
            if len(self._known) >= MAX_KNOWN_CELLS:
                return
            counts = self._known[cell] = Counter()
            self._version += 1
        if district:
            if not counts:
                self._version += 1
            counts[district] += 1

    def background(self) -> tuple[list[Cell], list[DistrictLabel]]:
        if self._cached is not None and self._cached[0] == self._version:
            return self._cached[1], self._cached[2]
        cells, labels = self._compute()
        self._cached = (self._version, cells, labels)
        return cells, labels

    def _compute(self) -> tuple[list[Cell], list[DistrictLabel]]:
        self.capped = len(self._known) > MAX_BACKGROUND_CELLS
        if not self._known:
            return [], []
        # Observed cells first (the most often seen when they do not all fit), then their
        # neighbours while the budget lasts: the cost follows the cells drawn.
        known = sorted(self._known, key=lambda c: -sum(self._known[c].values()))
        area = set(known[:MAX_BACKGROUND_CELLS])
        for cell in known:
            if len(area) >= MAX_BACKGROUND_CELLS:
                break
            for n in h3.grid_disk(cell, PAD_RINGS):
                if len(area) >= MAX_BACKGROUND_CELLS:
                    break
                area.add(n)
        district = self._spread(area)
        cells = [Cell(cell=c, boundary=_boundary(c), district=district.get(c)) for c in area]
        cells.sort(key=lambda c: c.cell)
        sums: dict[str, list[float]] = {}
        for c, d in district.items():
            if self._known.get(c):
                lat, lon = h3.cell_to_latlng(c)
                s = sums.setdefault(d, [0.0, 0.0, 0.0])
                s[0] += lat
                s[1] += lon
                s[2] += 1
        labels = [
            DistrictLabel(district=d, lat=round(s[0] / s[2], 6), lon=round(s[1] / s[2], 6))
            for d, s in sorted(sums.items())
        ]
        return cells, labels

    def _spread(self, area: set[str]) -> dict[str, str]:
        """Multi-source breadth-first search: each cell takes its nearest observed district."""
        district: dict[str, str] = {}
        queue: deque[str] = deque()
        for cell, counts in self._known.items():
            if counts:
                district[cell] = counts.most_common(1)[0][0]
                queue.append(cell)
        while queue:
            cell = queue.popleft()
            for n in h3.grid_ring(cell, 1):
                if n in area and n not in district:
                    district[n] = district[cell]
                    queue.append(n)
        return district


def alert_cells(alerts: Iterable[Alert]) -> list[AlertCell]:
    """Cells of open alerts with a location, each shaded by its worst severity."""
    by_cell: dict[str, list[Alert]] = {}
    for a in alerts:
        if a.location is None or a.status == "resolved":
            continue
        cell = h3.latlng_to_cell(a.location.lat, a.location.lon, RESOLUTION)
        by_cell.setdefault(cell, []).append(a)
    out = []
    for cell, group in sorted(by_cell.items()):
        worst = max(group, key=lambda a: a.severity.rank)
        out.append(
            AlertCell(
                cell=cell,
                boundary=_boundary(cell),
                severity=worst.severity.value,
                alert_ids=[a.alert_id for a in group],
            )
        )
    return out
