"""Hostile input for the property tests: extreme times (year 1, 9999, offsets that leave the
calendar once converted to UTC), huge and non-finite numbers, unknown and null fields."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from hypothesis import strategies as st

from hub.events import EVENT_TYPES

EXTREME_TIMES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00",  # before year 1 in UTC
    "0001-01-01T23:59:00-23:59",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:00:00-05:00",  # after year 9999 in UTC
    "9999-12-31T00:00:00+14:00",
    "1970-01-01T00:00:00Z",
    "2024-05-01T08:30:00+08:00",
]
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
times = st.sampled_from(EXTREME_TIMES) | st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59), timezones=offsets
).map(lambda t: t.isoformat())
numbers = (
    st.sampled_from(
        [1e308, -1e308, math.inf, -math.inf, math.nan, -0.0, 0, 4000, 10_000, 10**30, 2**63]
    )
    | st.floats()
    | st.integers()
)
ids = st.sampled_from(["S-1", "S-2", "ENT-1", "REQ-1", "", " padded ", "x" * 200]) | st.text(
    max_size=20
)
anything = st.none() | st.booleans() | numbers | st.text(max_size=20) | times
points = st.fixed_dictionaries({"lat": numbers, "lon": numbers}) | st.sampled_from(
    [{"lat": 31.23, "lon": 121.47}, {"lat": 31.2305, "lon": 121.4738}, None, {}]
)

ID_FIELDS = (
    "site_id",
    "sensor_id",
    "enterprise_id",
    "incident_id",
    "camera_id",
    "request_id",
    "service_code",
    "department",
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(ID_FIELDS, ids),
    "hazard": st.text(min_size=1, max_size=20),
    "outcome": st.text(min_size=1, max_size=20),
    "category": st.text(min_size=1, max_size=20),
    "h2_ppm": numbers,
    "pressure_mpa": numbers,
    "persons_per_m2": numbers,
    "result": st.sampled_from(["pass", "fail", None]),
    "due_by": times,
    "location": points,
}


# Valid in shape but extreme in value, so that many documents get past the parser and reach
# the engines: the largest finite numbers, -0.0, huge integers, both ends of the calendar.
SANE: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys((*ID_FIELDS, "hazard", "outcome", "category"), st.sampled_from(["S-1", "S-2"])),
    "h2_ppm": st.sampled_from([0, -0.0, 3999.9, 4000, 10_000, 1e308, 10**18]),
    "pressure_mpa": st.sampled_from([0.0, 1e308]),
    "persons_per_m2": st.sampled_from([0.0, 4, 1e308]),
    "location": st.sampled_from([{"lat": 31.23, "lon": 121.47}, {"lat": 31.2305, "lon": 121.4738}]),
}


@st.composite
def hostile_documents(draw: st.DrawFn) -> dict[str, Any]:
    event_type = draw(st.sampled_from([*sorted(EVENT_TYPES), "city.unknown.type"]))
    model = EVENT_TYPES.get(event_type)
    sane = draw(st.integers(0, 3)) > 0
    data: dict[str, Any] = {}
    for name in model.model_fields if model is not None else ():
        if sane:
            data[name] = draw(SANE.get(name, FIELDS[name]))
        elif draw(st.integers(0, 9)):  # mostly present, sometimes missing or null
            data[name] = draw(FIELDS[name] | st.none())
    if sane and "result" in data:
        data["result"] = "pass"
    data.update(draw(st.dictionaries(st.sampled_from(["extra", "note", "z9"]), anything)))
    doc: dict[str, Any] = {
        "specversion": "1.0",
        "id": draw(st.sampled_from(["e1", "e2", "e3"]) | (st.nothing() if sane else ids)),
        "source": "urn:test",
        "type": event_type,
        "time": draw(times),
        "district": draw(st.sampled_from(["310101", "310115", None])),
        "data": data,
    }
    if not sane:
        doc.update(draw(st.dictionaries(st.sampled_from(["unknown", "priority"]), anything)))
    return doc


def encode(doc: dict[str, Any], plain: bool) -> bytes:
    """orjson writes NaN and infinity as null; json writes them as tokens JSON does not have,
    and integers of any size."""
    try:
        return orjson.dumps(doc) if plain else json.dumps(doc).encode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(doc).encode()
