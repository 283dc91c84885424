"""Event-time watermark: how far the stream has progressed, so windows and deadlines can close.

The watermark is the largest event time seen minus the allowed lateness. When no input has
arrived for `idle_after`, the wall clock stands in for the stream's progress, so a quiet night
still closes windows and fires deadlines (the same idea as Flink's source idleness).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


class Watermark:
    def __init__(
        self,
        lateness: timedelta,
        idle_after: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.lateness = lateness
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
        idle = now - self._last_input >= self.idle_after
        if idle:
            progress = now if progress is None else max(progress, now)
        if progress is None:
            return None
        candidate = progress - self.lateness
        if self._current is None or candidate > self._current:
            self._current = candidate
        return self._current

    def is_late(self, event_time: datetime) -> bool:
        wm = self.current()
        return wm is not None and event_time < wm


class PartitionWatermarks:
    """One watermark per input partition, as Kafka Streams keeps stream time per task.

    A worker reading several partitions at different speeds (catching up after a restart, say)
    must not call one partition's events late because another partition is ahead. A key's state
    lives in exactly one partition, so that partition's watermark is the one that governs it.
    """

    def __init__(
        self,
        lateness: timedelta,
        idle_after: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._lateness = lateness
        self._idle_after = idle_after
        self._clock = clock
        self._by_partition: dict[int, Watermark] = {}

    def __getitem__(self, partition: int) -> Watermark:
        wm = self._by_partition.get(partition)
        if wm is None:
            wm = Watermark(self._lateness, self._idle_after, self._clock)
            self._by_partition[partition] = wm
        return wm

    def slowest(self) -> datetime | None:
        """The least advanced watermark: safe for decisions that span partitions."""
        values = [v for v in (w.current() for w in self._by_partition.values()) if v is not None]
        return min(values) if values else None


class ShuffleWatermarks:
    """Watermarks downstream of the re-keying topic, propagated the way Flink does it.

    Each forwarded copy carries its origin partition's watermark. A re-keyed partition's
    watermark is the minimum over the origins that spoke recently, so a copy from a slow origin
    (a worker catching up) is never judged late against a faster one. Copies from one origin
    arrive in order, so a copy that was on time at its origin is on time here too. Origins
    silent for `idle_after` stop holding time back, as idle partitions do upstream.
    """

    def __init__(
        self,
        lateness: timedelta,
        idle_after: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._lateness = lateness
        self._idle_after = idle_after
        self._clock = clock
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
        live = [wm for wm, seen in origins.values() if now - seen < self._idle_after]
        if live:
            candidate = min(live)
        elif origins:
            # Every origin is quiet: the wall clock stands in, as for an idle partition upstream.
            candidate = max(*(wm for wm, _ in origins.values()), now - self._lateness)
        else:
            return self._current.get(partition)
        best = self._current.get(partition)
        if best is None or candidate > best:
            self._current[partition] = best = candidate
        return best

    def slowest(self) -> datetime | None:
        values = [v for v in (self.current(p) for p in list(self._origins)) if v is not None]
        return min(values) if values else None
