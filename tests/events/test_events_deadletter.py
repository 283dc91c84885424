"""Dead-letter headers: names, contents and limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.events import EventRejected, deadletter_headers, parse_structured, read_deadletter


def test_all_headers_with_original_ones_kept_first() -> None:
    headers = deadletter_headers(
        "invalid-data",
        "data.h2_ppm: must be >= 0 (got -3)",
        source_topic="onenet.events.safety",
        partition=2,
        offset=1234,
        connector="mqtt-h2",
        original_headers=[("traceparent", b"00-ab-01"), ("empty", None)],
        now=datetime(2024, 5, 1, 0, 30, tzinfo=UTC),
    )
    assert headers == [
        ("traceparent", b"00-ab-01"),
        ("empty", b""),
        ("onenet_dlq_reason", b"invalid-data"),
        ("onenet_dlq_detail", b"data.h2_ppm: must be >= 0 (got -3)"),
        ("onenet_dlq_source_topic", b"onenet.events.safety"),
        ("onenet_dlq_partition", b"2"),
        ("onenet_dlq_offset", b"1234"),
        ("onenet_dlq_connector", b"mqtt-h2"),
        ("onenet_dlq_time", b"2024-05-01T00:30:00Z"),
    ]


def test_read_back() -> None:
    headers = deadletter_headers("too-large", "big", partition=0, offset=0)
    info = read_deadletter(headers)
    assert info["reason"] == "too-large"
    assert info["detail"] == "big"
    assert info["partition"] == "0"
    assert info["offset"] == "0"
    assert "source_topic" not in info
    assert "connector" not in info
    assert datetime.fromisoformat(info["time"]).tzinfo is not None


def test_from_a_rejection() -> None:
    with pytest.raises(EventRejected) as info:
        parse_structured(b"[]")
    error = info.value
    assert read_deadletter(deadletter_headers(error.reason, error.detail))["reason"] == (
        "not-an-object"
    )


def test_a_second_trip_replaces_stale_reasons() -> None:
    first = deadletter_headers("invalid-json", "first", source_topic="a")
    second = deadletter_headers("unknown-type", "second", original_headers=first)
    assert [name for name, _ in second].count("onenet_dlq_reason") == 1
    info = read_deadletter(second)
    assert info["reason"] == "unknown-type"
    assert "source_topic" not in info


def test_detail_is_one_line_and_capped_at_1_kib_on_a_character_boundary() -> None:
    detail = "第" * 1000 + "\nsecond line"
    (value,) = [v for n, v in deadletter_headers("x", detail) if n == "onenet_dlq_detail"]
    assert len(value) <= 1024
    text = value.decode("utf-8")  # would fail if a character were cut in half
    assert text.endswith("…")
    assert "\n" not in text
    short = [v for n, v in deadletter_headers("x", "a\r\nb") if n == "onenet_dlq_detail"]
    assert short == [b"a b"]


@pytest.mark.parametrize("reason", ["", "Invalid", "two words", "trailing-", "x" * 65])
def test_reason_must_be_a_short_kebab_case_code(reason: str) -> None:
    with pytest.raises(ValueError, match="kebab-case"):
        deadletter_headers(reason, "detail")
