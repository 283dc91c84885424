"""Helpers for tests that run several workers in one consumer group: publish, read the alerts
that fired, wait until the expected keys fired, and see which partition a key landed on."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import orjson

from tests.support.hubproc import Hub


def publish(hub: Hub, path: Path, events: list[dict[str, object]]) -> None:
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events))
    result = hub.run("publish", str(path))
    assert result.returncode == 0, result.stderr


def firing(hub: Hub) -> list[dict[str, Any]]:
    records = hub.read_topic(f"{hub.prefix}.alerts", timeout=10)
    events = [json.loads(r.value) for r in records]
    return [e for e in events if e["type"] == "city.alert.firing"]


def wait_firing(hub: Hub, keys: list[str], timeout: float = 180) -> None:
    """Block until an alert fired for every one of `keys` (the alerts' `data.key`)."""
    deadline = time.monotonic() + timeout
    fired: set[str] = set()
    while time.monotonic() < deadline:
        fired = {e["data"]["key"] for e in firing(hub)}
        if fired >= set(keys):
            return
        time.sleep(0.5)
    raise AssertionError(f"no alert in {timeout:g} s for {sorted(set(keys) - fired)}")


def partitions_of(hub: Hub, topic: str, min_records: int) -> dict[str, int]:
    """Kafka key -> partition of every record of `topic` (waits for `min_records`)."""
    records = hub.read_topic(topic, min_records=min_records)
    return {r.key.decode(): r.partition for r in records if r.key is not None}
