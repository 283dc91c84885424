"""Recently seen `(source, id)` pairs, bounded, so a re-sent record is published once."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable


class RecentIds:
    def __init__(self, capacity: int = 100_000, initial: Iterable[str] = ()) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        for uid in initial:
            self.add(uid)

    def __contains__(self, uid: object) -> bool:
        return uid in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, uid: str) -> None:
        self._ids[uid] = None
        self._ids.move_to_end(uid)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)

    def discard(self, uid: str) -> None:
        self._ids.pop(uid, None)

    def newest(self, n: int) -> list[str]:
        """The `n` most recent ids, oldest first: what a checkpoint keeps across restarts."""
        items = list(self._ids)
        return items[-n:] if n else []
