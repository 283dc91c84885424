"""Contract v1 end to end on a real broker: publish -> worker (hydrogen-leak) -> alerts tail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from hub.events import read_deadletter
from tests.support.hubproc import Hub
from tests.support.readings import reading

pytestmark = pytest.mark.integration

SCENARIOS: list[dict[str, Any]] = [
    # fires Severe: three readings >= 4000 within 60 s, with a re-sent duplicate afterwards
    reading("leak-1", "S-LEAK", -50, 4000),
    reading("leak-2", "S-LEAK", -30, 4500),
    reading("leak-3", "S-LEAK", -10, 5000),
    reading("leak-3", "S-LEAK", -10, 5000),
    # fires Extreme: one of the readings >= 10000
    reading("ext-1", "S-EXTREME", -40, 4100),
    reading("ext-2", "S-EXTREME", -39, 10000),
    reading("ext-3", "S-EXTREME", -38, 4100),
    # near misses: two readings only; three spread over more than 60 s; one at 3999 ppm
    reading("two-1", "S-TWO", -40, 9000),
    reading("two-2", "S-TWO", -35, 9000),
    reading("spread-1", "S-SPREAD", -70, 4000),
    reading("spread-2", "S-SPREAD", -40, 4000),
    reading("spread-3", "S-SPREAD", -9.5, 4000),
    reading("low-1", "S-LOW", -30, 5000),
    reading("low-2", "S-LOW", -20, 5000),
    reading("low-3", "S-LOW", -10, 3999),
    # a re-sent duplicate must not count twice: two distinct readings plus a copy of one
    reading("dup-1", "S-DUP", -30, 6000),
    reading("dup-2", "S-DUP", -20, 6000),
    reading("dup-2", "S-DUP", -20, 6000),
    # late: 400 s older than the newest event of its key, beyond the 300 s allowed lateness
    reading("late-now", "S-LATE", 0, 100),
    reading("late-old", "S-LATE", -400, 9000),
]

MALFORMED = [
    b'{"specversion": "1.0", "id": "broken',
    json.dumps(
        {
            **reading("neg-1", "S-BAD", 0, 100),
            "data": {
                "site_id": "S-BAD",
                "sensor_id": "x",
                "h2_ppm": -3,
                "location": {"lat": 31.2, "lon": 121.4},
            },
        }
    ).encode(),
    json.dumps(
        {
            **reading("nolat", "S-BAD", 0, 100),
            "data": {"site_id": "S-BAD", "sensor_id": "x", "h2_ppm": 3},
        }
    ).encode(),
]


@pytest.fixture
def hub(kafka_bootstrap: str, tmp_path: Path) -> Hub:
    return Hub.with_topics(kafka_bootstrap, tmp_path)


def write_jsonl(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_publish_rejects_malformed_lines_to_deadletter(hub: Hub, tmp_path: Path) -> None:
    good = orjson.dumps(reading("ok-1", "S-OK", 0, 100))
    path = write_jsonl(tmp_path / "mixed.jsonl", [good, *MALFORMED])
    result = hub.run("publish", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "published 1 of 4 events" in result.stderr
    assert "mixed.jsonl:2: invalid-json" in result.stderr
    assert "mixed.jsonl:3: invalid-data: data.h2_ppm" in result.stderr
    assert "mixed.jsonl:4: invalid-data: data.location" in result.stderr

    dead = hub.read_topic(f"{hub.prefix}.deadletter", min_records=3)
    assert sorted(r.value for r in dead) == sorted(MALFORMED)
    reasons = sorted(read_deadletter(r.headers)["reason"] for r in dead)
    assert reasons == ["invalid-data", "invalid-data", "invalid-json"]
    safety = hub.read_topic(f"{hub.prefix}.events.safety", min_records=1)
    assert [r.value for r in safety] == [good]
    assert safety[0].key == b"S-OK"


def test_publish_of_a_missing_file_is_a_clear_error(hub: Hub) -> None:
    result = hub.run("publish", "nope.jsonl")
    assert result.returncode == 1
    assert "no such file: nope.jsonl" in result.stderr
    assert "Traceback" not in result.stderr


def test_hydrogen_leak_fires_once_per_episode_and_near_misses_stay_silent(
    hub: Hub, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "scenarios.jsonl", [orjson.dumps(e) for e in SCENARIOS])
    published = hub.run("publish", str(path))
    assert published.returncode == 0, published.stderr

    with hub.worker() as proc:
        hub.wait_consumed(f"{hub.prefix}.events.safety")
        assert proc.poll() is None, hub.log()
        tail = hub.run("alerts", "tail", "--json", "--from-beginning", "--idle-timeout", "5")
    assert tail.returncode == 0, tail.stderr

    events = [json.loads(line) for line in tail.stdout.splitlines()]
    by_key: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_key.setdefault(e["data"]["key"], []).append(e)
    assert set(by_key) == {"S-LEAK", "S-EXTREME"}, hub.log()

    leak = by_key["S-LEAK"]
    assert [e["type"] for e in leak] == ["city.alert.firing"]
    assert leak[0]["data"]["severity"] == "Severe"
    assert leak[0]["data"]["evidence"] == ["leak-1", "leak-2", "leak-3"]
    assert leak[0]["data"]["rule"] == "hydrogen-leak"
    assert leak[0]["data"]["departments"] == ["safety"]

    extreme = by_key["S-EXTREME"]
    assert [e["type"] for e in extreme] == ["city.alert.firing"]
    assert extreme[0]["data"]["severity"] == "Extreme"

    # The late reading is dead-lettered for the site's rule, whose partition has moved on; a
    # rule fed through re-keying judges it by its own, possibly slower, watermark.
    dead = hub.read_topic(f"{hub.prefix}.deadletter", min_records=1)
    late = {read_deadletter(r.headers)["rule"]: read_deadletter(r.headers) for r in dead}
    assert "hydrogen-leak" in late
    assert {d["reason"] for d in late.values()} == {"late-event"}
    assert all(json.loads(r.value)["id"] == "late-old" for r in dead)
    assert "allowed lateness 300 s" in late["hydrogen-leak"]["detail"]


def test_alerts_tail_prints_a_readable_line(hub: Hub, tmp_path: Path) -> None:
    leak = [reading(f"r{i}", "S-HUMAN", -30 + i, 4200) for i in range(3)]
    assert (
        hub.run(
            "publish", str(write_jsonl(tmp_path / "l.jsonl", [orjson.dumps(e) for e in leak]))
        ).returncode
        == 0
    )
    with hub.worker():
        tail = hub.run("alerts", "tail", "--from-beginning", "--max", "1", timeout=120)
    assert tail.returncode == 0, tail.stderr
    assert "Severe" in tail.stdout
    assert "firing" in tail.stdout
    assert "Hydrogen leak at S-HUMAN (310101): 3 readings up to 4,200 ppm" in tail.stdout
