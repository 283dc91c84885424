"""The batch stream core without a broker: alerts, dead letters, lateness, one write a key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hub.correlate.pack import load_pack
from hub.stream.core import Record, StreamCore

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
TOPIC = "onenet.events.safety"


def reading(i: int, seconds: float, ppm: float, site: str = "S1") -> Record:
    doc = {
        "specversion": "1.0",
        "id": f"e{i}",
        "source": "urn:onenet:connector:test",
        "type": "city.safety.hydrogen.reading",
        "time": (T0 + timedelta(seconds=seconds)).isoformat(),
        "district": "310115",
        "data": {
            "site_id": site,
            "sensor_id": "x",
            "h2_ppm": ppm,
            "location": {"lat": 31.2, "lon": 121.5},
        },
    }
    return Record(TOPIC, 0, i, site.encode(), json.dumps(doc).encode())


def core() -> StreamCore:
    return StreamCore(load_pack(), lateness_s=300)


def kinds(out: object) -> list[str]:
    return [s.kind for s in out.sends]  # type: ignore[attr-defined]


def test_three_high_readings_fire_one_alert_and_one_changelog_record_per_key() -> None:
    c = core()
    out = c.process([reading(i, i * 10, 5000) for i in range(3)])
    assert kinds(out).count("alert") == 1
    logs = [s for s in out.sends if s.kind == "changelog" and s.topic == "hydrogen-leak"]
    assert len(logs) == 1
    assert logs[0].key == b"S1"
    assert out.commits == {(TOPIC, 0): 3}


def test_same_batch_replayed_on_a_fresh_core_gives_the_same_alert() -> None:
    batch = [reading(i, i * 10, 5000) for i in range(3)]
    a = [s.value for s in core().process(batch).sends if s.kind == "alert"]
    b = [s.value for s in core().process(batch).sends if s.kind == "alert"]
    assert a == b
    assert a


def test_invalid_record_is_dead_lettered_with_its_reason_and_committed() -> None:
    out = core().process([Record(TOPIC, 1, 7, b"S1", b"{not json")])
    (dead,) = out.sends
    assert dead.kind == "deadletter"
    assert dict(dead.headers)["onenet_dlq_reason"] == b"invalid-json"
    assert out.commits == {(TOPIC, 1): 8}


def test_late_event_is_dead_lettered_late_event() -> None:
    c = core()
    c.process([reading(1, 3600, 5000)])
    out = c.process([reading(2, 0, 5000)])
    reasons = [dict(s.headers).get("onenet_dlq_reason") for s in out.sends]
    assert b"late-event" in reasons


def test_oversize_record_is_dead_lettered() -> None:
    big = Record(TOPIC, 0, 0, b"S1", b" " * 70000)
    (dead,) = core().process([big]).sends
    assert dict(dead.headers)["onenet_dlq_reason"] == b"too-large"
