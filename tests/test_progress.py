"""hub.observe.progress: which assigned partitions are paused or lag without progress."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from hub.observe.progress import PartitionFetch, ProgressTracker

TOPIC = "t.events.safety"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tracker(clock: Clock) -> ProgressTracker:
    return ProgressTracker(30, clock=clock, wall=lambda: clock.now + 1_700_000_000)


def gauge(name: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(name, {"topic": TOPIC, "partition": str(partition)})


def at(
    committed: int | None, end: int | None, paused: str | None = None, position: int | None = None
) -> PartitionFetch:
    fetched = position if position is not None else committed
    return PartitionFetch(TOPIC, 0, fetched, end, paused, committed)


def test_lag_without_progress_is_a_stall_after_the_threshold(
    tracker: ProgressTracker, clock: Clock
) -> None:
    assert tracker.observe([at(5, 9)]) == []
    clock.now += 29
    assert tracker.observe([at(5, 9)]) == []
    clock.now += 1
    (stall,) = tracker.observe([at(5, 9)])
    assert str(stall) == f"{TOPIC}[0] 4 records behind, no progress for 30 s"
    assert gauge("onenet_partition_stalled", 0) == 1
    assert gauge("onenet_partition_lag_messages", 0) == 4
    assert gauge("onenet_partition_last_progress_timestamp_seconds", 0) == 1_700_001_000
    # One record further: progress, the clock starts again.
    clock.now += 5
    assert tracker.observe([at(6, 9)]) == []
    assert gauge("onenet_partition_stalled", 0) == 0
    assert gauge("onenet_partition_last_progress_timestamp_seconds", 0) == 1_700_001_035


def test_a_partition_at_its_end_is_never_stalled(tracker: ProgressTracker, clock: Clock) -> None:
    tracker.observe([at(9, 9)])
    clock.now += 3600
    assert tracker.observe([at(9, 9)]) == []
    assert gauge("onenet_partition_lag_messages", 0) == 0
    # New records arrive and the position does not follow: the clock runs from the last
    # time there was nothing to take, not from the start.
    clock.now += 29
    assert tracker.observe([at(9, 12)]) == []
    clock.now += 1
    assert [s.reason for s in tracker.observe([at(9, 12)])] == [
        "3 records behind, no progress for 30 s"
    ]


def test_records_fetched_but_never_processed_are_a_stall(
    tracker: ProgressTracker, clock: Clock
) -> None:
    """The fetcher took them (its position is at the end), the agent never committed them."""
    tracker.observe([at(2, 9, position=9)])
    clock.now += 30
    assert [s.reason for s in tracker.observe([at(2, 9, position=9)])] == [
        "7 records behind, no progress for 30 s"
    ]


def test_a_partition_never_fetched_is_stalled_too(tracker: ProgressTracker, clock: Clock) -> None:
    tracker.observe([at(None, 4)])
    clock.now += 30
    assert [s.reason for s in tracker.observe([at(None, 4)])] == [
        "processed offset unknown, no progress for 30 s"
    ]


def test_a_paused_partition_is_stalled_at_once(tracker: ProgressTracker) -> None:
    (stall,) = tracker.observe([at(9, 9, paused="paused by the stream consumer")])
    assert stall.reason == "paused: paused by the stream consumer"
    assert tracker.stalled == [stall]
    assert tracker.observe([at(9, 9)]) == []
    assert tracker.stalled == []


def test_a_revoked_partition_is_forgotten_with_its_series(
    tracker: ProgressTracker, clock: Clock
) -> None:
    tracker.observe([at(5, 9), PartitionFetch(TOPIC, 1, 0, 0, committed=0)])
    assert gauge("onenet_partition_stalled", 1) == 0
    clock.now += 60
    assert tracker.observe([PartitionFetch(TOPIC, 1, 0, 0, committed=0)]) == []
    assert gauge("onenet_partition_stalled", 0) is None
    assert gauge("onenet_partition_lag_messages", 0) is None
    # Assigned again later: a fresh clock, not the old one.
    assert tracker.observe([at(5, 9)]) == []
    tracker.observe([])
    assert gauge("onenet_partition_stalled", 1) is None
