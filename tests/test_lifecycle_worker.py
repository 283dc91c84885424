"""The lifecycle agent on a real broker: commands in, recorded changes out, state kept across
a worker kill, unacknowledged alerts escalated."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from hub.alerts.lifecycle import LIFECYCLE_SOURCE
from hub.events import read_deadletter
from tests.support.alerting import alert_events, hub_with_a_leak, send_command, wait_for

pytestmark = pytest.mark.integration


def test_commands_change_alerts_and_survive_a_worker_kill(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    hub = hub_with_a_leak(kafka_bootstrap, tmp_path, "S-ACK")

    fast = {"ONENET_WORKER_SESSION_TIMEOUT_S": "8"}
    with hub.worker("w1", **fast) as proc:
        fired = wait_for(hub, lambda ev: any(e["type"] == "city.alert.firing" for e in ev), 1)
        alert_id = fired[0]["data"]["alert_id"]
        send_command(hub, alert_id, "acknowledge")
        events = wait_for(
            hub, lambda ev: any(e["type"] == "city.alert.acknowledged" for e in ev), 2
        )
        acked = next(e for e in events if e["type"] == "city.alert.acknowledged")
        assert acked["source"] == LIFECYCLE_SOURCE
        assert acked["data"]["status"] == "acknowledged"
        assert acked["data"]["change"]["actor"] == "alice"
        assert acked["data"]["lifecycle"]["acknowledged_by"] == "alice"
        hub.wait_consumed(f"{hub.prefix}.alerts.commands")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    with hub.worker("w2", **fast):
        # The table came back from its changelog: a second acknowledgement is refused...
        send_command(hub, alert_id, "acknowledge", actor="bob")
        send_command(hub, alert_id, "acknowledge", actor="mallory", scope="department:water")
        # ...and resolving works on the recovered state.
        resolve = send_command(
            hub, alert_id, "resolve", actor="bob", note="valve closed, area ventilated"
        )
        events = wait_for(hub, lambda ev: any(e["type"] == "city.alert.resolved" for e in ev), 3)
        # The same command delivered again (a client retry, a redelivery) is applied once.
        send_command(
            hub,
            alert_id,
            "resolve",
            actor="bob",
            note="valve closed, area ventilated",
            command_id=resolve,
        )
        hub.wait_consumed(f"{hub.prefix}.alerts.commands")
        time.sleep(2)
        events = alert_events(hub, 3)

    resolved = [e for e in events if e["type"] == "city.alert.resolved"]
    assert len(resolved) == 1
    assert resolved[0]["data"]["lifecycle"]["acknowledged_by"] == "alice"
    assert resolved[0]["data"]["lifecycle"]["resolved_by"] == "bob"
    assert resolved[0]["data"]["lifecycle"]["resolution_note"] == "valve closed, area ventilated"
    dead = [
        read_deadletter(r.headers)
        for r in hub.read_topic(f"{hub.prefix}.deadletter", min_records=2)
    ]
    assert sorted(d["reason"] for d in dead) == ["already-acknowledged", "forbidden"]


def test_unacknowledged_alert_is_escalated_once(kafka_bootstrap: str, tmp_path: Path) -> None:
    hub = hub_with_a_leak(kafka_bootstrap, tmp_path, "S-NOACK")
    with hub.worker(ONENET_ACK_TIMEOUT_S="10"):
        events = wait_for(
            hub, lambda ev: any(e["type"] == "city.alert.escalated" for e in ev), 2, timeout=90
        )
        time.sleep(8)  # a second escalation would have happened by now
        events = alert_events(hub, 2)
    escalated = [e for e in events if e["type"] == "city.alert.escalated"]
    assert len(escalated) == 1
    assert escalated[0]["data"]["severity"] == "Extreme"
    assert escalated[0]["data"]["change"]["action"] == "escalate-unacknowledged"
    assert escalated[0]["data"]["lifecycle"]["ack_escalated"] is True
