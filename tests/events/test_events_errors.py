"""EventRejected: stable codes and readable one-line details."""

from __future__ import annotations

import pickle

import pytest
from events_samples import encode, event_doc

from hub.events import EventRejected, Reason, parse_structured


def test_str_is_reason_colon_detail() -> None:
    error = EventRejected("too-large", "the record is 70000 bytes")
    assert str(error) == "too-large: the record is 70000 bytes"
    assert (error.reason, error.detail) == ("too-large", "the record is 70000 bytes")


def test_survives_pickling_for_worker_processes() -> None:
    error = pickle.loads(pickle.dumps(EventRejected(Reason.TOO_DEEP, "deep")))
    assert (error.reason, error.detail) == ("too-deep", "deep")


def test_reason_codes_are_kebab_case_and_stable() -> None:
    assert {r.value for r in Reason} == {
        "empty",
        "too-large",
        "invalid-encoding",
        "invalid-json",
        "not-an-object",
        "too-deep",
        "invalid-envelope",
        "unknown-type",
        "invalid-data",
        "missing-district",
        "time-out-of-range",
    }
    assert str(Reason.INVALID_DATA) == "invalid-data"


def test_detail_lists_the_first_three_errors_and_counts_the_rest() -> None:
    doc = event_doc()
    doc["data"] = {"h2_ppm": -3, "location": {"lat": 100, "lon": 0}}
    with pytest.raises(EventRejected) as info:
        parse_structured(encode(doc))
    detail = info.value.detail
    assert detail == (
        "data.site_id: is required; data.location.lat: must be <= 90 (got 100); "
        "data.sensor_id: is required; (+1 more)"
    )
    assert "\n" not in detail


def test_long_values_are_shortened_and_control_characters_escaped() -> None:
    with pytest.raises(EventRejected) as info:
        parse_structured(encode(event_doc(id="a\nb" + "x" * 300)))
    detail = info.value.detail
    assert "\n" not in detail
    assert "'a\\nb" in detail
    assert detail.endswith("…)")
    assert len(detail) < 200
