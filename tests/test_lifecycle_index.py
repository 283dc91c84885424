"""The lifecycle's timer indexes: ack deadlines and forgetting, read from stored entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.stream.lifecycle import LifecycleIndex

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ACK = timedelta(seconds=900)
KEEP = timedelta(hours=6)


def stored(
    status: str,
    *,
    opened: datetime | None = None,
    resolved: datetime | None = None,
    escalated: bool = False,
    partition: int = 1,
) -> dict[str, Any]:
    lifecycle = {"opened_at": opened.isoformat() if opened else None, "ack_escalated": escalated}
    return {
        "alert": {"status": status, "lifecycle": lifecycle},
        "commands": [],
        "partition": partition,
        "resolved_seen": resolved.isoformat() if resolved else None,
    }


def test_ack_deadlines_follow_the_alert_s_state() -> None:
    index = LifecycleIndex(ACK, KEEP)
    index.track("a", stored("firing", opened=T0))
    index.track("b", stored("firing", opened=T0 + timedelta(minutes=5)))
    index.track("c", stored("firing", opened=T0, escalated=True))
    assert index.ack_due(T0 + ACK) == []
    assert index.ack_due(T0 + ACK + timedelta(seconds=1)) == ["a"]
    assert index.ack_due(T0 + timedelta(hours=1)) == ["a", "b"]
    index.track("a", stored("acknowledged", opened=T0))
    assert index.ack_due(T0 + timedelta(hours=1)) == ["b"]


def test_forgetting_is_per_partition_and_after_the_retention() -> None:
    index = LifecycleIndex(ACK, KEEP)
    index.track("r1", stored("resolved", opened=T0, resolved=T0, partition=0))
    index.track("r2", stored("resolved", opened=T0, resolved=T0, partition=2))
    index.track("open", stored("firing", opened=T0, partition=0))
    later = T0 + KEEP + timedelta(seconds=1)
    assert index.forget_due(0, T0 + KEEP) == []
    assert index.forget_due(0, later) == ["r1"]
    assert index.forget_due(2, later) == ["r2"]
    index.drop("r1", 0)
    assert index.forget_due(0, later) == []


def test_rebuild_indexes_recovered_entries_only() -> None:
    index = LifecycleIndex(ACK, KEEP)
    index.track("gone", stored("firing", opened=T0))
    index.rebuild([("r", stored("resolved", resolved=T0, partition=1)), ("junk", None)])
    far = T0 + timedelta(days=1)
    assert index.ack_due(far) == []
    assert index.forget_due(1, far) == ["r"]
