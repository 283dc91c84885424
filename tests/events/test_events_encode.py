"""Canonical encodings, round trips and the keys an event is routed by."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime

import h3  # type: ignore[import-untyped]
import orjson
import pytest
from events_samples import ALL_TYPES, LOCATION, encode, event_doc, with_data

from hub.events import (
    CONTENT_TYPE_STRUCTURED,
    SECURITY_KEY_RESOLUTION,
    Event,
    EventRejected,
    HydrogenReading,
    Location,
    ServiceRequestOpened,
    parse_binary,
    parse_record,
    parse_structured,
    to_binary,
    to_structured_bytes,
)


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_structured_round_trip(event_type: str) -> None:
    event = parse_structured(encode(event_doc(event_type, seq=3, replay=False)))
    again = parse_structured(to_structured_bytes(event))
    assert again == event
    assert to_structured_bytes(again) == to_structured_bytes(event)


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_binary_round_trip(event_type: str) -> None:
    event = parse_structured(encode(event_doc(event_type, traceparent="00-ab-01")))
    value, headers = to_binary(event)
    assert parse_binary(value, headers) == event
    assert parse_record(value, headers) == event


def test_structured_encoding_is_canonical() -> None:
    event = parse_structured(encode(event_doc(time="2024-05-01T08:30:00.5+08:00")))
    document = orjson.loads(to_structured_bytes(event))
    assert document["time"] == "2024-05-01T00:30:00.500000Z"
    assert list(document) == sorted(document)
    assert list(document["data"]) == sorted(document["data"])
    assert document["data"]["h2_ppm"] == 4200.5
    assert document["district"] == "310115"
    assert "subject" not in document  # unset attributes are omitted, not null


def test_data_times_are_encoded_in_utc() -> None:
    event = parse_structured(with_data("city.safety.inspection.scheduled"))
    assert orjson.loads(to_structured_bytes(event))["data"]["due_by"] == "2024-06-01T09:00:00Z"


def test_equal_events_encode_identically_whatever_the_input_order() -> None:
    doc = event_doc(zeta="z", alpha="a")
    reordered = dict(reversed(list(doc.items())))
    first = parse_structured(encode(doc))
    second = parse_structured(encode(reordered))
    assert first == second
    assert to_structured_bytes(first) == to_structured_bytes(second)


def test_binary_headers_follow_the_kafka_binding() -> None:
    event = parse_structured(encode(event_doc(seq=7, replay=True)))
    value, headers = to_binary(event)
    names = dict(headers)
    assert names["ce_specversion"] == b"1.0"
    assert names["ce_time"] == b"2024-05-01T00:30:00Z"
    assert names["ce_district"] == b"310115"
    assert names["ce_seq"] == b"7"
    assert names["ce_replay"] == b"true"
    assert names["content-type"] == b"application/json"
    assert "ce_datacontenttype" not in names
    assert orjson.loads(value)["site_id"] == "h2-station-7"


def test_content_type_constant_selects_structured_mode() -> None:
    raw = with_data()
    event = parse_record(raw, [("content-type", CONTENT_TYPE_STRUCTURED.encode())])
    assert event == parse_structured(raw)


def test_equality_and_hash() -> None:
    event = parse_structured(with_data())
    other_id = parse_structured(encode(event_doc(id="evt-0002")))
    other_value = parse_structured(with_data(h2_ppm=1.0))
    assert event != other_id
    assert event != other_value  # same identity, different content: not equal
    assert event.dedup_key == other_value.dedup_key
    assert hash(event) == hash(other_value)
    assert event != "not an event"
    assert len({event, parse_structured(with_data())}) == 1


def test_event_pickles_and_copies() -> None:
    event = parse_structured(with_data())
    assert pickle.loads(pickle.dumps(event)) == event
    assert copy.deepcopy(event) == event


def test_event_is_immutable() -> None:
    event = parse_structured(with_data())
    with pytest.raises(AttributeError):
        event.data = event.data
    with pytest.raises(AttributeError):
        del event.envelope


@pytest.mark.parametrize(
    ("event_type", "key"),
    [
        ("city.safety.hydrogen.reading", "h2-station-7"),
        ("city.safety.hazard.reported", "h2-station-7"),
        ("city.safety.inspection.scheduled", "h2-station-7"),
        ("city.safety.inspection.completed", "h2-station-7"),
        ("city.service.request.opened", "12345-2024-0001"),
        ("city.service.request.closed", "12345-2024-0001"),
    ],
)
def test_keys_of_safety_and_service_events(event_type: str, key: str) -> None:
    assert parse_structured(with_data(event_type)).key == key


@pytest.mark.parametrize(
    "event_type", ["city.security.incident.reported", "city.security.crowd.density"]
)
def test_security_events_are_keyed_by_h3_cell(event_type: str) -> None:
    key = parse_structured(with_data(event_type)).key
    assert key == h3.latlng_to_cell(LOCATION["lat"], LOCATION["lon"], SECURITY_KEY_RESOLUTION)
    assert h3.get_resolution(key) == 7
    nearby = parse_structured(
        with_data(event_type, location={"lat": LOCATION["lat"] + 0.0005, "lon": LOCATION["lon"]})
    )
    far = parse_structured(with_data(event_type, location={"lat": 39.9, "lon": 116.4}))
    assert nearby.key == key
    assert far.key != key


def test_event_properties() -> None:
    event = parse_structured(with_data())
    assert event.type == "city.safety.hydrogen.reading"
    assert event.domain == "safety"
    assert event.event_time == datetime(2024, 5, 1, 0, 30, tzinfo=UTC)
    assert event.dedup_key == ("urn:onenet:connector:test", "evt-0001")
    assert event.location == Location(lat=LOCATION["lat"], lon=LOCATION["lon"])
    assert "city.safety.hydrogen.reading" in repr(event)


def test_new_builds_a_valid_event_for_producers() -> None:
    data = HydrogenReading(
        site_id="s1", sensor_id="h1", h2_ppm=12.0, location=Location(lat=31.0, lon=121.0)
    )
    event = Event.new(
        data, source="urn:onenet:connector:mqtt", district="310115", extensions={"seq": 1}
    )
    assert event.type == "city.safety.hydrogen.reading"
    assert event.event_time.tzinfo is UTC
    assert len(event.envelope.id) == 36
    assert parse_structured(to_structured_bytes(event)) == event
    fixed = Event.new(data, source="urn:x", id="a", time=datetime(2024, 1, 1, tzinfo=UTC))
    assert fixed.dedup_key == ("urn:x", "a")


def test_new_refuses_bad_input() -> None:
    data = ServiceRequestOpened(request_id="r1", service_code="c", department="d")
    with pytest.raises(EventRejected) as info:
        Event.new(data, source="urn:x")
    assert info.value.reason == "missing-district"
    with pytest.raises(ValueError, match="must not redefine"):
        Event.new(data, source="urn:x", district="d1", extensions={"id": "x"})
