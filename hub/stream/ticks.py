"""Which ticks a worker has sent and not yet seen come back.

A tick is a request, sent through `<app id>-ticks`, to advance one key of one rule. The worker
remembers what it asked for so a timer does not ask again every two seconds. A tick can be
consumed by another worker (its partition moved in a rebalance) or meet a watermark that has
not reached the deadline yet on that worker; then nobody answers, and a plain "asked" set
would keep that key from ever being asked again: an absence deadline (an inspection overdue)
would never fire. So each request expires after `retry_s`, and a rebalance forgets them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

TICK_RETRY_S = 30.0


class PendingTicks:
    """(rule, key) pairs asked for, with when; a request is repeated once it is `retry_s` old."""

    def __init__(
        self, retry_s: float = TICK_RETRY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.retry_s = retry_s
        self._clock = clock
        self._sent: dict[tuple[str, str], float] = {}

    def should_send(self, rule: str, key: str) -> bool:
        """True (and noted as sent now) when no answer is awaited for this pair."""
        now = self._clock()
        sent = self._sent.get((rule, key))
        if sent is not None and now - sent < self.retry_s:
            return False
        self._sent[(rule, key)] = now
        return True

    def answered(self, rule: str, key: str) -> None:
        self._sent.pop((rule, key), None)

    def forget(self) -> None:
        """A rebalance moved partitions: ticks in flight may be answered elsewhere or never."""
        self._sent.clear()

    def __len__(self) -> int:
        return len(self._sent)
