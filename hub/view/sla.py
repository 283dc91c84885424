"""Per-department SLA compliance over a rolling window, for the red/black list.

A service request is judged once it is closed, or once it has stayed open past the deadline
(72 h): compliance = closed within the deadline / (closed + open past the deadline). Requests
still open and younger than the deadline are pending: they count for nobody yet. The window
selects requests by when they were opened, so a department's score moves as old requests
leave it. "Now" is the wall clock, or the newest service event's time when that is ahead.

The red list (红榜) holds the departments at or above the target compliance, the black list
(黑榜) those below it, so a department at 100 % is never on the black list; each carries its
trend against the window before (requests of two windows are kept for that).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from hub.events import Event, ServiceRequestClosed, ServiceRequestOpened

DEFAULT_DEADLINE = timedelta(hours=72)
DEFAULT_WINDOW = timedelta(days=30)
DEFAULT_TARGET = 0.9
MAX_TRACKED = 500_000


@dataclass(slots=True)
class _Request:
    department: str
    opened_at: datetime
    closed_at: datetime | None = None


class DepartmentScore(BaseModel):
    department: str
    compliance: float | None  # None: nothing judged in the window yet
    closed_on_time: int
    closed_late: int
    open_overdue: int
    open_pending: int
    previous: float | None = None  # compliance over the window before; None: nothing judged
    trend: float | None = None  # compliance - previous, when both are known


class Ranking(BaseModel):
    """Red list: the best departments; black list: the worst (judged departments only)."""

    window_days: float
    deadline_hours: float
    target: float
    computed_at: datetime
    red: list[DepartmentScore]
    black: list[DepartmentScore]
    departments: list[DepartmentScore]


class SlaBook:
    def __init__(
        self,
        *,
        window: timedelta = DEFAULT_WINDOW,
        deadline: timedelta = DEFAULT_DEADLINE,
        max_tracked: int = MAX_TRACKED,
        target: float = DEFAULT_TARGET,
    ) -> None:
        self.target = target
        self.window = window
        self.deadline = deadline
        self.max_tracked = max_tracked
        self._requests: dict[str, _Request] = {}
        self._early_closes: dict[str, datetime] = {}
        self.newest: datetime | None = None

    def clock(self, wall: datetime) -> datetime:
        """Now for the window: the wall clock, or the stream's event time when it is ahead
        (a replayed or time-scaled feed), as the correlation rules' watermark does."""
        return max(wall, self.newest) if self.newest else wall

    def __len__(self) -> int:
        return len(self._requests)

    def observe(self, event: Event) -> None:
        data = event.data
        if self.newest is None or event.event_time > self.newest:
            self.newest = event.event_time
        if isinstance(data, ServiceRequestOpened):
            closed = self._early_closes.pop(data.request_id, None)
            self._requests[data.request_id] = _Request(data.department, event.event_time, closed)
            if len(self._requests) > self.max_tracked:
                del self._requests[next(iter(self._requests))]
        elif isinstance(data, ServiceRequestClosed):
            known = self._requests.get(data.request_id)
            if known is None:
                # closing seen before its opening (replay across partitions); bounded memory
                self._early_closes[data.request_id] = event.event_time
                if len(self._early_closes) > self.max_tracked:
                    del self._early_closes[next(iter(self._early_closes))]
            elif known.closed_at is None:
                known.closed_at = event.event_time

    def prune(self, now: datetime) -> None:
        """Forget requests opened before the previous window: they can no longer count."""
        start = now - 2 * self.window
        stale = [rid for rid, r in self._requests.items() if r.opened_at < start]
        for rid in stale:
            del self._requests[rid]

    def scores(self, now: datetime) -> list[DepartmentScore]:
        start = now - self.window
        tally: dict[str, list[int]] = {}
        for r in self._requests.values():
            if r.opened_at < start or r.opened_at > now:
                continue
            t = tally.setdefault(r.department, [0, 0, 0, 0])
            due = r.opened_at + self.deadline
            if r.closed_at is not None and r.closed_at <= now:
                t[0 if r.closed_at <= due else 1] += 1
            elif now > due:
                t[2] += 1
            else:
                t[3] += 1
        out = []
        for dept, (on_time, late, overdue, pending) in tally.items():
            judged = on_time + late + overdue
            out.append(
                DepartmentScore(
                    department=dept,
                    compliance=round(on_time / judged, 4) if judged else None,
                    closed_on_time=on_time,
                    closed_late=late,
                    open_overdue=overdue,
                    open_pending=pending,
                )
            )
        return out

    def ranking(self, now: datetime, *, size: int = 3) -> Ranking:
        scores = self.scores(now)
        before = {s.department: s.compliance for s in self.scores(now - self.window)}
        for s in scores:
            s.previous = before.get(s.department)
            if s.compliance is not None and s.previous is not None:
                s.trend = round(s.compliance - s.previous, 4)
        judged = [s for s in scores if s.compliance is not None]

        def judged_count(s: DepartmentScore) -> int:
            return s.closed_on_time + s.closed_late + s.open_overdue

        best = sorted(
            judged, key=lambda s: (-(s.compliance or 0.0), -judged_count(s), s.department)
        )
        red = [s for s in best if (s.compliance or 0.0) >= self.target][:size]
        worst = sorted(judged, key=lambda s: (s.compliance or 0.0, -judged_count(s), s.department))
        black = [s for s in worst if (s.compliance or 0.0) < self.target][:size]
        rest = sorted((s for s in scores if s.compliance is None), key=lambda s: s.department)
        return Ranking(
            window_days=self.window.total_seconds() / 86400,
            deadline_hours=self.deadline.total_seconds() / 3600,
            target=self.target,
            computed_at=now,
            red=red,
            black=black,
            departments=best + rest,
        )
