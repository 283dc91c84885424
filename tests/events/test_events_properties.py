"""Property tests: valid events round-trip exactly; no input escapes as anything but
EventRejected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from events_samples import event_doc
from hypothesis import given
from hypothesis import strategies as st

from hub.events import (
    EVENT_TYPES,
    Reason,
    parse_binary,
    parse_record,
    parse_structured,
    to_binary,
    to_structured_bytes,
)
from tests.support.parsing import parses_or_rejects

RESERVED = {
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "district",
    "data",
}
REASONS = {reason.value for reason in Reason}

# Letters, digits, punctuation and symbols of any script, never white space or controls.
visible = st.characters(categories=("L", "N", "P", "S"))
ids = st.text(visible, min_size=1, max_size=128)
texts = st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=200)
# Start with a visible character so no generated label is white space at the start.
labels = st.text(visible, min_size=1, max_size=128)


def finite(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


locations = st.fixed_dictionaries({"lat": finite(-90, 90), "lon": finite(-180, 180)})
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
times = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 31), timezones=offsets
)
rfc3339 = times.map(lambda t: t.isoformat())

FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "site_id": ids,
    "sensor_id": ids,
    "enterprise_id": ids,
    "incident_id": ids,
    "camera_id": ids,
    "request_id": ids,
    "service_code": ids,
    "department": ids,
    "hazard": texts,
    "outcome": texts,
    "category": labels,
    "h2_ppm": finite(0, 1_000_000) | st.integers(0, 1_000_000),
    "pressure_mpa": finite(0, 1000),
    "persons_per_m2": finite(0, 100),
    "result": st.sampled_from(["pass", "fail"]),
    "due_by": rfc3339,
    "location": locations,
}

extra_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
)


@st.composite
def data_for(draw: st.DrawFn, event_type: str) -> dict[str, Any]:
    model = EVENT_TYPES[event_type]
    data: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if field.is_required() or draw(st.booleans()):
            data[name] = draw(FIELD_VALUES[name])
    names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True).filter(
        lambda n: n not in model.model_fields
    )
    data.update(draw(st.dictionaries(names, extra_scalars, max_size=3)))
    return data


extension_names = st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True).filter(
    lambda n: n not in RESERVED
)
string_extensions = st.dictionaries(extension_names, st.text(max_size=40), max_size=3)
any_extensions = st.dictionaries(
    extension_names,
    st.text(max_size=40) | st.integers(-(2**31), 2**31 - 1) | st.booleans(),
    max_size=3,
)


@st.composite
def documents(draw: st.DrawFn, extensions: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    event_type = draw(st.sampled_from(sorted(EVENT_TYPES)))
    doc: dict[str, Any] = {
        "specversion": "1.0",
        "id": draw(ids),
        "source": draw(st.text(visible, min_size=1, max_size=60)),
        "type": event_type,
        "time": draw(rfc3339),
        "district": draw(st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)),
        "data": draw(data_for(event_type)),
    }
    if draw(st.booleans()):
        doc["subject"] = draw(texts)
    if draw(st.booleans()):
        doc["dataschema"] = "https://schemas.onenet.example/" + draw(
            st.from_regex(r"[a-z]{1,10}", fullmatch=True)
        )
    doc.update(draw(extensions))
    return doc


@given(documents(any_extensions))
def test_structured_round_trip(doc: dict[str, Any]) -> None:
    event = parse_structured(orjson.dumps(doc))
    assert event.event_time.tzinfo is UTC
    encoded = to_structured_bytes(event)
    again = parse_structured(encoded)
    assert again == event
    assert to_structured_bytes(again) == encoded
    assert isinstance(event.key, str)
    assert event.key


@given(documents(string_extensions))
def test_binary_round_trip_and_agreement_with_structured(doc: dict[str, Any]) -> None:
    event = parse_structured(orjson.dumps(doc))
    value, headers = to_binary(event)
    assert parse_binary(value, headers) == event
    assert parse_record(value, headers) == event


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_escape_as_another_exception(raw: bytes) -> None:
    parses_or_rejects(lambda: parse_structured(raw))
    parses_or_rejects(lambda: parse_record(raw, [("ce_specversion", b"1.0")]))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.data(), json_values)
def test_mutated_events_never_escape_as_another_exception(data: st.DataObject, value: Any) -> None:
    doc = event_doc(data.draw(st.sampled_from(sorted(EVENT_TYPES))))
    target = doc
    path = data.draw(st.sampled_from([(), ("data",), ("data", "location")]))
    for part in path:
        if isinstance(target.get(part), dict):
            target = target[part]
    key = data.draw(st.sampled_from([*target, "new"]))
    target[key] = value
    try:
        raw = orjson.dumps(doc)
    except (TypeError, orjson.JSONEncodeError):  # NaN/huge ints cannot even be sent as JSON
        return
    parses_or_rejects(lambda: parse_structured(raw))


@given(
    st.binary(max_size=300),
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "ce_specversion",
                    "ce_id",
                    "ce_source",
                    "ce_type",
                    "ce_time",
                    "content-type",
                    "ce_x",
                    "other",
                ]
            ),
            st.none()
            | st.binary(max_size=40)
            | st.sampled_from([b"1.0", b"city.safety.hydrogen.reading"]),
        ),
        max_size=8,
    ),
)
def test_arbitrary_records_never_escape(
    value: bytes, headers: list[tuple[str, bytes | None]]
) -> None:
    parses_or_rejects(lambda: parse_record(value, headers))
