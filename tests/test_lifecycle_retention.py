"""Resolved alerts leave the worker's lifecycle table after the retention, with a tombstone on
its changelog, and a late change for a forgotten alert does not bring it back."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from hub.events import read_deadletter
from hub.kafka import producer
from tests.support.alerting import hub_with_a_leak, send_command, wait_for
from tests.support.hubproc import Hub

pytestmark = pytest.mark.integration


def refusals(hub: Hub, alert_id: str) -> list[str]:
    return [
        d["reason"]
        for d in (
            read_deadletter(r.headers)
            for r in hub.read_topic(f"{hub.prefix}.deadletter", timeout=5)
        )
        if alert_id in d.get("detail", "")
    ]


def table_records(hub: Hub, alert_id: str) -> list[Any]:
    changelog = f"{hub.app_id}-alert-lifecycle-changelog"
    key = orjson.dumps(alert_id)
    return [r for r in hub.read_topic(changelog, timeout=5) if r.key == key]


def test_a_resolved_alert_is_forgotten_after_the_retention_and_stays_forgotten(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    hub = hub_with_a_leak(kafka_bootstrap, tmp_path, "S-FORGET")
    with hub.worker(ONENET_RESOLVED_RETENTION_S="3"):
        fired = wait_for(hub, lambda ev: any(e["type"] == "city.alert.firing" for e in ev), 1)
        firing = next(e for e in fired if e["type"] == "city.alert.firing")
        alert_id = firing["data"]["alert_id"]
        send_command(hub, alert_id, "resolve", actor="bob", note="valve closed")
        wait_for(hub, lambda ev: any(e["type"] == "city.alert.resolved" for e in ev), 2)

        # Comments are accepted while the alert is held; once the retention has passed the
        # next command finds it gone.
        deadline = time.monotonic() + 90
        while "unknown-alert" not in refusals(hub, alert_id):
            assert time.monotonic() < deadline, "the resolved alert was never forgotten"
            send_command(hub, alert_id, "comment", note="still there?")
            hub.wait_consumed(f"{hub.prefix}.alerts.commands")
        records = table_records(hub, alert_id)
        assert records[-1].value is None, "deletion writes a tombstone on the changelog"
        held = len(records)

        # A late correlator change for the forgotten alert is ignored, not resurrected.
        late = {**firing, "id": uuid.uuid4().hex, "type": "city.alert.updated"}
        p = producer(hub.bootstrap)
        p.send(f"{hub.prefix}.alerts", orjson.dumps(late), key=alert_id.encode()).get(30)
        p.close()
        hub.wait_consumed(f"{hub.prefix}.alerts")
        send_command(hub, alert_id, "acknowledge")
        deadline = time.monotonic() + 90
        while refusals(hub, alert_id).count("unknown-alert") < 2:
            assert time.monotonic() < deadline, "the acknowledgement was not refused"
            time.sleep(0.5)
        assert len(table_records(hub, alert_id)) == held
