"""A tick nobody answers is asked for again, so an absence deadline cannot be lost."""

from __future__ import annotations

from hub.stream.ticks import PendingTicks


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_pending_tick_is_not_asked_again_within_the_retry() -> None:
    clock = Clock()
    ticks = PendingTicks(retry_s=30.0, clock=clock)
    assert ticks.should_send("inspection-overdue", "CHEM-07/ENT-1")
    clock.now += 29.0
    assert not ticks.should_send("inspection-overdue", "CHEM-07/ENT-1")
    assert ticks.should_send("inspection-overdue", "CHEM-08/ENT-2")  # another key is its own


def test_an_unanswered_tick_is_asked_again_after_the_retry() -> None:
    """The tick went to a worker that took the partition over, or met a watermark short of the
    deadline there: without a retry the key would never be advanced again."""
    clock = Clock()
    ticks = PendingTicks(retry_s=30.0, clock=clock)
    assert ticks.should_send("inspection-overdue", "k")
    clock.now += 30.0
    assert ticks.should_send("inspection-overdue", "k")


def test_an_answered_tick_may_be_asked_at_once() -> None:
    ticks = PendingTicks(retry_s=30.0, clock=Clock())
    assert ticks.should_send("r", "k")
    ticks.answered("r", "k")
    assert ticks.should_send("r", "k")


def test_a_rebalance_forgets_every_request() -> None:
    ticks = PendingTicks(retry_s=30.0, clock=Clock())
    for key in ("a", "b", "c"):
        assert ticks.should_send("r", key)
    assert len(ticks) == 3
    ticks.forget()
    assert len(ticks) == 0
    assert all(ticks.should_send("r", key) for key in ("a", "b", "c"))
