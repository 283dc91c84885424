"""Hostile input against every parser and engine: a clean rejection or a result, never any
other exception.

The parsers see raw documents with extreme times (year 1, 9999, offsets that leave the
calendar once converted to UTC), huge and non-finite numbers, unknown and null fields. The
engines then see every event that parses with the widest time range there is, so their
window and deadline arithmetic meets the ends of time even though the hub's own range
refuses such events at ingest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    TimeRange,
    parse_binary,
    parse_record,
    parse_structured,
)
from hub.events.fields import TIME_MAX as MAX
from hub.events.fields import TIME_MIN as MIN
from tests.support.hostile import encode, hostile_documents
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
    raw = encode(doc, plain)
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
