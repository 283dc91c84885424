"""Connector mappings over hostile records: a mapping error with a reason, or drafts that the
runner's own parse then accepts or refuses cleanly; never any other exception."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.http.decode import BATCH, Candidate, RequestRefused, decode
from connectors.mqtt.payload import FieldMap, MqttMessage, map_json
from connectors.open311.mapping import MappingConfig, map_request
from connectors.sdk.envelope import to_bytes
from connectors.sdk.item import Draft, MappingError
from hub.events import parse_structured
from tests.support.hostile import anything, encode, hostile_documents, numbers
from tests.support.hostile import times as hostile_times
from tests.support.parsing import parses_or_rejects

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
hostile = settings(max_examples=200, deadline=None)

# Gateways and servers also send naive times, epoch numbers and text that is no time at all.
times = hostile_times | st.sampled_from(["2026-11-27T08:00:00", "not a time"]) | numbers
scalars = anything | times


def through_the_runner(drafts: list[Draft]) -> None:
    """What the runner does with a draft: serialise (a failure is refused as invalid-data),
    then validate with the hub's parser."""
    for draft in drafts:
        try:
            raw = to_bytes(draft, default_source="urn:test")
        except (TypeError, ValueError):
            continue
        parses_or_rejects(lambda raw=raw: parse_structured(raw))


def mapped_or_refused(call: Any) -> list[Draft]:
    refused: MappingError | None = None
    try:
        result = call()
    except MappingError as error:
        refused = error
    if refused is not None:
        assert refused.reason
        return []
    return result if isinstance(result, list) else [result]


@hostile
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "sensor_id": scalars,
            "ppm": numbers | scalars,
            "ts": times,
            "lat": numbers,
            "lon": numbers,
            "pressure_mpa": numbers,
            "site_id": scalars,
            "extra": scalars,
        },
    ),
    st.booleans(),
    st.sampled_from([None, "S-1"]),
)
def test_mqtt_payloads_map_or_are_refused(
    record: dict[str, Any], plain: bool, site: str | None
) -> None:
    message = MqttMessage(topic="h2/S-1/reading", payload=encode(record, plain), site_id=site)
    through_the_runner(mapped_or_refused(lambda: map_json(message, FieldMap())))


@hostile
@given(
    st.fixed_dictionaries(
        {
            "service_request_id": st.sampled_from(["R-1", "", None]) | scalars,
            "status": st.sampled_from(["open", "closed", "CLOSED", None]) | scalars,
            "service_code": st.sampled_from(["lamp", None]) | scalars,
            "requested_datetime": times,
        },
        optional={
            "updated_datetime": times,
            "agency_responsible": st.sampled_from(["urban", None]) | scalars,
            "lat": numbers | scalars,
            "long": numbers | scalars,
            "status_notes": scalars,
        },
    ),
    st.booleans(),
)
def test_open311_requests_map_or_are_refused(record: dict[str, Any], plain: bool) -> None:
    # Through JSON as a server would send it, so only what JSON can carry arrives.
    try:
        received = orjson.loads(encode(record, plain))
    except orjson.JSONDecodeError:
        return
    config = MappingConfig(default_department="urban-management", district="310101")
    through_the_runner(mapped_or_refused(lambda: map_request(received, config, now=NOW)))


@hostile
@given(st.lists(hostile_documents(), min_size=1, max_size=4), st.booleans())
def test_http_batches_and_binary_requests_split_into_events_or_are_refused(
    docs: list[dict[str, Any]], plain: bool
) -> None:
    candidates: list[Candidate] = []
    refused: RequestRefused | None = None
    try:
        candidates += decode("batch", BATCH, [], encode(docs, plain), max_batch=3)
    except RequestRefused as error:
        refused = error
    if refused is not None:
        assert refused.reason
        assert 400 <= refused.status < 500
    doc = docs[0]
    headers = [(f"ce-{k}", str(v)) for k, v in doc.items() if k != "data" and v is not None]
    body = encode(doc["data"], plain)
    candidates += decode("binary", "application/json", headers, body, max_batch=1)
    for candidate in candidates:
        if candidate.problem is None:
            parses_or_rejects(lambda raw=candidate.raw: parse_structured(raw))
