"""The v1 data models: fields, bounds and the forward-compatibility rule for extras."""

from __future__ import annotations

import math

import pytest
from events_samples import ALL_TYPES, DATA, with_data

from hub.events import (
    EVENT_TYPES,
    EventRejected,
    HydrogenReading,
    Location,
    parse_structured,
)
from hub.events.types import domain_of


def rejected(raw: bytes) -> EventRejected:
    with pytest.raises(EventRejected) as info:
        parse_structured(raw)
    return info.value


def test_registry_matches_the_contract() -> None:
    assert sorted(EVENT_TYPES) == ALL_TYPES
    assert len(EVENT_TYPES) == 8
    for event_type, model in EVENT_TYPES.items():
        assert model.event_type == event_type


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_every_type_parses_from_a_valid_example(event_type: str) -> None:
    event = parse_structured(with_data(event_type))
    assert event.type == event_type
    assert isinstance(event.data, EVENT_TYPES[event_type])
    assert event.domain == event_type.split(".")[1]


OPTIONAL = {
    ("city.safety.hydrogen.reading", "pressure_mpa"),
    ("city.service.request.opened", "location"),
    ("city.service.request.closed", "outcome"),
}
REQUIRED = [(t, f) for t in ALL_TYPES for f in DATA[t] if (t, f) not in OPTIONAL]


def test_optional_fields_match_the_contract() -> None:
    for event_type, field in OPTIONAL:
        assert not EVENT_TYPES[event_type].model_fields[field].is_required()
    for event_type, field in REQUIRED:
        assert EVENT_TYPES[event_type].model_fields[field].is_required()


@pytest.mark.parametrize(("event_type", "field"), REQUIRED)
def test_required_fields_are_required(event_type: str, field: str) -> None:
    error = rejected(with_data(event_type, **{field: None}))
    assert error.reason == "invalid-data"
    assert f"data.{field}: is required" in error.detail


@pytest.mark.parametrize(
    ("event_type", "missing"),
    [
        ("city.safety.hydrogen.reading", "location"),
        ("city.safety.hazard.reported", "location"),
        ("city.safety.inspection.scheduled", "location"),
        ("city.safety.inspection.completed", "location"),
        ("city.security.incident.reported", "location"),
        ("city.security.crowd.density", "location"),
    ],
)
def test_safety_and_security_need_a_location(event_type: str, missing: str) -> None:
    error = rejected(with_data(event_type, **{missing: None}))
    assert (error.reason, error.detail) == ("invalid-data", "data.location: is required")


@pytest.mark.parametrize("lat", [90, -90, 90.0, 0])
def test_latitude_bounds_are_inclusive(lat: float) -> None:
    event = parse_structured(with_data(location={"lat": lat, "lon": 0}))
    assert event.location == Location(lat=lat, lon=0)


@pytest.mark.parametrize(
    ("location", "detail"),
    [
        ({"lat": 90.0001, "lon": 0}, "data.location.lat: must be <= 90 (got 90.0001)"),
        ({"lat": -90.0001, "lon": 0}, "data.location.lat: must be >= -90 (got -90.0001)"),
        ({"lat": 0, "lon": 180.0001}, "data.location.lon: must be <= 180 (got 180.0001)"),
        ({"lat": 0, "lon": -181}, "data.location.lon: must be >= -180 (got -181)"),
        ({"lat": True, "lon": 0}, "data.location.lat: must be a number (got True)"),
        ({"lat": "31.2", "lon": 0}, "data.location.lat: must be a number (got '31.2')"),
        ({"lat": 1}, "data.location.lon: is required"),
        ([31.2, 121.4], "data.location: must be an object (got an array)"),
    ],
)
def test_location_rejections_name_the_field(location: object, detail: str) -> None:
    error = rejected(with_data(location=location))
    assert error.reason == "invalid-data"
    assert error.detail == detail


def test_longitude_bounds_are_inclusive() -> None:
    assert parse_structured(with_data(location={"lat": 0, "lon": -180})).location is not None
    assert parse_structured(with_data(location={"lat": 0, "lon": 180})).location is not None


def test_h2_ppm_zero_is_fine_and_negative_is_not() -> None:
    assert parse_structured(with_data(h2_ppm=0)).data == HydrogenReading.model_validate(
        {**DATA["city.safety.hydrogen.reading"], "h2_ppm": 0}
    )
    error = rejected(with_data(h2_ppm=-0.1))
    assert error.detail == "data.h2_ppm: must be >= 0 (got -0.1)"


