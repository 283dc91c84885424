"""Hostile input against every parser and engine: a clean rejection or a result, never any
other exception.

The parsers see raw documents with extreme times (year 1, 9999, offsets that leave the
calendar once converted to UTC), huge and non-finite numbers, unknown and null fields. The
engines then see every event that parses with the widest time range there is, so their
window and deadline arithmetic meets the ends of time even though the hub's own range
refuses such events at ingest.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.correlate.correlator import Correlator, MemoryStore
from hub.correlate.fact import Fact
from hub.correlate.spec import RulePack
from hub.correlate.watermark import PartitionWatermarks, ShuffleWatermarks, Watermark
from hub.events import (
    EVENT_TYPES,
    TimeRange,
    parse_binary,
    parse_record,
    parse_structured,
)
from hub.events.fields import TIME_MAX as MAX
from hub.events.fields import TIME_MIN as MIN
from tests.support.parsing import parses_or_rejects

EVERYTHING = TimeRange(MIN, MAX)
LATENESS = timedelta(minutes=5)

CITY = yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "hub/data/rules/city.yaml").read_text()
)
# The city pack has no sequence rule: one over its own event types stands in.
CITY["rules"].append(
    {
        "name": "hazard-then-crowd",
        "kind": "sequence",
        "key": "district",
        "steps": [
            {"type": "city.safety.hazard.reported"},
            {"type": "city.security.crowd.density"},
        ],
        "not_followed_by": {"type": "city.safety.inspection.completed"},
        "within": "10m",
        "severity": "Minor",
        "category": "Safety",
        "departments": ["safety"],
        "headline": "{count} events in {key} within {within}",
    }
)
PACK = RulePack.model_validate(CITY)
settings_ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

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
        [1e308, -1e308, math.inf, -math.inf, math.nan, -0.0, 0, 4000, 10_000, 10**30, -(10**30)]
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
    # orjson writes NaN and infinity as null; json writes them as tokens JSON does not have.
    return orjson.dumps(doc) if plain else json.dumps(doc).encode()


def as_binary(doc: dict[str, Any]) -> tuple[bytes, list[tuple[str, bytes]]]:
    headers = [
        (f"ce_{name}", str(value).encode())
        for name, value in doc.items()
        if name != "data" and value is not None
    ]
    return orjson.dumps(doc["data"], option=orjson.OPT_NON_STR_KEYS), headers


@settings_
@given(hostile_documents(), st.booleans())
def test_parsers_reject_cleanly_or_return_an_event(doc: dict[str, Any], plain: bool) -> None:
    try:
        raw = encode(doc, plain)
    except (TypeError, orjson.JSONEncodeError):  # an int beyond 64 bits cannot be sent
        raw = json.dumps(doc).encode()
    for time_range in (EVERYTHING, TimeRange()):
        event = parses_or_rejects(lambda tr=time_range: parse_structured(raw, time_range=tr))
        if event is not None and time_range == TimeRange():
            assert datetime(2000, 1, 1, tzinfo=UTC) <= event.event_time
            assert event.event_time < datetime(2100, 1, 1, tzinfo=UTC)
    try:
        value, headers = as_binary(doc)
    except (TypeError, orjson.JSONEncodeError):
        return
    parses_or_rejects(lambda: parse_binary(value, headers))
    parses_or_rejects(lambda: parse_record(value, headers, time_range=EVERYTHING))


@settings_
@given(st.lists(hostile_documents(), min_size=1, max_size=8), st.sampled_from([MIN, MAX]))
def test_engines_return_a_result_for_every_event_that_parses(
    docs: list[dict[str, Any]], end: datetime
) -> None:
    correlator = Correlator(PACK, MemoryStore())
    watermark = Watermark(LATENESS, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    for doc in docs:
        try:
            raw = orjson.dumps(doc)
        except (TypeError, orjson.JSONEncodeError):
            continue
        event = parses_or_rejects(lambda raw=raw: parse_structured(raw, time_range=EVERYTHING))
        if event is None:
            continue
        fact = Fact.of(event)
        watermark.observe(fact.time)
        wm = watermark.current()
        assert wm is not None
        for rule, route in correlator.routes(fact):
            outcome, changes = correlator.observe(rule, fact, route, wm)
            assert outcome in {"counted", "duplicate", "late", "filtered"}
            assert isinstance(changes, list)
        correlator.advance_all(wm)
    # The watermark can reach either end of time (an idle stream at the end of the calendar).
    correlator.advance_all(end)
    list(correlator.due(end))


@settings_
@given(st.lists(st.sampled_from([MIN, MAX]) | st.datetimes(timezones=st.just(UTC)), max_size=5))
def test_watermarks_never_overflow(event_times: list[datetime]) -> None:
    clock = lambda: MAX  # noqa: E731 - an idle clock at the end of time
    single = Watermark(timedelta(days=1), idle_after=timedelta(0), clock=clock)
    partitions = PartitionWatermarks(LATENESS)
    shuffled = ShuffleWatermarks(timedelta(days=1), expected={"a"}, clock=clock)
    for t in event_times:
        single.observe(t)
        partitions["p"].observe(t)
        shuffled.observe(0, "a", t)
    assert single.current() is not None
    partitions.slowest()
    shuffled.current(0)
    shuffled.current(1)


def test_a_year_one_event_does_not_overflow_the_watermark() -> None:
    watermark = Watermark(LATENESS)
    watermark.observe(datetime(1, 1, 1, tzinfo=UTC))
    assert watermark.current() == MIN


def test_threshold_and_absence_rules_at_the_end_of_time() -> None:
    correlator = Correlator(PACK, MemoryStore())
    end = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    readings = [
        {
            "specversion": "1.0",
            "id": f"r{i}",
            "source": "urn:test",
            "type": "city.safety.hydrogen.reading",
            "time": (end + timedelta(seconds=i)).isoformat(),
            "district": "310101",
            "data": {
                "site_id": "S-1",
                "sensor_id": "s",
                "h2_ppm": 5000,
                "location": {"lat": 31.23, "lon": 121.47},
            },
        }
        for i in range(3)
    ]
    scheduled = {
        "specversion": "1.0",
        "id": "due",
        "source": "urn:test",
        "type": "city.safety.inspection.scheduled",
        "time": "2024-05-01T00:00:00Z",
        "data": {
            "enterprise_id": "E",
            "site_id": "S-1",
            "due_by": "9999-12-31T00:00:00Z",
            "location": {"lat": 31.23, "lon": 121.47},
        },
    }
    fired = []
    for doc in [*readings, scheduled]:
        fact = Fact.of(parse_structured(orjson.dumps(doc), time_range=EVERYTHING))
        for rule, route in correlator.routes(fact):
            _, changes = correlator.observe(rule, fact, route, fact.time - LATENESS)
            fired += [c for c in changes if c.kind == "firing"]
    assert [c.alert.rule for c in fired] == ["hydrogen-leak"]
    assert correlator.advance_all(MAX) is not None
