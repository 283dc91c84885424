"""The msgspec fast path and pydantic agree: same fact when both accept, and the fast path
never accepts what pydantic rejects (it declines, and pydantic gives the reason)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.correlate.fact import Fact
from hub.events import EventRejected, parse_record
from hub.events.fields import TimeRange
from hub.stream.facts import FAST_TYPES, fact_of_record, fast_fact

MAX = 65536


def hydrogen() -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "e-1",
        "source": "urn:onenet:connector:test",
        "type": "city.safety.hydrogen.reading",
        "time": "2026-11-27T08:00:00+08:00",
        "district": "210202",
        "data": {
            "site_id": "H2-ST-01",
            "sensor_id": "s 1",
            "h2_ppm": 4500.5,
            "pressure_mpa": 35,
            "location": {"lat": 38.91, "lon": 121.6},
        },
    }


def crowd() -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "c-1",
        "source": "urn:onenet:connector:video",
        "type": "city.security.crowd.density",
        "time": "2026-11-27T00:00:00.250Z",
        "data": {"camera_id": "CAM-7", "persons_per_m2": 4, "location": {"lat": 0, "lon": -180}},
    }


def slow(raw: bytes, headers: list[tuple[str, bytes]] | None = None, **kw: Any) -> Fact | str:
    try:
        return Fact.of(parse_record(raw, headers, max_bytes=kw.pop("max_bytes", MAX), **kw))
    except EventRejected as exc:
        return f"{exc.reason}: {exc.detail}"


def agree(raw: bytes, headers: list[tuple[str, bytes]] | None = None, **kw: Any) -> Fact | None:
    """Assert the paths agree on `raw`; returns what the fast path made of it."""
    expected = slow(raw, headers, **kw)
    fast = fast_fact(raw, headers, max_bytes=kw.pop("max_bytes", MAX), **kw)
    if fast is not None:
        assert isinstance(expected, Fact), f"fast path accepted what pydantic rejects: {expected}"
        assert fast == expected
        # Same keys in the same order and the same JSON types: state encodes alike.
        assert json.dumps(fast.data) == json.dumps(expected.data)
        assert fast.time.tzinfo is UTC
        assert fast.time == expected.time
    return fast


@pytest.mark.parametrize("doc", [hydrogen(), crowd()])
def test_plain_hot_events_take_the_fast_path(doc: dict[str, Any]) -> None:
    assert doc["type"] in FAST_TYPES
    assert agree(orjson.dumps(doc)) is not None
    structured = [("content-type", b"application/cloudevents+json; charset=utf-8")]
    assert agree(orjson.dumps(doc), structured) is not None


def test_what_the_fast_path_declines_pydantic_decides() -> None:
    doc = hydrogen()
    doc["data"]["h2_ppm"] = -1
    raw = orjson.dumps(doc)
    assert agree(raw) is None
    with pytest.raises(EventRejected) as caught:
        fact_of_record(raw, None, max_bytes=MAX)
    assert caught.value.reason == "invalid-data"
    doc = hydrogen()
    doc["data"]["note"] = "an unknown field is pydantic's to judge"
    fact = fact_of_record(orjson.dumps(doc), None, max_bytes=MAX)
    assert agree(orjson.dumps(doc)) is None
    assert fact.data["note"].startswith("an unknown")


@pytest.mark.parametrize(
    ("raw", "headers", "kw"),
    [
        (b"", None, {}),
        (orjson.dumps(hydrogen()), [("ce_specversion", b"1.0")], {}),  # binary mode
        (orjson.dumps(hydrogen()), [("content-type", b"application/cloudevents-batch")], {}),
        (orjson.dumps(hydrogen()), None, {"max_bytes": 100}),
        (orjson.dumps(hydrogen()), None, {"max_depth": 2}),
        (b'{"type":"city.safety.hydrogen.reading","id":"a","id":"b"}', None, {}),
        (orjson.dumps(hydrogen()).replace(b"08:00:00+08:00", b"08:00:00"), None, {}),
        (b"\xef\xbb\xbf" + orjson.dumps(hydrogen()), None, {}),
        (orjson.dumps(hydrogen()).replace(b'"e-1"', b'"e\\u0000"'), None, {}),
        (orjson.dumps(hydrogen()).replace(b'"e-1"', b'"\\ud800"'), None, {}),
        (orjson.dumps(hydrogen()).replace(b"4500.5", b"1e400"), None, {}),
        (orjson.dumps(hydrogen()).replace(b"4500.5", b"true"), None, {}),
        (orjson.dumps(hydrogen()).replace(b"4500.5", b'"4500"'), None, {}),
    ],
)
def test_edges_agree(raw: bytes, headers: list[tuple[str, bytes]] | None, kw: Any) -> None:
    assert agree(raw, headers, **kw) is None


def test_the_time_range_applies_to_both() -> None:
    ahead = TimeRange(max_ahead=timedelta(seconds=60))
    doc = hydrogen()
    doc["time"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert agree(orjson.dumps(doc), time_range=ahead) is None
    doc["time"] = "1999-12-31T23:59:59Z"
    assert agree(orjson.dumps(doc)) is None


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-200, max_value=1_100_000),
    st.text(max_size=12),
    st.text(alphabet=st.characters(codec="ascii"), max_size=300),
    st.sampled_from(["1.0", "2026-11-27T08:00:00Z", "2026-02-30T08:00:00Z", " x", "x ", "a b"]),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=4
) | st.fixed_dictionaries({"lat": st.floats(-100, 100), "lon": st.floats(-200, 200)})
FIELDS = ["specversion", "id", "source", "type", "time", "district", "data", "subject", "xx"]
DATA_FIELDS = [
    "site_id",
    "sensor_id",
    "h2_ppm",
    "pressure_mpa",
    "location",
    "camera_id",
    "persons_per_m2",
    "extra_1",
]


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(st.sampled_from([hydrogen, crowd]))()
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=2)):
        if draw(st.booleans()):
            doc.pop(name, None)
        else:
            doc[name] = draw(values)
    data = doc.get("data")
    if isinstance(data, dict):
        for name in draw(st.lists(st.sampled_from(DATA_FIELDS), max_size=3)):
            if draw(st.booleans()):
                data.pop(name, None)
            else:
                data[name] = draw(values)
        loc = data.get("location")
        if isinstance(loc, dict) and draw(st.booleans()):
            loc[draw(st.sampled_from(["lat", "lon", "alt"]))] = draw(values)
    return doc


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_both_paths_agree_on_any_document(doc: dict[str, Any]) -> None:
    agree(json.dumps(doc, ensure_ascii=False).encode())  # json: integers past 64 bits too


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=400), st.binary(min_size=1, max_size=3))
def test_both_paths_agree_on_corrupted_bytes(at: int, junk: bytes) -> None:
    raw = orjson.dumps(hydrogen())
    agree(raw[:at] + junk + raw[at + len(junk) :])
