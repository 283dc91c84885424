"""The ingest gate: the records `onenet publish` and the connector runner send, built once."""

from __future__ import annotations

import pytest

from hub.events import CONTENT_TYPE, EventRejected, admit, read_deadletter, refuse
from hub.events.deadletter import (
    MAX_ORIGIN_BYTES,
    MAX_RECORD_BYTES,
    ORIGIN_HEADER,
    ORIGINAL_SIZE_HEADER,
    TRUNCATED_BYTES,
)
from hub.events.gate import CONNECTOR_HEADER
from hub.topics import Topics
from tests.events.events_samples import encode, event_doc, with_data

TOPICS = Topics("city")


def test_a_valid_event_goes_to_its_domain_topic_keyed_by_its_correlation_key() -> None:
    raw = with_data("city.service.request.opened")
    event, record = admit(raw, TOPICS)
    assert record.topic == "city.events.service"
    assert record.key == event.key.encode()
    assert record.key == event.data.request_id.encode()  # type: ignore[union-attr]
    assert record.value is raw  # the bytes the department sent, untouched
    assert record.headers == [CONTENT_TYPE]
    assert CONTENT_TYPE == ("content-type", b"application/cloudevents+json; charset=utf-8")


def test_a_connector_names_itself_on_what_it_publishes() -> None:
    _, record = admit(encode(event_doc("city.safety.hydrogen.reading")), TOPICS, connector="mqtt")
    assert record.topic == "city.events.safety"
    assert record.headers == [CONTENT_TYPE, (CONNECTOR_HEADER, b"mqtt")]


def test_invalid_input_is_refused_by_the_workers_parser() -> None:
    with pytest.raises(EventRejected) as caught:
        admit(b'{"specversion": "1.0"}', TOPICS)
    assert caught.value.reason == "invalid-envelope"
    with pytest.raises(EventRejected) as large:
        admit(with_data(), TOPICS, max_bytes=10)
    assert large.value.reason == "too-large"


def test_a_refused_record_goes_to_the_deadletter_topic_with_reason_and_origin() -> None:
    letter = refuse(
        b"not json", "invalid-json", "line 1", TOPICS, connector="replay", origin="a.jsonl:3"
    )
    assert letter.topic == "city.deadletter"
    assert letter.key is None
    assert letter.value == b"not json"
    headers = read_deadletter(letter.headers)
    assert headers["reason"] == "invalid-json"
    assert headers["detail"] == "line 1"
    assert headers["connector"] == "replay"
    assert headers["origin"] == "a.jsonl:3"
    assert dict(letter.headers)[ORIGIN_HEADER] == b"a.jsonl:3"


def test_a_long_origin_is_cut_and_an_oversized_record_truncated() -> None:
    letter = refuse(b"x" * (MAX_RECORD_BYTES + 1), "too-large", "big", TOPICS, origin="o" * 5000)
    headers = dict(letter.headers)
    assert len(headers[ORIGIN_HEADER]) == MAX_ORIGIN_BYTES
    assert len(letter.value) == TRUNCATED_BYTES
    assert headers[ORIGINAL_SIZE_HEADER] == str(MAX_RECORD_BYTES + 1).encode()


def test_extra_headers_follow_ours_and_no_origin_means_no_header() -> None:
    letter = refuse(b"{}", "invalid-data", "d", TOPICS, extra=[("x-trace", b"1")])
    assert letter.headers[-1] == ("x-trace", b"1")
    assert ORIGIN_HEADER not in dict(letter.headers)