def test_integer_measurements_become_floats() -> None:
    event = parse_structured(with_data(h2_ppm=4000))
    assert isinstance(event.data, HydrogenReading)
    assert event.data.h2_ppm == 4000.0
    assert isinstance(event.data.h2_ppm, float)


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"h2_ppm": "4000"}, "data.h2_ppm: must be a number (got '4000')"),
        ({"h2_ppm": False}, "data.h2_ppm: must be a number (got False)"),
        ({"h2_ppm": 1_000_001}, "data.h2_ppm: must be <= 1000000 (got 1000001)"),
        ({"pressure_mpa": -1}, "data.pressure_mpa: must be >= 0 (got -1)"),
        ({"sensor_id": ""}, "data.sensor_id: must not be empty (got '')"),
        ({"sensor_id": "x" * 129}, "data.sensor_id: must be at most 128 characters"),
        ({"sensor_id": " s1"}, "data.sensor_id: must be printable"),
        ({"sensor_id": "s\x001"}, "data.sensor_id: must be printable"),
        ({"sensor_id": 17}, "data.sensor_id: must be a string (got 17)"),
    ],
)
def test_hydrogen_field_rejections(fields: dict[str, object], detail: str) -> None:
    error = rejected(with_data(**fields))
    assert error.reason == "invalid-data"
    assert error.detail.startswith(detail)


def test_pressure_is_optional() -> None:
    event = parse_structured(with_data(pressure_mpa=None))
    assert isinstance(event.data, HydrogenReading)
    assert event.data.pressure_mpa is None


def test_crowd_density_must_not_be_negative() -> None:
    ok = parse_structured(with_data("city.security.crowd.density", persons_per_m2=0))
    assert ok.type == "city.security.crowd.density"
    error = rejected(with_data("city.security.crowd.density", persons_per_m2=-0.5))
    assert error.detail == "data.persons_per_m2: must be >= 0 (got -0.5)"


@pytest.mark.parametrize("result", ["PASS", "ok", "", 1, True])
def test_inspection_result_is_pass_or_fail(result: object) -> None:
    error = rejected(with_data("city.safety.inspection.completed", result=result))
    assert error.detail.startswith("data.result: must be one of 'pass' or 'fail'")


def test_inspection_due_by_is_an_aware_utc_time() -> None:
    event = parse_structured(with_data("city.safety.inspection.scheduled"))
    due_by = event.data.due_by  # type: ignore[attr-defined]
    assert due_by.utcoffset().total_seconds() == 0
    assert due_by.isoformat() == "2024-06-01T09:00:00+00:00"
    error = rejected(with_data("city.safety.inspection.scheduled", due_by="2024-06-01T17:00:00"))
    assert error.detail.startswith("data.due_by: has no zone offset")


def test_closed_request_outcome_is_optional_and_bounded() -> None:
    assert parse_structured(with_data("city.service.request.closed", outcome=None))
    error = rejected(with_data("city.service.request.closed", outcome="x" * 1001))
    assert error.detail.startswith("data.outcome: must be at most 1000 characters (got 'xxx")


def test_unknown_scalar_fields_are_kept_for_forward_compatibility() -> None:
    event = parse_structured(with_data(firmware="1.4.2", battery_pct=87, calibrated=True))
    assert event.data.model_extra == {"firmware": "1.4.2", "battery_pct": 87, "calibrated": True}


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"extra": {"a": 1}}, "unknown field 'extra': only scalars"),
        ({"extra": [1, 2]}, "unknown field 'extra': only scalars"),
        ({"note": "x" * 257}, "unknown field 'note': text longer than 256"),
        ({"bad-name": 1}, "unknown field 'bad-name': names must be"),
        ({f"f{i}": i for i in range(17)}, "at most 16 unknown fields"),
    ],
)
def test_unknown_fields_must_be_small_scalars(fields: dict[str, object], fragment: str) -> None:
    error = rejected(with_data(**fields))
    assert error.reason == "invalid-data"
    assert fragment in error.detail


def test_location_rejects_non_finite_numbers_built_in_python() -> None:
    with pytest.raises(ValueError, match="finite"):
        Location(lat=math.nan, lon=0)
    with pytest.raises(ValueError, match="finite"):
        Location(lat=0, lon=math.inf)


def test_domain_of() -> None:
    assert domain_of("city.safety.hydrogen.reading") == "safety"
    assert domain_of("city.security.crowd.density") == "security"
    assert domain_of("city.service.request.opened") == "service"
    assert domain_of("city.service.something.new") == "service"
    for bad in ("city.alert.firing", "safety", "org.safety.x", ""):
        with pytest.raises(ValueError, match="has no domain"):
            domain_of(bad)
