"""Event-time watermark: how far the stream has progressed, so windows and deadlines can close.

The watermark is the largest event time seen minus the allowed lateness. When no input has
arrived for `idle_after` and the input is caught up (nothing left to read), the wall clock
stands in for the stream's progress, so a quiet night still closes windows and fires deadlines
(the same idea as Flink's source idleness). A slow consumer working through a backlog is not
idle: letting the wall clock in then would call the whole backlog late.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, datetime, timedelta

from hub.events.fields import shift


def utcnow() -> datetime:
    return datetime.now(UTC)


def _always() -> bool:
    return True


class Watermark:
    def __init__(
        self,
        lateness: timedelta,
        idle_after: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = utcnow,
        caught_up: Callable[[], bool] = _always,
    ) -> None:
        self.lateness = lateness
        self._caught_up = caught_up
        self.idle_after = idle_after
        self._clock = clock
        self.stream_time: datetime | None = None
        # Idleness counts from start-up, so a restarted worker replays its backlog first.
        self._last_input = clock()
        self._current: datetime | None = None

    def observe(self, event_time: datetime) -> None:
        self._last_input = self._clock()
        if self.stream_time is None or event_time > self.stream_time:
            self.stream_time = event_time

    def current(self) -> datetime | None:
        """The watermark now; None until the stream or the idle clock says anything. Monotone."""
        now = self._clock()
        progress = self.stream_time
        idle = now - self._last_input >= self.idle_after and self._caught_up()
        if idle:
            progress = now if progress is None else max(progress, now)
        if progress is None:
            return None
        candidate = shift(progress, -self.lateness)
        if self._current is None or candidate > self._current:
            self._current = candidate
        return self._current

    def is_late(self, event_time: datetime) -> bool:
        wm = self.current()
        return wm is not None and event_time < wm


class PartitionWatermarks:
    """One watermark per input partition (a topic and partition number), as Kafka Streams keeps
    stream time per partition.

    A worker reading several partitions at different speeds (catching up after a restart, say)
    must not call one partition's events late because another partition is ahead; the same goes
    for two topics read side by side. A key's state lives in exactly one partition of one topic,
    so that partition's watermark is the one that governs it.
    """

    def __init__(
        self,
        lateness: timedelta,
        idle_after: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = utcnow,
        caught_up: Callable[[Hashable], bool] = lambda _partition: True,
    ) -> None:
        self._lateness = lateness
        self._idle_after = idle_after
        self._clock = clock
        self._caught_up = caught_up
        self._by_partition: dict[Hashable, Watermark] = {}

    def __getitem__(self, partition: Hashable) -> Watermark:
        wm = self._by_partition.get(partition)
        if wm is None:
            wm = Watermark(
                self._lateness,
                self._idle_after,
                self._clock,
                caught_up=lambda: self._caught_up(partition),
            )
            self._by_partition[partition] = wm
        return wm

    def retain(self, assigned: Iterable[Hashable]) -> None:
        """Forget every partition not in `assigned`: a rebalance handed it to another worker.

        Its watermark would never move again here, so as the slowest one it would hold back
        every deadline of the partitions this worker kept (an absence alert would never fire).
        A partition kept keeps its watermark; one assigned later starts afresh."""
        keep = set(assigned)
        for partition in [p for p in self._by_partition if p not in keep]:
            del self._by_partition[partition]

    def slowest(self, which: Callable[[Hashable], bool] = lambda _key: True) -> datetime | None:
        """The least advanced watermark (of the partitions `which` picks) among the assigned
        ones: safe for decisions that span partitions."""
        values = [
            v
            for v in (w.current() for k, w in self._by_partition.items() if which(k))
            if v is not None
        ]
        return min(values) if values else None


class ShuffleWatermarks:
    """Watermarks downstream of the re-keying topic, propagated the way Flink does it.

    Every origin partition (a topic and partition number of the event topics) tells each
    re-keyed partition its watermark: on every forwarded copy, and in a broadcast every few
    seconds. A re-keyed partition's watermark is the minimum over all expected origins, so a
    copy from a slow origin (a worker catching up) is never judged late against a faster one;
    copies from one origin arrive in order, so a copy that was on time at its origin is on time
    here too. An origin that has not spoken for `idle_after` while this worker has nothing
    left to read stops holding time back, and when every origin is quiet the wall clock stands
    in, as for an idle partition upstream.
    """

    def __init__(
        self,
        lateness: timedelta,
        expected: Iterable[str] = (),
        idle_after: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = utcnow,
        caught_up: Callable[[], bool] = _always,
    ) -> None:
        self._lateness = lateness
        self._expected = frozenset(expected)
        self._idle_after = idle_after
        self._clock = clock
        self._caught_up = caught_up
        self._started = clock()
        self._origins: dict[int, dict[str, tuple[datetime, datetime]]] = {}
        self._current: dict[int, datetime] = {}

    def observe(self, partition: int, origin: str, watermark: datetime) -> None:
        origins = self._origins.setdefault(partition, {})
        previous = origins.get(origin)
        best = watermark if previous is None else max(previous[0], watermark)
        origins[origin] = (best, self._clock())

    def current(self, partition: int) -> datetime | None:
        now = self._clock()
        origins = self._origins.get(partition, {})
        if not origins and not self._expected:
            return self._current.get(partition)  # nothing known about this partition yet
        # While this worker still has input to read, silent origins may just be behind.
        quiet_after = self._idle_after if self._caught_up() else timedelta.max
        live: list[datetime] = []
        waiting = False
        for origin in self._expected | origins.keys():
            seen = origins.get(origin)
            if seen is None:
                waiting = waiting or now - self._started < quiet_after
            elif now - seen[1] < quiet_after:
                live.append(seen[0])
        if waiting:
            return self._current.get(partition)  # an origin has not spoken yet: hold
        if live:
            candidate = min(live)
        else:
            newest = [wm for wm, _ in origins.values()]
            floor = shift(now, -self._lateness)
            candidate = max(*newest, floor) if newest else floor
        best = self._current.get(partition)
        if best is None or candidate > best:
            self._current[partition] = best = candidate
        return best

    def retain(self, assigned: Iterable[int]) -> None:
        """Forget the re-keyed partitions not in `assigned` (see `PartitionWatermarks.retain`)."""
        keep = set(assigned)
        for partition in [p for p in {*self._origins, *self._current} if p not in keep]:
            self._origins.pop(partition, None)
            self._current.pop(partition, None)

    def slowest(self) -> datetime | None:
        values = [v for v in (self.current(p) for p in list(self._origins)) if v is not None]
        return min(values) if values else None
