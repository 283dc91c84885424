"""Is every assigned partition being consumed? Per partition: paused, lagging without progress.

A consumer can be a healthy member of its group, with partitions assigned and tables
recovered, and still take nothing from one of them (a partition left paused after a
rebalance, a fetcher that stopped). The group's committed lag shows that only as a slowly
growing number; this tracker names the partition, so readiness can fail and an alert can
point at it. Pure: fed with what the consumer reports, it keeps the time of each partition's
last progress and says which ones are stalled.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hub import metrics

Key = tuple[str, int]


@dataclass(frozen=True)
class PartitionFetch:
    """What the consumer reports about one assigned partition.

    `committed` is how far processing has come (records handed to the agent only count once
    processed and committed; before the first commit, the log start, where the group begins
    reading); `position` is how far fetching has come. A partition whose records were fetched
    but never processed is as stalled as one never fetched.
    """

    topic: str
    partition: int
    position: int | None  # next offset the fetcher hands out; None while it is being reset
    end: int | None  # log end offset; None when the broker could not be asked
    paused: str | None = None  # why fetching is held back, None when it is not
    committed: int | None = None  # next offset to process; None when unknown


@dataclass(frozen=True)
class Stall:
    topic: str
    partition: int
    reason: str

    @property
    def key(self) -> Key:
        return (self.topic, self.partition)

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}] {self.reason}"


class ProgressTracker:
    """Stalled: paused, or with lag (end beyond what is done) and no progress for
    `stall_after` seconds. A partition at its end is never stalled: nothing to take.

    Done is the committed offset, not the fetch position: records the fetcher handed out
    and processing never took are owed all the same. The clock of progress starts when a
    partition is first seen (assigned), so a partition never consumed is stalled too.
    """

    def __init__(
        self,
        stall_after: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.stall_after = stall_after
        self._clock = clock
        self._wall = wall
        self._done: dict[Key, int | None] = {}  # what was done at the last progress
        self._since: dict[Key, float] = {}  # monotonic time of the last progress
        self._stalled: list[Stall] = []

    @property
    def stalled(self) -> list[Stall]:
        """The stalls found by the latest `observe`."""
        return list(self._stalled)

    def observe(self, fetches: Iterable[PartitionFetch]) -> list[Stall]:
        """Take the consumer's report on its current assignment; return the stalled ones.

        Partitions missing from the report were revoked: they are forgotten, and their
        series removed, so a new owner starts with a fresh clock.
        """
        now, wall = self._clock(), self._wall()
        seen: set[Key] = set()
        stalls: list[Stall] = []
        for f in fetches:
            key = (f.topic, f.partition)
            seen.add(key)
            done = f.committed
            at_end = done is not None and f.end is not None and done >= f.end
            if key not in self._since or done != self._done.get(key) or at_end:
                self._since[key] = now
                self._done[key] = done
                metrics.PARTITION_LAST_PROGRESS.labels(f.topic, str(f.partition)).set(wall)
            lag = f.end - done if f.end is not None and done is not None else None
            if lag is not None:
                metrics.PARTITION_LAG.labels(f.topic, str(f.partition)).set(max(lag, 0))
            idle = now - self._since[key]
            stall: Stall | None = None
            if f.paused:
                stall = Stall(f.topic, f.partition, f"paused: {f.paused}")
            elif not at_end and idle >= self.stall_after:
                what = f"{lag} records behind" if lag is not None else "processed offset unknown"
                # The threshold, not the running time: a reason that changes every check
                # would log a readiness change every check.
                stall = Stall(
                    f.topic, f.partition, f"{what}, no progress for {self.stall_after:g} s"
                )
            if stall:
                stalls.append(stall)
            metrics.PARTITION_STALLED.labels(f.topic, str(f.partition)).set(1 if stall else 0)
        for key in set(self._since) - seen:
            self._forget(key)
        self._stalled = stalls
        return list(stalls)

    def _forget(self, key: Key) -> None:
        self._since.pop(key, None)
        self._done.pop(key, None)
        labels = (key[0], str(key[1]))
        for gauge in (
            metrics.PARTITION_STALLED,
            metrics.PARTITION_LAST_PROGRESS,
            metrics.PARTITION_LAG,
        ):
            with contextlib.suppress(KeyError):  # never exported for this partition
                gauge.remove(*labels)
