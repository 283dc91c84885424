"""One event must not stop the city's alerting: hostile records on a real broker, against a
real worker and `onenet publish`.

Each test plants its hostile records before a hydrogen leak (three readings >= 4000 ppm
within 60 s at one site) and checks that the leak still fires exactly once, that every
hostile record is on the dead-letter topic with its reason, and that the worker is still
running.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from hub.events import read_deadletter
from tests.support.hubproc import Hub

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
LOC = {"lat": 31.23, "lon": 121.47}


def stamp(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def reading(eid: str, site: str, time: str, ppm: float = 5000) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": "urn:test:h2",
        "type": "city.safety.hydrogen.reading",
        "time": time,
        "district": "310101",
        "data": {"site_id": site, "sensor_id": f"{site}-1", "h2_ppm": ppm, "location": LOC},
    }


def leak(site: str, at: datetime = NOW) -> list[dict[str, Any]]:
    return [reading(f"{site}-{i}", site, stamp(at + timedelta(seconds=10 * i))) for i in range(3)]


def scheduled(eid: str, due_by: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": "urn:test:inspections",
        "type": "city.safety.inspection.scheduled",
        "time": stamp(NOW),
        "district": "310101",
        "data": {"enterprise_id": "E-1", "site_id": "S-DUE", "due_by": due_by, "location": LOC},
    }


@pytest.fixture
def hub(kafka_bootstrap: str, tmp_path: Path) -> Hub:
    return Hub.with_topics(kafka_bootstrap, tmp_path)


@pytest.fixture
def producer(hub: Hub) -> Iterator[KafkaProducer]:
    """A producer as a careless department's system might run one: no validation, large
    requests allowed, compressed (a 10 MB record of repeats is a few KB on the wire)."""
    made = KafkaProducer(
        bootstrap_servers=hub.bootstrap,
        compression_type="gzip",
        max_request_size=20_000_000,
        acks="all",
    )
    try:
        yield made
    finally:
        made.close(timeout=10)


def send(
    producer: KafkaProducer,
    topic: str,
    docs: list[dict[str, Any] | bytes],
    *,
    keyed: bool = True,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Send in order to partition 0, keyed by site when `keyed` (as the hub's ingest does)."""
    for doc in docs:
        value = doc if isinstance(doc, bytes) else orjson.dumps(doc)
        key = None
        if keyed and isinstance(doc, dict):
            key = str(doc["data"]["site_id"]).encode()
        producer.send(topic, value, key=key, partition=0, headers=headers or [])
    producer.flush(timeout=30)


def alerts_by_key(hub: Hub) -> dict[str, list[dict[str, Any]]]:
    tail = hub.run("alerts", "tail", "--json", "--from-beginning", "--idle-timeout", "5")
    assert tail.returncode == 0, tail.stderr
    out: dict[str, list[dict[str, Any]]] = {}
    for line in tail.stdout.splitlines():
        event = json.loads(line)
        out.setdefault(event["data"]["key"], []).append(event)
    return out


def dead_letters(hub: Hub, count: int) -> list[tuple[dict[str, str], Any]]:
    records = hub.read_topic(f"{hub.prefix}.deadletter", min_records=count, timeout=120)
    return [(read_deadletter(r.headers), r) for r in records]


def test_events_at_the_ends_of_time_neither_crash_the_worker_nor_poison_the_watermark(
    hub: Hub, producer: KafkaProducer
) -> None:
    safety = f"{hub.prefix}.events.safety"
    hostile: list[dict[str, Any] | bytes] = [
        reading("year-1", "S-OLD", "0001-01-01T00:00:00Z"),
        reading("year-9999", "S-FUTURE", "9999-12-31T23:59:59Z"),
        *[reading(f"end-{i}", "S-END", f"9999-12-31T23:59:{50 + i}Z") for i in range(3)],
        scheduled("due-9999", "9999-12-31T00:00:00Z"),
    ]
    send(producer, safety, [*hostile, *leak("S-LEAK")])

    with hub.worker() as proc:
        hub.wait_consumed(safety, timeout=180)
        letters = dead_letters(hub, len(hostile))
        alerts = alerts_by_key(hub)
        assert proc.poll() is None, hub.log()

    refused = {json.loads(r.value)["id"]: h for h, r in letters}
    assert set(refused) == {"year-1", "year-9999", "end-0", "end-1", "end-2", "due-9999"}
    assert {h["reason"] for h in refused.values()} == {"time-out-of-range"}
    assert refused["due-9999"]["detail"].startswith("data.due_by: 9999-12-31T00:00:00Z")
    assert all(h["source_topic"] == safety for h in refused.values())
    # The leak after them is judged by a watermark that never saw the year 9999.
    assert set(alerts) == {"S-LEAK"}, hub.log()
    assert [a["type"] for a in alerts["S-LEAK"]] == ["city.alert.firing"]


