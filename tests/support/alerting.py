"""Drive a hub's alert lifecycle from outside: a leak that fires, commands, waiting on alerts."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from hub.kafka import producer
from tests.support.hubproc import Hub
from tests.support.readings import reading


def send_command(hub: Hub, alert_id: str, action: str, **kw: Any) -> str:
    command_id = kw.pop("command_id", None) or uuid.uuid4().hex
    body = {
        "command_id": command_id,
        "alert_id": alert_id,
        "action": action,
        "actor": kw.pop("actor", "alice"),
        "scope": kw.pop("scope", "operator"),
        "at": datetime.now(UTC).isoformat(),
        **kw,
    }
    p = producer(hub.bootstrap)
    p.send(f"{hub.prefix}.alerts.commands", orjson.dumps(body), key=alert_id.encode()).get(30)
    p.close()
    return command_id


def hub_with_a_leak(kafka_bootstrap: str, tmp_path: Path, site: str) -> Hub:
    """An isolated hub whose events topic holds three readings that make a leak alert fire."""
    hub = Hub(kafka_bootstrap, tmp_path)
    assert hub.run("topics", "create").returncode == 0
    leak = [reading(f"{site}-{i}", site, -30 + i, 4200) for i in range(3)]
    path = tmp_path / "leak.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in leak))
    assert hub.run("publish", str(path)).returncode == 0
    return hub


def alert_events(hub: Hub, n: int, timeout: float = 60) -> list[dict[str, Any]]:
    records = hub.read_topic(f"{hub.prefix}.alerts", min_records=n, timeout=timeout)
    return [json.loads(r.value) for r in records]


def wait_for(hub: Hub, predicate: Any, n: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        events = alert_events(hub, n, timeout=5)
        if predicate(events) or time.monotonic() > deadline:
            return events
        time.sleep(0.5)
