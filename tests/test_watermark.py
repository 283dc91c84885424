from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.correlate.watermark import PartitionWatermarks, ShuffleWatermarks, Watermark

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_watermark_is_max_event_time_minus_lateness_and_monotone() -> None:
    clock = Clock(T0)
    wm = Watermark(timedelta(minutes=5), idle_after=timedelta(seconds=30), clock=clock)
    wm.observe(T0 - timedelta(hours=1))
    assert wm.current() == T0 - timedelta(hours=1, minutes=5)
    wm.observe(T0 - timedelta(hours=2))  # an older event does not move time back
    assert wm.current() == T0 - timedelta(hours=1, minutes=5)
    assert wm.is_late(T0 - timedelta(hours=1, minutes=6))
    assert not wm.is_late(T0 - timedelta(hours=1, minutes=5))


def test_idle_input_lets_the_wall_clock_advance_time() -> None:
    clock = Clock(T0)
    wm = Watermark(timedelta(minutes=5), idle_after=timedelta(seconds=30), clock=clock)
    wm.observe(T0 - timedelta(hours=1))
    clock.now = T0 + timedelta(seconds=29)
    assert wm.current() == T0 - timedelta(hours=1, minutes=5)
    clock.now = T0 + timedelta(seconds=30)
    assert wm.current() == clock.now - timedelta(minutes=5)


def test_a_fresh_worker_waits_before_trusting_the_wall_clock() -> None:
    clock = Clock(T0)
    wm = Watermark(timedelta(minutes=5), idle_after=timedelta(seconds=30), clock=clock)
    assert wm.current() is None
    clock.now = T0 + timedelta(seconds=31)
    assert wm.current() == clock.now - timedelta(minutes=5)


def test_shuffled_watermark_is_the_minimum_over_live_origins() -> None:
    clock = Clock(T0)
    wm = ShuffleWatermarks(timedelta(minutes=5), idle_after=timedelta(seconds=30), clock=clock)
    assert wm.current(0) is None
    wm.observe(0, "safety:0", T0 - timedelta(hours=1))
    wm.observe(0, "safety:1", T0 - timedelta(hours=3))  # a slow origin, catching up
    assert wm.current(0) == T0 - timedelta(hours=3)
    wm.observe(0, "safety:1", T0 - timedelta(hours=4))  # never goes back
    assert wm.current(0) == T0 - timedelta(hours=3)
    # The slow origin falls silent: it stops holding time back.
    clock.now = T0 + timedelta(seconds=20)
    wm.observe(0, "safety:0", T0 - timedelta(minutes=50))
    clock.now = T0 + timedelta(seconds=31)
    assert wm.current(0) == T0 - timedelta(minutes=50)
    # Every origin silent: the wall clock stands in.
    clock.now = T0 + timedelta(minutes=2)
    assert wm.current(0) == clock.now - timedelta(minutes=5)
    assert wm.slowest() == clock.now - timedelta(minutes=5)


def test_shuffled_watermark_waits_for_every_expected_origin() -> None:
    clock = Clock(T0)
    wm = ShuffleWatermarks(
        timedelta(minutes=5),
        expected={"safety:0", "safety:1"},
        idle_after=timedelta(seconds=30),
        clock=clock,
        caught_up=lambda: False,
    )
    wm.observe(0, "safety:0", T0 - timedelta(hours=1))
    # safety:1 has not spoken: a fast origin alone must not move time on.
    assert wm.current(0) is None
    clock.now = T0 + timedelta(hours=1)
    assert wm.current(0) is None  # still reading a backlog: keep waiting however long
    wm.observe(0, "safety:1", T0 - timedelta(hours=2))
    assert wm.current(0) == T0 - timedelta(hours=2)


def test_a_revoked_partition_no_longer_holds_the_slowest_watermark_back() -> None:
    """A rebalance handed partition 2 to another worker: its watermark stops moving here and,
    counted as the slowest, kept every deadline of the partitions kept from coming due."""
    clock = Clock(T0)
    wms = PartitionWatermarks(timedelta(minutes=5), idle_after=timedelta(seconds=30), clock=clock)
    for p in range(3):
        wms[("safety", p)].observe(T0 - timedelta(hours=1))
    wms[("safety", 0)].observe(T0)
    wms[("safety", 1)].observe(T0)
    assert wms.slowest() == T0 - timedelta(hours=1, minutes=5)  # partition 2 holds time back
    wms.retain([("safety", 0), ("safety", 1)])
    assert wms.slowest() == T0 - timedelta(minutes=5)
    # The partitions kept keep their watermarks; one assigned again later starts afresh.
    assert wms[("safety", 0)].current() == T0 - timedelta(minutes=5)
    assert wms[("safety", 2)].current() is None


def test_a_revoked_shuffled_partition_is_forgotten() -> None:
    clock = Clock(T0)
    wm = ShuffleWatermarks(timedelta(minutes=5), idle_after=timedelta(seconds=30), clock=clock)
    wm.observe(0, "safety:0", T0 - timedelta(minutes=10))
    wm.observe(1, "safety:0", T0 - timedelta(hours=2))
    assert wm.slowest() == T0 - timedelta(hours=2)
    wm.retain([0])
    assert wm.slowest() == T0 - timedelta(minutes=10)
    assert wm.current(1) is None
