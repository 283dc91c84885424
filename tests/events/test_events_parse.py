"""Parsing records into events: every rejection reason, and the two Kafka content modes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from events_samples import ALL_TYPES, encode, event_doc, with_data

from hub.events import (
    EventRejected,
    parse_binary,
    parse_record,
    parse_structured,
    to_binary,
)
from tests.support.parsing import rejection as reason_of


def nested_data(levels: int) -> bytes:
    """A document whose total nesting depth (top-level object = 1) is ``2 + levels``."""
    doc = event_doc()
    doc["data"]["deep"] = orjson.loads(b"[" * levels + b"]" * levels)
    return encode(doc)


def binary_parts(doc: dict[str, Any]) -> tuple[bytes, list[tuple[str, bytes | None]]]:
    headers: list[tuple[str, bytes | None]] = [
        ("ce_" + k, str(v).encode()) for k, v in doc.items() if k != "data"
    ]
    return encode(doc["data"]), headers


def test_oversize_is_rejected_before_parsing() -> None:
    garbage = b"\xff" * 65537  # would be invalid-encoding if it were parsed
    error = reason_of(garbage)
    assert error.reason == "too-large"
    assert "65537 bytes" in error.detail
    assert "65536-byte limit" in error.detail


def test_size_limit_is_inclusive_and_configurable() -> None:
    raw = with_data()
    assert parse_structured(raw, max_bytes=len(raw)).type == "city.safety.hydrogen.reading"
    assert reason_of(raw, max_bytes=len(raw) - 1).reason == "too-large"


def test_depth_16_passes_the_depth_check_and_17_does_not() -> None:
    # 16 levels are within the limit, so the failure is the data rule about scalar extras.
    assert reason_of(nested_data(14)).reason == "invalid-data"
    error = reason_of(nested_data(15))
    assert (error.reason, error.detail) == (
        "too-deep",
        "nested deeper than 16 levels; flatten the data",
    )


def test_depth_limit_is_configurable() -> None:
    assert parse_structured(with_data(), max_depth=3).type == "city.safety.hydrogen.reading"
    assert reason_of(with_data(), max_depth=2).reason == "too-deep"
    with pytest.raises(ValueError, match="max_depth"):
        parse_structured(with_data(), max_depth=10_000)


def test_nesting_beyond_the_json_parser_limit_is_too_deep() -> None:
    assert reason_of(b"[" * 2000 + b"]" * 2000).reason == "too-deep"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id":"\xff\xfe"}',
        b'{"id":"\xed\xa0\x80"}',  # an encoded surrogate
        '{"id":"caf\u00e9"}'.encode("latin-1"),
    ],
)
def test_invalid_utf8_is_invalid_encoding(raw: bytes) -> None:
    error = reason_of(raw)
    assert error.reason == "invalid-encoding"
    assert "UTF-8" in error.detail


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"not json",
        b'{"a":1}{"b":2}',
        b'{"h2_ppm": NaN}',
        b'{"h2_ppm": Infinity}',
        b"\xef\xbb\xbf{}",  # a byte order mark
        b'{"id":"\\ud800"}',  # an escaped lone surrogate
    ],
)
def test_malformed_json_is_invalid_json(raw: bytes) -> None:
    error = reason_of(raw)
    assert error.reason == "invalid-json"
    assert error.detail.startswith("not valid JSON: ")


def test_overflowing_number_is_rejected_not_turned_into_infinity() -> None:
    raw = with_data().replace(b'"h2_ppm":4200.5', b'"h2_ppm":1e999')
    assert b"1e999" in raw
    assert reason_of(raw).reason == "invalid-json"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [(b"[]", "an array"), (b'"x"', "a string"), (b"1", "a number"), (b"null", "null")],
)
def test_non_object_documents(raw: bytes, kind: str) -> None:
    error = reason_of(raw)
    assert error.reason == "not-an-object"
    assert error.detail.endswith(f"got {kind}")


def test_empty_value() -> None:
    assert reason_of(b"").reason == "empty"
    with pytest.raises(EventRejected) as info:
        parse_record(None, [])
    assert info.value.reason == "empty"


def test_unknown_type() -> None:
    error = reason_of(encode(event_doc("city.safety.unicorn.sighted")))
    assert error.reason == "unknown-type"
    assert "'city.safety.unicorn.sighted' is not a v1 event type" in error.detail
    assert "city.safety.hydrogen.reading" in error.detail


def test_envelope_errors_come_before_the_type_lookup() -> None:
    error = reason_of(encode(event_doc("city.safety.unicorn.sighted", id=None)))
    assert error.reason == "invalid-envelope"


def test_service_request_without_location_needs_a_district() -> None:
    doc = event_doc("city.service.request.opened", district=None)
    del doc["data"]["location"]
    error = reason_of(encode(doc))
    assert error.reason == "missing-district"
    assert "district" in error.detail
    assert "location" in error.detail


def test_service_request_without_location_but_with_district_is_fine() -> None:
    doc = event_doc("city.service.request.opened")
    del doc["data"]["location"]
    event = parse_structured(encode(doc))
    assert event.location is None
    assert event.district == "310115"


def test_service_request_with_location_needs_no_district() -> None:
    event = parse_structured(encode(event_doc("city.service.request.opened", district=None)))
    assert event.district is None


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_binary_mode_equals_structured_mode(event_type: str) -> None:
    doc = event_doc(event_type, traceparent="00-abc-01")
    value, headers = binary_parts(doc)
    headers.append(("content-type", b"application/json"))
    headers.append(("x-unrelated", b"ignored"))
    structured = parse_structured(encode(doc))
    assert parse_binary(value, headers) == structured
    assert parse_record(value, headers) == structured


def test_binary_extensions_arrive_as_strings() -> None:
    value, headers = binary_parts(event_doc(seq=7))
    assert parse_binary(value, headers).envelope.extensions == {"seq": "7"}


def test_binary_header_names_are_case_insensitive_and_null_headers_are_absent() -> None:
    value, headers = binary_parts(event_doc())
    headers = [(name.upper(), raw) for name, raw in headers] + [("ce_subject", None)]
    event = parse_binary(value, headers)
    assert event.envelope.subject is None
    assert event.envelope.id == "evt-0001"


@pytest.mark.parametrize(
    ("mutate", "reason", "fragment"),
    [
        (lambda h: [*h, ("ce_id", b"again")], "invalid-envelope", "'ce_id' appears twice"),
        (lambda h: [*h, ("ce_subject", b"\xff")], "invalid-encoding", "'ce_subject'"),
        (lambda h: [x for x in h if x[0] != "ce_time"], "invalid-envelope", "time: is required"),
        (lambda h: [*h, ("content-type", b"text/plain")], "invalid-envelope", "datacontenttype"),
    ],
)
def test_binary_header_problems(mutate: Any, reason: str, fragment: str) -> None:
    value, headers = binary_parts(event_doc())
    with pytest.raises(EventRejected) as info:
        parse_binary(value, mutate(headers))
    assert info.value.reason == reason
    assert fragment in info.value.detail


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"[1]", "not-an-object"),
        (b"{", "invalid-json"),
        (b'{"x":"\xff"}', "invalid-encoding"),
        (b"", "empty"),
    ],
)
def test_binary_value_problems(value: bytes, reason: str) -> None:
    _, headers = binary_parts(event_doc())
    with pytest.raises(EventRejected) as info:
        parse_binary(value, headers)
    assert info.value.reason == reason


def test_binary_size_counts_headers() -> None:
    value, headers = binary_parts(event_doc())
    with pytest.raises(EventRejected) as info:
        parse_binary(value, [*headers, ("padding", b"x" * 70_000)])
    assert info.value.reason == "too-large"


def test_binary_depth_counts_as_if_structured() -> None:
    doc = event_doc()
    doc["data"]["deep"] = orjson.loads(b"[" * 15 + b"]" * 15)
    value, headers = binary_parts(doc)
    with pytest.raises(EventRejected) as info:
        parse_binary(value, headers)
    assert (info.value.reason, info.value.detail) == (
        "too-deep",
        "nested deeper than 16 levels; flatten the data",
    )
    doc["data"]["deep"] = orjson.loads(b"[" * 14 + b"]" * 14)
    value, headers = binary_parts(doc)
    with pytest.raises(EventRejected) as info:
        parse_binary(value, headers)
    assert info.value.reason == "invalid-data"


def test_record_mode_follows_the_content_type() -> None:
    raw = with_data()
    structured = parse_structured(raw)
    # No headers at all: a plain JSON producer.
    assert parse_record(raw, None) == structured
    # The structured content type wins even if a stray ce_specversion header is present.
    headers = [("content-type", b"application/cloudevents+json; charset=utf-8")]
    assert parse_record(raw, [*headers, ("ce_specversion", b"1.0")]) == structured
    # ce_specversion alone means binary mode: the value is then only the data.
    value, binary_headers = to_binary(structured)
    assert parse_record(value, binary_headers) == structured
    with pytest.raises(EventRejected) as info:
        parse_record(raw, [("ce_specversion", b"1.0")])
    assert info.value.reason == "invalid-envelope"


def test_batch_mode_is_refused() -> None:
    with pytest.raises(EventRejected) as info:
        parse_record(b"[]", [("Content-Type", b"application/cloudevents-batch+json")])
    assert info.value.reason == "invalid-envelope"
    assert "one event per record" in info.value.detail


def test_duplicate_json_keys_take_the_last_value() -> None:
    raw = with_data().replace(b'"id":"evt-0001"', b'"id":"first","id":"evt-0001"')
    assert b'"id":"first"' in raw
    assert parse_structured(raw).envelope.id == "evt-0001"


def test_bytearray_and_memoryview_are_accepted() -> None:
    raw = with_data()
    assert parse_structured(bytearray(raw)) == parse_structured(memoryview(raw))
