"""Record bytes to a rule fact: a msgspec fast path for the common event types, pydantic else.

The rules need a :class:`Fact`, not an :class:`Event`; for the bulk of a city's stream
(hydrogen readings and crowd densities in structured mode) one msgspec decode into typed
structs plus a few plain checks builds it in a fraction of pydantic's time. The fast path only
ever *accepts*: whatever it is not sure of (an unknown field, an extension, a non-ASCII id, a
value out of range, a binary-mode record...) falls through to `parse_record`, which accepts or
rejects it with the contract's own validation and error details. So both paths agree by
construction on what is rejected and why; `tests/test_stream_facts.py` checks with hypothesis
that whatever the fast path accepts, pydantic accepts with the same fact.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

import msgspec

from hub.correlate.fact import Fact
from hub.events import parse_record
from hub.events.fields import DEFAULT_TIME_RANGE, TimeRange, parse_rfc3339
from hub.events.parse import DEFAULT_MAX_DEPTH, Buffer, Headers

# Subsets of the contract's patterns (hub/events/fields.py), ASCII only, so no doubt arises
# about how two regex engines read \s or $: a string outside them takes the pydantic path.
_DISTRICT = re.compile(r"[A-Za-z0-9_-]{1,32}")
_STRUCTURED = b"application/cloudevents"
_BATCH = b"application/cloudevents-batch"


class _Location(msgspec.Struct, forbid_unknown_fields=True):
    lat: float
    lon: float


class _HydrogenData(msgspec.Struct, forbid_unknown_fields=True):
    site_id: str
    sensor_id: str
    h2_ppm: float
    location: _Location
    pressure_mpa: float | None = None


class _CrowdData(msgspec.Struct, forbid_unknown_fields=True):
    camera_id: str
    persons_per_m2: float
    location: _Location


class _Envelope(msgspec.Struct, forbid_unknown_fields=True, tag_field="type"):
    specversion: str
    id: str
    source: str
    time: str
    district: str | None = None


class _Hydrogen(_Envelope, tag="city.safety.hydrogen.reading"):
    data: _HydrogenData | None = None


class _Crowd(_Envelope, tag="city.security.crowd.density"):
    data: _CrowdData | None = None


_DECODER = msgspec.json.Decoder(_Hydrogen | _Crowd)


def _id(value: str, max_length: int = 128) -> bool:
    # ASCII and printable is \x20-\x7e; str methods are cheaper than a regex call here.
    return (
        0 < len(value) <= max_length
        and value.isascii()
        and value.isprintable()
        and value[0] != " "
        and value[-1] != " "
    )


#: Readings of one batch share few distinct times; parsing is pure, so it is cached.
_time = functools.lru_cache(maxsize=4096)(parse_rfc3339)


def _within(value: float, low: float, high: float) -> bool:
    return math.isfinite(value) and low <= value <= high


def _location(loc: _Location) -> dict[str, float] | None:
    if _within(loc.lat, -90, 90) and _within(loc.lon, -180, 180):
        return {"lat": loc.lat, "lon": loc.lon}
    return None


def _hydrogen(d: _HydrogenData) -> dict[str, Any] | None:
    loc = _location(d.location)
    if loc is None or not (_id(d.site_id) and _id(d.sensor_id)):
        return None
    if not _within(d.h2_ppm, 0, 1_000_000):
        return None
    # The field order of HydrogenReading.model_dump, so state and evidence encode alike.
    out: dict[str, Any] = {"site_id": d.site_id, "location": loc, "sensor_id": d.sensor_id}
    out["h2_ppm"] = d.h2_ppm
    if d.pressure_mpa is not None:
        if not _within(d.pressure_mpa, 0, 1000):
            return None
        out["pressure_mpa"] = d.pressure_mpa
    return out


def _crowd(d: _CrowdData) -> dict[str, Any] | None:
    loc = _location(d.location)
    if loc is None or not _id(d.camera_id) or not _within(d.persons_per_m2, 0, 100):
        return None
    return {"location": loc, "camera_id": d.camera_id, "persons_per_m2": d.persons_per_m2}


#: Per struct: its event type and the check-and-dump of its data.
_TYPES: dict[type[_Envelope], tuple[str, Callable[[Any], dict[str, Any] | None]]] = {
    _Hydrogen: ("city.safety.hydrogen.reading", _hydrogen),
    _Crowd: ("city.security.crowd.density", _crowd),
}
#: The event types the fast path knows (the others always take the pydantic path).
FAST_TYPES = frozenset(t for t, _ in _TYPES.values())


def _structured(headers: Headers | None) -> bool:
    """Whether `parse_record` would read the record as a structured-mode event."""
    content_type: bytes | None = None
    binary = False
    for name, raw in headers or ():
        lowered = name.lower()
        if lowered == "content-type":
            content_type = raw
        elif lowered == "ce_specversion":
            binary = True
    if content_type is not None and content_type[:23].lower() == _STRUCTURED:
        return content_type[:29].lower() != _BATCH
    return not binary


def fast_fact(
    value: Buffer | None,
    headers: Headers | None,
    *,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
    time_range: TimeRange = DEFAULT_TIME_RANGE,
) -> Fact | None:
    """The fact of a plainly valid hot-type event, or None to let pydantic decide."""
    if not value or len(value) > max_bytes or max_depth < 3 or not _structured(headers):
        return None
    try:
        doc = _DECODER.decode(value)
    except (msgspec.MsgspecError, ValueError):  # invalid UTF-8 in a key is a ValueError
        return None
    if (
        doc.data is None
        or doc.specversion != "1.0"
        or not _id(doc.id, 256)
        or not 0 < len(doc.source) <= 1024
        or not (doc.source.isascii() and doc.source.isprintable())
        or " " in doc.source
        or (doc.district is not None and _DISTRICT.fullmatch(doc.district) is None)
    ):
        return None
    try:
        time = _time(doc.time)
    except ValueError:
        return None
    if time_range.problem(time) is not None:
        return None
    event_type, dump = _TYPES[type(doc)]
    data = dump(doc.data)
    if data is None:
        return None
    return Fact(
        uid=f"{doc.source}\x1f{doc.id}",
        id=doc.id,
        type=event_type,
        time=time,
        data=data,
        district=doc.district,
    )


def fact_of_record(
    value: Buffer | None,
    headers: Headers | None,
    *,
    max_bytes: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
    time_range: TimeRange = DEFAULT_TIME_RANGE,
) -> Fact:
    """A record's fact; raises `EventRejected` exactly as `parse_record` does."""
    fact = fast_fact(
        value, headers, max_bytes=max_bytes, max_depth=max_depth, time_range=time_range
    )
    if fact is not None:
        return fact
    event = parse_record(
        value, headers, max_bytes=max_bytes, max_depth=max_depth, time_range=time_range
    )
    return Fact.of(event)
