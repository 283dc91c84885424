"""One accepted range for every time an event carries, and arithmetic on times that cannot
overflow; a record too large for the dead-letter topic goes there truncated."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from events_samples import encode, event_doc

from hub.events import (
    EventRejected,
    Reason,
    TimeRange,
    fit_for_deadletter,
    parse_binary,
    parse_structured,
    shift,
    to_binary,
)
from hub.events.deadletter import (
    MAX_RECORD_BYTES,
    ORIGINAL_SHA256_HEADER,
    ORIGINAL_SIZE_HEADER,
    TRUNCATED_BYTES,
)
from hub.events.fields import TIME_MAX as MAX
from hub.events.fields import TIME_MIN as MIN
from hub.events.fields import format_rfc3339
from hub.settings import Settings
from tests.support.parsing import rejection as rejected


@pytest.mark.parametrize(
    "time", ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59.999Z"]
)
def test_an_event_before_the_earliest_time_is_refused(time: str) -> None:
    error = rejected(encode(event_doc(time=time)))
    assert error.reason == Reason.TIME_OUT_OF_RANGE
    assert error.detail.startswith(f"time: {time[:19]}")
    assert "before the earliest accepted time 2000-01-01T00:00:00Z" in error.detail
    assert "ONENET_EVENT_TIME_MIN" in error.detail


@pytest.mark.parametrize("time", ["9999-12-31T23:59:59Z", "2100-01-01T00:00:00Z"])
def test_an_event_at_or_after_the_latest_time_is_refused(time: str) -> None:
    error = rejected(encode(event_doc(time=time)))
    assert error.reason == Reason.TIME_OUT_OF_RANGE
    assert "is not before the latest accepted time 2100-01-01T00:00:00Z" in error.detail


def test_the_range_is_on_the_utc_axis() -> None:
    # 2000-01-01T07:59:59+08:00 is 1999-12-31T23:59:59Z: one second too early.
    early = event_doc(time="2000-01-01T07:59:59+08:00")
    assert rejected(encode(early)).reason == Reason.TIME_OUT_OF_RANGE
    on_time = event_doc(time="2000-01-01T08:00:00+08:00")
    assert parse_structured(encode(on_time)).event_time == datetime(2000, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("due_by", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"])
def test_a_time_in_data_is_held_to_the_same_range(due_by: str) -> None:
    doc = event_doc("city.safety.inspection.scheduled")
    doc["data"]["due_by"] = due_by
    error = rejected(encode(doc))
    assert error.reason == Reason.TIME_OUT_OF_RANGE
    assert error.detail.startswith("data.due_by: ")


def test_binary_mode_judges_times_alike() -> None:
    event = parse_structured(encode(event_doc()))
    value, headers = to_binary(event)
    headers = [(n, b"9999-12-31T00:00:00Z" if n == "ce_time" else v) for n, v in headers]
    with pytest.raises(EventRejected) as info:
        parse_binary(value, headers)
    assert info.value.reason == Reason.TIME_OUT_OF_RANGE


def test_a_narrower_range_is_honoured_and_max_ahead_spares_deadlines() -> None:
    now = datetime.now(UTC)
    ahead = TimeRange(max_ahead=timedelta(hours=1))
    soon = (now + timedelta(minutes=30)).isoformat()
    later = (now + timedelta(hours=2)).isoformat()
    assert parse_structured(encode(event_doc(time=soon)), time_range=ahead)
    error = rejected(encode(event_doc(time=later)), time_range=ahead)
    assert error.reason == Reason.TIME_OUT_OF_RANGE
    assert "s ahead of the hub's clock" in error.detail
    # A deadline is ahead by nature: due next week is fine with max_ahead of an hour.
    doc = event_doc("city.safety.inspection.scheduled", time=soon)
    doc["data"]["due_by"] = (now + timedelta(days=7)).isoformat()
    assert parse_structured(encode(doc), time_range=ahead)
    narrow = TimeRange(earliest=datetime(2024, 6, 1, tzinfo=UTC))
    assert rejected(encode(event_doc()), time_range=narrow).reason == Reason.TIME_OUT_OF_RANGE


def test_settings_configure_the_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONENET_EVENT_TIME_MIN", "2020-01-01T08:00:00+08:00")
    monkeypatch.setenv("ONENET_EVENT_TIME_MAX", "2030-01-01T00:00:00Z")
    monkeypatch.setenv("ONENET_EVENT_TIME_MAX_AHEAD_S", "3600")
    configured = Settings().time_range
    assert configured == TimeRange(
        datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC), timedelta(hours=1)
    )
    monkeypatch.setenv("ONENET_EVENT_TIME_MAX", "2019-01-01T00:00:00Z")
    with pytest.raises(ValueError, match="event_time_min must be before event_time_max"):
        Settings()


def test_the_defaults_are_the_documented_ones() -> None:
    assert Settings().time_range == TimeRange(
        datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC), None
    )


@pytest.mark.parametrize(
    ("start", "delta", "expected"),
    [
        (MIN, -timedelta(minutes=5), MIN),
        (datetime(1, 1, 1, 0, 1, tzinfo=UTC), -timedelta(minutes=5), MIN),
        (MAX, timedelta(hours=24), MAX),
        (datetime(9999, 12, 31, tzinfo=UTC), timedelta(days=2), MAX),
        (MAX, -timedelta(seconds=1), MAX - timedelta(seconds=1)),
        (datetime(2024, 1, 1, tzinfo=UTC), timedelta.max, MAX),
    ],
)
def test_shift_saturates_at_the_ends_of_time(
    start: datetime, delta: timedelta, expected: datetime
) -> None:
    assert shift(start, delta) == expected


def test_a_record_that_fits_is_dead_lettered_byte_for_byte() -> None:
    headers = [("onenet_dlq_reason", b"too-large")]
    value = b"x" * (MAX_RECORD_BYTES - 100)
    assert fit_for_deadletter(b"k", value, headers) == (b"k", value, headers)


def test_a_record_too_large_for_the_deadletter_topic_is_truncated_with_size_and_digest() -> None:
    value = orjson.dumps({"blob": "y" * 10_000_000})
    original = [("content-type", b"application/json"), ("huge", b"h" * 2_000_000)]
    ours = [("onenet_dlq_reason", b"too-large"), ("onenet_dlq_detail", b"10 MB")]
    key, kept, headers = fit_for_deadletter(b"K" * 5000, value, original + ours)
    assert kept == value[:TRUNCATED_BYTES]
    assert key == b"K" * 1024
    named = dict(headers)
    assert named[ORIGINAL_SIZE_HEADER] == str(len(value)).encode()
    assert named[ORIGINAL_SHA256_HEADER] == hashlib.sha256(value).hexdigest().encode()
    assert named["onenet_dlq_reason"] == b"too-large"
    assert named["content-type"] == b"application/json"
    assert "huge" not in named  # an original header that does not fit is left out
    size = len(key) + len(kept) + sum(len(n) + len(v) for n, v in headers)
    assert size <= MAX_RECORD_BYTES


def test_the_readme_states_the_defaults_the_code_has() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[2].strip()
        for line in readme.splitlines()
        if line.startswith("| `ONENET_EVENT_TIME_")
    }
    fields = Settings.model_fields
    assert rows == {
        "ONENET_EVENT_TIME_MIN": f"`{format_rfc3339(fields['event_time_min'].default)}`",
        "ONENET_EVENT_TIME_MAX": f"`{format_rfc3339(fields['event_time_max'].default)}`",
        "ONENET_EVENT_TIME_MAX_AHEAD_S": "empty (no bound)",
    }
    assert fields["event_time_max_ahead_s"].default is None
