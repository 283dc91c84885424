"""The CloudEvents 1.0 envelope: required attributes, time, extensions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from events_samples import encode, event_doc
from pydantic import ValidationError

from hub.events import CloudEvent, EventRejected, parse_structured


def reject(**overrides: object) -> EventRejected:
    with pytest.raises(EventRejected) as info:
        parse_structured(encode(event_doc(**overrides)))
    return info.value


def test_valid_envelope_attributes() -> None:
    event = parse_structured(encode(event_doc(subject="pump-2")))
    envelope = event.envelope
    assert envelope.specversion == "1.0"
    assert envelope.id == "evt-0001"
    assert envelope.source == "urn:onenet:connector:test"
    assert envelope.subject == "pump-2"
    assert envelope.datacontenttype == "application/json"
    assert envelope.dataschema is None
    assert envelope.district == "310115"
    assert envelope.extensions == {}


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"specversion": "0.3"}, "specversion: must be '1.0' (got '0.3')"),
        ({"specversion": 1.0}, "specversion: must be '1.0' (got 1.0)"),
        ({"specversion": None}, "specversion: is required"),
        ({"id": None}, "id: is required"),
        ({"id": ""}, "id: must not be empty (got '')"),
        ({"id": 42}, "id: must be a string (got 42)"),
        ({"source": None}, "source: is required"),
        ({"source": "urn:has space"}, "source: must be a URI-reference"),
        ({"type": None}, "type: is required"),
        ({"type": "City.Safety"}, "type: must be reverse-DNS style lowercase"),
        ({"type": "hydrogen"}, "type: must be reverse-DNS style lowercase"),
        ({"time": None}, "time: is required"),
        ({"district": "31 0115"}, "district: must be an administrative code"),
        ({"district": "x" * 33}, "district: must be an administrative code"),
        ({"datacontenttype": "text/xml"}, "datacontenttype: must be a JSON media type"),
        ({"dataschema": "relative/path"}, "dataschema: must be an absolute URI"),
        ({"data": None}, "data: is required"),
        ({"data": "text"}, "data: must be an object (got 'text')"),
    ],
)
def test_envelope_rejections(overrides: dict[str, object], detail: str) -> None:
    error = reject(**overrides)
    assert error.reason == "invalid-envelope"
    assert error.detail.startswith(detail), error.detail


def test_id_length_bound() -> None:
    assert parse_structured(encode(event_doc(id="i" * 256))).envelope.id == "i" * 256
    assert reject(id="i" * 257).detail.startswith("id: must be at most 256 characters")


@pytest.mark.parametrize(
    "media", ["application/json", "application/json; charset=utf-8", "application/geo+json"]
)
def test_json_media_types_are_accepted(media: str) -> None:
    assert parse_structured(encode(event_doc(datacontenttype=media))).envelope.datacontenttype == (
        media
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T08:30:00+08:00", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
        ("2024-05-01T00:30:00Z", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
        ("2024-05-01t00:30:00z", datetime(2024, 5, 1, 0, 30, tzinfo=UTC)),
        ("2024-05-01T00:30:00.123456789-02:00", datetime(2024, 5, 1, 2, 30, 0, 123456, UTC)),
    ],
)
def test_time_is_rfc3339_normalised_to_utc(text: str, expected: datetime) -> None:
    event = parse_structured(encode(event_doc(time=text)))
    assert event.event_time == expected
    assert event.event_time.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2024-05-01T08:30:00", "has no zone offset"),
        ("2024-05-01 08:30:00Z", "must be an RFC 3339 time"),
        ("2024-05-01T08:30Z", "must be an RFC 3339 time"),
        ("20240501T083000Z", "must be an RFC 3339 time"),
        ("2024-02-30T00:00:00Z", "is not a valid time"),
        ("2024-05-01T08:30:00+25:00", "is not a valid time"),
        ("9999-12-31T23:00:00-05:00", "out of range"),
        (1714552200, "must be an RFC 3339 time string"),
    ],
)
def test_bad_times_are_rejected(text: object, fragment: str) -> None:
    error = reject(time=text)
    assert error.reason == "invalid-envelope"
    assert error.detail.startswith("time: ")
    assert fragment in error.detail


def test_naive_datetime_objects_are_rejected_in_python_too() -> None:
    doc = event_doc(time=datetime(2024, 5, 1, 8, 30))
    with pytest.raises(ValidationError, match="has no zone offset"):
        CloudEvent.model_validate(doc)
    aware = event_doc(time=datetime(2024, 5, 1, 8, 30, tzinfo=timezone(timedelta(hours=8))))
    assert CloudEvent.model_validate(aware).time == datetime(2024, 5, 1, 0, 30, tzinfo=UTC)


def test_extensions_follow_the_cloudevents_naming_rule() -> None:
    event = parse_structured(encode(event_doc(traceparent="00-ab-cd-01", seq=7, replay=True)))
    assert event.envelope.extensions == {"traceparent": "00-ab-cd-01", "seq": 7, "replay": True}


@pytest.mark.parametrize(
    ("extension", "fragment"),
    [
        ({"Trace": "x"}, "extension 'Trace': names must be 1-20 lowercase letters or digits"),
        ({"trace_id": "x"}, "extension 'trace_id': names must be"),
        ({"a" * 21: "x"}, "names must be 1-20 lowercase"),
        ({"ratio": 0.5}, "extension 'ratio': must be a string, integer or boolean (got float)"),
        ({"tags": ["a"]}, "extension 'tags': must be a string, integer or boolean (got list)"),
        ({"big": 2**31}, "extension 'big': integers must fit in 32 bits"),
        ({"long": "x" * 1025}, "extension 'long': at most 1024 characters"),
        ({"data_base64": "AAAA"}, "data_base64 is not accepted"),
    ],
)
def test_bad_extensions_are_rejected(extension: dict[str, object], fragment: str) -> None:
    error = reject(**extension)
    assert error.reason == "invalid-envelope"
    assert fragment in error.detail


def test_null_extension_means_absent() -> None:
    doc = event_doc()
    doc["nothing"] = None
    doc["subject"] = None
    envelope = parse_structured(encode(doc)).envelope
    assert envelope.extensions == {}
    assert envelope.subject is None
    assert "nothing" not in envelope.attributes()


def test_envelope_is_immutable() -> None:
    envelope = parse_structured(encode(event_doc())).envelope
    with pytest.raises(ValidationError):
        envelope.id = "other"  # type: ignore[misc]
