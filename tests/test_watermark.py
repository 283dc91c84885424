from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.correlate.watermark import Watermark

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