def test_a_record_too_large_for_the_deadletter_topic_is_dead_lettered_truncated(
    hub: Hub, producer: KafkaProducer
) -> None:
    safety = f"{hub.prefix}.events.safety"
    doc = reading("huge", "S-HUGE", stamp(NOW))
    doc["data"]["note"] = "x" * 10_000_000
    huge = orjson.dumps(doc)
    send(producer, safety, [huge, *leak("S-LEAK")])

    with hub.worker() as proc:
        hub.wait_consumed(safety, timeout=180)
        ((headers, record),) = dead_letters(hub, 1)
        alerts = alerts_by_key(hub)
        assert proc.poll() is None, hub.log()

    assert headers["reason"] == "too-large"
    assert headers["original_size"] == str(len(huge))
    assert headers["original_sha256"] == hashlib.sha256(huge).hexdigest()
    assert record.value == huge[:65536]
    assert set(alerts) == {"S-LEAK"}, hub.log()


def test_a_copy_is_judged_late_by_its_origin_before_every_origin_has_spoken(
    hub: Hub, producer: KafkaProducer
) -> None:
    """Readings a day old without a Kafka key take the re-keyed path; their origin partition
    has moved on, so they are late there as at the site's own partition."""
    safety = f"{hub.prefix}.events.safety"
    send(producer, safety, [reading("now", "S-NOW", stamp(NOW), ppm=100)])
    send(producer, safety, leak("S-STALE", NOW - timedelta(days=1)), keyed=False)

    with hub.worker() as proc:
        hub.wait_consumed(safety, timeout=180)
        hub.wait_consumed(f"{hub.app_id}-rekey", timeout=180)
        letters = dead_letters(hub, 3)
        alerts = alerts_by_key(hub)
        assert proc.poll() is None, hub.log()

    assert "S-STALE" not in alerts, hub.log()
    late = [h for h, r in letters if h.get("rule") == "hydrogen-leak"]
    assert len(late) == 3
    assert {h["reason"] for h in late} == {"late-event"}


def test_a_record_that_makes_processing_raise_is_dead_lettered_and_the_worker_goes_on(
    hub: Hub, producer: KafkaProducer
) -> None:
    """A copy on the internal re-keying topic with a watermark header that is no time (only
    a foreign writer could put it there) makes processing raise."""
    rekey = f"{hub.app_id}-rekey"
    bad = [
        ("onenet_rule", b"hydrogen-leak"),
        ("onenet_origin", f"{hub.prefix}.events.safety:0".encode()),
        ("onenet_origin_watermark", b"not a time"),
    ]
    with hub.worker() as proc:
        # The worker declares its internal topics; write once it has.
        hub.wait_consumed(f"{hub.prefix}.events.safety", timeout=180)
        send(producer, rekey, [reading("bad-wm", "S-BAD", stamp(NOW))], headers=bad)
        send(producer, f"{hub.prefix}.events.safety", leak("S-LEAK"))
        hub.wait_consumed(rekey, timeout=180)
        hub.wait_consumed(f"{hub.prefix}.events.safety", timeout=180)
        ((headers, record),) = [
            (h, r) for h, r in dead_letters(hub, 1) if h["reason"] == "processing-error"
        ]
        alerts = alerts_by_key(hub)
        assert proc.poll() is None, hub.log()
        port = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", hub.log())
        assert port is not None, hub.log()
        with urllib.request.urlopen(f"http://127.0.0.1:{port[1]}/metrics", timeout=10) as r:
            exposed = r.read().decode()

    counted = 'onenet_processing_errors_total{exception="ValueError",rule="hydrogen-leak"} 1.0'
    assert counted in exposed
    assert headers["rule"] == "hydrogen-leak"
    assert headers["detail"].startswith("ValueError: ")
    assert headers["source_topic"] == rekey
    assert json.loads(record.value)["id"] == "bad-wm"
    assert set(alerts) == {"S-LEAK"}, hub.log()
    assert hub.log().count("processing failed for") == 1


def test_publish_refuses_out_of_range_and_oversized_lines_and_sends_the_rest(
    hub: Hub, tmp_path: Path
) -> None:
    huge = orjson.dumps({**reading("huge", "S-HUGE", stamp(NOW)), "pad": "x" * 10_000_000})
    lines = [
        orjson.dumps(reading("ok-1", "S-OK", stamp(NOW))),
        orjson.dumps(reading("year-1", "S-OLD", "0001-01-01T00:00:00Z")),
        huge,
        orjson.dumps(reading("year-9999", "S-FUTURE", "9999-12-31T23:59:59Z")),
        orjson.dumps(reading("ok-2", "S-OK", stamp(NOW + timedelta(seconds=1)))),
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    result = hub.run("publish", str(path), timeout=300)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "hostile.jsonl:2: time-out-of-range: time: 0001-01-01T00:00:00Z" in result.stderr
    assert f"hostile.jsonl:3: too-large: the line is {len(huge)} bytes" in result.stderr
    assert "hostile.jsonl:4: time-out-of-range" in result.stderr
    assert "published 2 of 5 events" in result.stderr

    safety = hub.read_topic(f"{hub.prefix}.events.safety", min_records=2)
    assert sorted(json.loads(r.value)["id"] for r in safety) == ["ok-1", "ok-2"]
    letters = {h["connector"]: (h, r) for h, r in dead_letters(hub, 3)}
    assert set(letters) == {f"publish:hostile.jsonl:{n}" for n in (2, 3, 4)}
    headers, record = letters["publish:hostile.jsonl:3"]
    assert headers["reason"] == "too-large"
    assert headers["original_size"] == str(len(huge))
    assert headers["original_sha256"] == hashlib.sha256(huge).hexdigest()
    assert record.value == huge[:65536]
