"""Co-location rules: events of given roles within `distance` metres (great circle) and `within`
(event time) of each other, e.g. a hazard near a dense crowd, or three incidents each within
300 m of the others.

Partitioning. Space is cut into H3 cells of one resolution per rule, chosen so that two points
within `distance` always lie in the same or in adjacent cells (see `resolution_for`). Each
candidate set of facts is evaluated in exactly one cell, its *anchor*: the home cell with the
smallest id among its members. Because every member is within `distance` of the anchor member,
every member's home is the anchor or one of its neighbours, so a fact only needs to reach its
home cell and those neighbours whose id is smaller than its home's (`routes`); in any other cell
it could never belong to a set anchored there. Two cells therefore never raise the same set,
and nothing is missed at a border.

Matching. A key (cell) holds the recent member facts routed to it. A new fact completes a match
when, together with held facts, it forms a set that fills `require` (each fact fills one role
slot, however many members it matches), spans at most `within` (max time − min time, inclusive)
and whose members are pairwise at most `distance` apart (inclusive), anchored in this cell.

Episodes. The alert key is the cell. A match whose new fact is within `within` of the open
episode's last event extends it (one alert_id); a later one resolves it and opens another. The
episode resolves when the watermark passes its last event + `within` (strict, as facts expire),
because no on-time fact can extend it after that.

Search bound. Only sets that contain the new fact are searched, and only among the held facts
within `distance` and `within` of it whose home id is at least this cell's (m candidates). The
search is a depth-first clique search in time order with pairwise-distance, time-span and
role-capacity pruning: at most C(m, K−1) sets for K = sum(require), i.e. O(m) for pairs and
O(m²) for triples, each step O(K²). A cell holds at most `MAX_FACTS` facts (the oldest go
first beyond that: an overload valve, never reached at city event rates, where m is tens).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import h3  # type: ignore[import-untyped]
from pydantic import BaseModel, Field

from hub.alerts.model import AlertChange
from hub.correlate.engine import Route, State, Step
from hub.correlate.episode import Episode, open_or_extend, resolve
from hub.correlate.escalation import Escalations
from hub.correlate.fact import Fact
from hub.correlate.spec import ColocationRule
from hub.correlate.text import AlertText, format_metres
from hub.events.fields import shift

#: h3's authalic Earth radius, so that our distances and h3's edge lengths agree
EARTH_RADIUS_M = 6_371_007.180918475
#: how much the smallest edge of a resolution must exceed the distance (see `resolution_for`)
EDGE_MARGIN = 1.25
#: facts one cell may hold; beyond it the oldest are dropped (overload valve, see module doc)
MAX_FACTS = 1000


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lat, lon) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@lru_cache(maxsize=16)
def min_edge_length_m(res: int) -> float:
    """The shortest cell edge at `res`, in metres.

    H3's distortion peaks at the 12 pentagons, so the shortest edges are those of the pentagons
    and the cells two steps around them (checked against every cell of resolutions 0-4).
    """
    cells = {c for p in h3.get_pentagons(res) for c in h3.grid_disk(p, 2)}
    return min(float(h3.edge_length(e, "m")) for c in cells for e in h3.origin_to_directed_edges(c))


@lru_cache(maxsize=64)
def resolution_for(distance: float) -> int:
    """The finest resolution at which points within `distance` are in the same or adjacent cells.

    A cell and a cell two steps away are separated by at least one whole cell edge (in the
    direction of a shared vertex the gap is the edge between the two cells in between; across
    a cell it is the cell's width, longer still). Measured over every cell around the pentagons
    and thousands of random cells at resolutions 5-12, the gap is 0.998-1.0 times the shortest
    edge of the resolution. Any geodesic from a cell to a cell two or more steps away crosses
    that gap, so `distance` < shortest edge suffices; EDGE_MARGIN (25 %) absorbs the sampling
    and measurement error. Finest, because cells then stay small and so does state per key:
    500 m gives resolution 7 (~5 km² cells), 300 m resolution 8 (~0.7 km²).
    """
    for res in range(15, -1, -1):
        if min_edge_length_m(res) >= EDGE_MARGIN * distance:
            return res
    return 0


def format_distance(metres: float) -> str:
    return f"{metres / 1000:g}km" if metres >= 1000 else f"{metres:g}m"


class Held(BaseModel):
    """A member fact as a cell keeps it: its home cell and the roles it can fill."""

    uid: str
    time: datetime
    lat: float
    lon: float
    cell: str
    roles: list[str]
    fact: dict[str, Any]


class ColocationState(BaseModel):
    facts: list[Held] = Field(default_factory=list)  # sorted by time
    episode: Episode | None = None


@dataclass(slots=True)
class _Item:
    held: Held
    point: tuple[float, float]
    roles: frozenset[str]

    @property
    def time(self) -> datetime:
        return self.held.time


class ColocationEngine:
    def __init__(self, rule: ColocationRule, text: AlertText | None = None) -> None:
        self.rule = rule
        self.text = text
        self.resolution = resolution_for(rule.distance)
        self._within: timedelta = rule.within
        self._distance = rule.distance
        self._require = dict(rule.require)
        self._size = sum(self._require.values())
        self._members: list[tuple[str, Callable[[Fact], bool]]] = [
            (m.role, m.match.compile()) for m in rule.members if m.role in self._require
        ]
        self._esc = Escalations(rule)
        self._fields: dict[str, object] = {
            "distance": format_metres(rule.distance),
            "within": rule.within,
        }

    # --- routing -------------------------------------------------------------------------------

    def roles_of(self, fact: Fact) -> frozenset[str]:
        """The required roles `fact` can fill (a role named by several members counts once)."""
        return frozenset(role for role, test in self._members if test(fact))

    def cell_of(self, point: tuple[float, float]) -> str:
        return str(h3.latlng_to_cell(point[0], point[1], self.resolution))

    def routes(self, fact: Fact) -> list[Route]:
        point = fact.point
        if point is None:
            return []
        home = self.cell_of(point)
        if self.roles_of(fact):
            ring = sorted(str(c) for c in h3.grid_disk(home, 1) if str(c) < home)
            return [Route(home), *(Route(c, home=False) for c in ring)]
        if self._esc.takes(fact):
            return [Route(home)]
        return []

    # --- time ----------------------------------------------------------------------------------

    def _closes_at(self, state: ColocationState) -> datetime | None:
        ep = state.episode
        return None if ep is None else shift(ep.alert.last_event_time, self._within)

    def wake(self, raw: State) -> datetime | None:
        """When `advance` next has work: the episode closes or the oldest fact expires.
        Reads the two times it needs straight from the stored JSON."""
        times = []
        episode = raw.get("episode")
        if episode is not None:
            times.append(shift(_when(episode["alert"]["last_event_time"]), self._within))
        facts = raw.get("facts")
        if facts:
            times.append(shift(_when(facts[0]["time"]), self._within))
        return min(times, default=None)

    def due(self, raw: State, watermark: datetime) -> bool:
        wake = self.wake(raw)
        return wake is not None and wake < watermark

    def advance(self, raw: State | None, key: str, watermark: datetime) -> Step:
        state = ColocationState.model_validate(raw or {})
        changes = self._advance(state, watermark)
        return Step(self._dump(state), changes)

    def _advance(self, state: ColocationState, watermark: datetime) -> list[AlertChange]:
        # Strict: a fact exactly `within` behind the watermark can still pair with an on-time
        # event, and an episode whose last event is exactly there can still be extended.
        horizon = shift(watermark, -self._within)
        state.facts = [h for h in state.facts if h.time >= horizon]
        closes = self._closes_at(state)
        if state.episode is None or closes is None or closes >= watermark:
            return []
        change = resolve(state.episode)
        state.episode = None
        return [change]

    # --- events --------------------------------------------------------------------------------

    def observe(self, raw: State | None, fact: Fact, route: Route, watermark: datetime) -> Step:
        point = fact.point
        if point is None:
            return Step(raw, outcome="filtered")
        state = ColocationState.model_validate(raw or {})
        home = self.cell_of(point)
        roles = self.roles_of(fact)
        if not roles:
            if home != route.key:
                return Step(raw, outcome="filtered")
            return self._escalate_by_event(state, fact, raw)
        if home < route.key:
            return Step(raw, outcome="filtered")  # no set containing it can anchor here
        if fact.time < watermark:
            return Step(raw, outcome="late")
        if any(h.uid == fact.uid for h in state.facts):
            return Step(raw, outcome="duplicate")
        held = Held(
            uid=fact.uid,
            time=fact.time,
            lat=point[0],
            lon=point[1],
            cell=home,
            roles=sorted(roles),
            fact=fact.to_json(),
        )
        state.facts.append(held)
        state.facts.sort(key=lambda h: (h.time, h.uid))
        if len(state.facts) > MAX_FACTS:
            del state.facts[: len(state.facts) - MAX_FACTS]
        changes = self._advance(state, watermark)
        found = self._find(state, _Item(held, point, roles), route.key)
        if found is not None:
            changes += self._matched(
                state, route.key, [Fact.from_json(h.fact) for h in found], fact
            )
        return Step(self._dump(state), changes)

    def _escalate_by_event(self, state: ColocationState, fact: Fact, raw: State | None) -> Step:
        """An escalation event raises the open alert of the cell it happens in."""
        if state.episode is None:
            return Step(raw, outcome="filtered")
        changes = self._esc.raise_open(state.episode, fact)
        return Step(self._dump(state), changes) if changes else Step(raw, outcome="filtered")

    # --- search --------------------------------------------------------------------------------

    def _find(self, state: ColocationState, new: _Item, cell: str) -> list[Held] | None:
        """A set containing `new` that fills `require` and is anchored in `cell`, or None."""
        within, distance = self._within, self._distance
        candidates: list[_Item] = []
        for h in state.facts:
            if h.uid == new.held.uid or h.cell < cell or abs(h.time - new.time) > within:
                continue
            p = (h.lat, h.lon)
            if haversine_m(p, new.point) <= distance:
                candidates.append(_Item(h, p, frozenset(h.roles)))
        if new.held.cell != cell and not any(c.held.cell == cell for c in candidates):
            return None
        need = self._size - 1

        def search(start: int, chosen: list[_Item], lo: datetime, hi: datetime) -> bool:
            if len(chosen) == need + 1:
                return any(c.held.cell == cell for c in chosen)
            for i in range(start, len(candidates) - (need + 1 - len(chosen)) + 1):
                c = candidates[i]
                t_lo, t_hi = min(lo, c.time), max(hi, c.time)
                if t_hi - t_lo > within:
                    continue
                if any(haversine_m(c.point, o.point) > distance for o in chosen[1:]):
                    continue
                chosen.append(c)
                if _assignable([x.roles for x in chosen], self._require) and search(
                    i + 1, chosen, t_lo, t_hi
                ):
                    return True
                chosen.pop()
            return False

        chosen = [new]
        if search(0, chosen, new.time, new.time):
            return [c.held for c in chosen]
        return None

    # --- alerts --------------------------------------------------------------------------------

    def _matched(
        self, state: ColocationState, key: str, facts: list[Fact], new: Fact
    ) -> list[AlertChange]:
        out: list[AlertChange] = []
        closes = self._closes_at(state)
        if state.episode is not None and closes is not None and new.time > closes:
            # Not within `within` of the open episode's last event: a new episode.
            out.append(resolve(state.episode))
            state.episode = None
        fields = {**self._fields, "cell": key}
        episode, change = open_or_extend(
            self.rule,
            state.episode,
            key,
            facts,
            self._esc.severity_for(facts),
            fields,
            text=self.text,
        )
        state.episode = episode
        if change is not None:
            out.append(change)
        return out

    def _dump(self, state: ColocationState) -> State | None:
        if not state.facts and state.episode is None:
            return None
        return state.model_dump(mode="json")


def _when(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _assignable(roles: list[frozenset[str]], capacity: dict[str, int]) -> bool:
    """Whether each fact can fill a different role slot (bipartite matching, augmenting paths)."""
    owner: dict[tuple[str, int], int] = {}

    def place(i: int, seen: set[tuple[str, int]]) -> bool:
        for role in sorted(roles[i]):
            for slot in range(capacity.get(role, 0)):
                s = (role, slot)
                if s in seen:
                    continue
                seen.add(s)
                if s not in owner or place(owner[s], seen):
                    owner[s] = i
                    return True
        return False

    return all(place(i, set()) for i in range(len(roles)))


__all__ = [
    "EARTH_RADIUS_M",
    "ColocationEngine",
    "ColocationState",
    "format_distance",
    "haversine_m",
    "min_edge_length_m",
    "resolution_for",
]
