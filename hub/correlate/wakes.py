"""When each key of each rule next needs time to pass: a heap per rule, earliest first.

Timers ask what is due at a watermark; scanning and validating every stored key on every tick
made a tick cost what is stored, so a worker holding tens of thousands of keys slowed to a
crawl. The index answers with the due keys only, at a cost in proportion to them. It is
derived state: rebuilt from the store whenever the store may have changed behind its back
(a rebalance recovered table partitions from their changelogs).
"""

from __future__ import annotations

import heapq
from datetime import datetime

SLACK = 64  # stale heap entries tolerated before compaction, beyond one per live key


class WakeIndex:
    """(wake time, key) per rule; scheduling a key again replaces its earlier wake."""

    def __init__(self) -> None:
        self._heaps: dict[str, list[tuple[datetime, str]]] = {}
        self._live: dict[str, dict[str, datetime]] = {}

    def schedule(self, rule: str, key: str, wake: datetime | None) -> None:
        """Record the key's next wake; None forgets the key."""
        live = self._live.setdefault(rule, {})
        if wake is None:
            live.pop(key, None)
        elif live.get(key) != wake:
            live[key] = wake
            heapq.heappush(self._heaps.setdefault(rule, []), (wake, key))
        heap = self._heaps.get(rule)
        if heap is not None and len(heap) > 2 * len(live) + SLACK:
            # Superseded entries are left in the heap (lazy deletion); drop them in one pass.
            self._heaps[rule] = [(w, k) for k, w in live.items()]
            heapq.heapify(self._heaps[rule])

    def due(self, rule: str, watermark: datetime) -> list[str]:
        """Keys whose wake is strictly before `watermark`, earliest first; nothing is removed
        (a key stays due until its state is scheduled again)."""
        heap = self._heaps.get(rule)
        if not heap:
            return []
        live = self._live.get(rule, {})
        while heap and live.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        found: dict[str, datetime] = {}
        # A heap's subtree holds nothing earlier than its root: visit only entries before the
        # watermark and their children.
        stack = [0]
        while stack:
            i = stack.pop()
            if i >= len(heap):
                continue
            wake, key = heap[i]
            if wake >= watermark:
                continue
            if live.get(key) == wake:
                found[key] = wake
            stack += (2 * i + 1, 2 * i + 2)
        return sorted(found, key=lambda k: (found[k], k))

    def wake_of(self, rule: str, key: str) -> datetime | None:
        return self._live.get(rule, {}).get(key)

    def clear(self) -> None:
        self._heaps.clear()
        self._live.clear()

    def __len__(self) -> int:
        return sum(len(live) for live in self._live.values())
