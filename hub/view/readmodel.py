"""The control view's state: every alert folded from the alerts topic, and a change log.

The alerts topic is the event-sourced record of every alert, so the view keeps no store of its
own: at start-up it replays the topic from the beginning through
`hub.alerts.lifecycle.fold` (the same function the worker's lifecycle agent uses), which is why
a restarted view shows the same states as before. Each applied change gets a sequence number
in a bounded in-memory log; the SSE stream resumes from it. The sequence restarts with the
process, so cursors carry the process's epoch and a cursor from another epoch means "reload".

Memory levels off: a resolved alert is dropped `resolved_retention` after the record that
resolved it was written (its Kafka timestamp, so a replay drops long-resolved alerts at once),
unless it is an Extreme or Severe alert nobody acknowledged yet (it stays on the wall until
someone has seen it), and a correlator change for an alert no longer held, other than
`firing`, is ignored rather than shown as a half-known alert (the worker's lifecycle agent
decides the same).

Pure and synchronous: the Kafka edge (`hub.view.feed`) hands records in, tests can too.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from hub.alerts.lifecycle import LIFECYCLE_SOURCE, fold, needs_acknowledgement
from hub.alerts.model import KIND_OF_TYPE, Alert
from hub.clock import Clock, utcnow
from hub.correlate.wakes import WakeIndex
from hub.events import DEFAULT_TIME_RANGE, EventRejected, TimeRange, parse_record
from hub.view.citymap import CityGrid
from hub.view.evidence import EvidenceIndex, record_of
from hub.view.sla import DEFAULT_DEADLINE, DEFAULT_TARGET, DEFAULT_WINDOW, SlaBook

Headers = Sequence[tuple[str, bytes | None]]
DEFAULT_RING = 10_000
SEEN_IDS = 100_000
DEFAULT_RETENTION = timedelta(hours=6)
RESOLVED = "resolved"  # the name of the forgetting schedule in the WakeIndex


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """One applied change: what happened (kind), to which alert state, when we learnt of it,
    and when the hub first wrote the alert (its first record's Kafka timestamp): ages count
    from that, since event times come from devices whose clocks may run ahead."""

    seq: int
    kind: str
    alert: Alert
    received_at: datetime
    first_seen_at: datetime


@dataclass(frozen=True, slots=True)
class Cursor:
    epoch: str
    seq: int

    def __str__(self) -> str:
        return f"{self.epoch}-{self.seq}"

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        epoch, sep, seq = text.strip().rpartition("-")
        if not sep or not epoch or not seq.isdigit() or len(seq) > 18:
            return None
        return cls(epoch, int(seq))


class ReadModel:
    def __init__(
        self,
        *,
        ring_size: int = DEFAULT_RING,
        evidence_capacity: int = 100_000,
        sla_window: timedelta = DEFAULT_WINDOW,
        sla_deadline: timedelta = DEFAULT_DEADLINE,
        sla_target: float = DEFAULT_TARGET,
        max_event_bytes: int = 65536,
        time_range: TimeRange = DEFAULT_TIME_RANGE,
        resolved_retention: timedelta = DEFAULT_RETENTION,
        clock: Clock = utcnow,
    ) -> None:
        self.epoch = secrets.token_hex(4)
        self.alerts: dict[str, Alert] = {}
        self.last_entry: dict[str, AppliedChange] = {}
        self.evidence = EvidenceIndex(evidence_capacity)
        self.sla = SlaBook(window=sla_window, deadline=sla_deadline, target=sla_target)
        self.city = CityGrid()
        self.clock = clock
        self.max_event_bytes = max_event_bytes
        self.time_range = time_range
        self.seq = 0
        self._ring: deque[AppliedChange] = deque(maxlen=ring_size)
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._changed: asyncio.Event | None = None  # made by the first waiter
        self.skipped_records = 0
        self.ignored_late = 0  # changes for alerts no longer held (see the module's docstring)
        self.resolved_retention = resolved_retention
        self._forget = WakeIndex()
        self.first_seen: dict[str, datetime] = {}

    # --- input ------------------------------------------------------------------------------

    def apply_alert_record(
        self, raw: bytes | None, timestamp_ms: int | None = None
    ) -> AppliedChange | None:
        """Fold one record of the alerts topic; None when it is not a (new) alert change.

        `timestamp_ms` is the record's Kafka timestamp: when the change was written."""
        if not raw:
            return None
        try:
            obj = orjson.loads(raw)
            kind = KIND_OF_TYPE[obj["type"]]
            source = str(obj["source"])
            ce_id = str(obj["id"])
            incoming = Alert.model_validate(obj["data"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValidationError):
            self.skipped_records += 1
            return None
        if (source, ce_id) in self._seen:
            return None  # the same change emitted twice (a producer retry, a worker restart)
        self._seen[(source, ce_id)] = None
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)
        current = self.alerts.get(incoming.alert_id)
        if current is None and source != LIFECYCLE_SOURCE and kind != "firing":
            self.ignored_late += 1
            return None
        alert = fold(current, kind, incoming, source=source)
        written = datetime.fromtimestamp(timestamp_ms / 1000, UTC) if timestamp_ms else self.clock()
        self.first_seen.setdefault(alert.alert_id, written)
        entry = self._record(kind, alert)
        self._schedule_forgetting(alert, written)
        return entry

    def _schedule_forgetting(self, alert: Alert, written: datetime) -> None:
        """Note when a resolved alert expires, then drop every alert whose time has come."""
        if alert.status != "resolved" or needs_acknowledgement(alert):
            self._forget.schedule(RESOLVED, alert.alert_id, None)
        elif self._forget.wake_of(RESOLVED, alert.alert_id) is None:
            self._forget.schedule(RESOLVED, alert.alert_id, written + self.resolved_retention)
        for alert_id in self._forget.due(RESOLVED, self.clock()):
            self.alerts.pop(alert_id, None)
            self.last_entry.pop(alert_id, None)
            self.first_seen.pop(alert_id, None)
            self._forget.schedule(RESOLVED, alert_id, None)

    def _record(self, kind: str, alert: Alert) -> AppliedChange:
        self.alerts[alert.alert_id] = alert
        self.evidence.cite(alert.evidence)
        self.seq += 1
        now = self.clock()
        entry = AppliedChange(
            self.seq, kind, alert, now, self.first_seen.setdefault(alert.alert_id, now)
        )
        self._ring.append(entry)
        self.last_entry[alert.alert_id] = entry
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()
        return entry

    def apply_event_record(self, value: bytes | None, headers: Headers | None, topic: str) -> None:
        """Index one record of an events topic: evidence, the city's extent, SLA statistics."""
        try:
            event = parse_record(
                value, headers, max_bytes=self.max_event_bytes, time_range=self.time_range
            )
        except EventRejected:
            self.skipped_records += 1
            return
        self.evidence.add(record_of(event, topic=topic))
        loc = event.location
        if loc is not None:
            self.city.observe(loc.lat, loc.lon, event.district)
        if event.domain == "service":
            self.sla.observe(event)

    # --- change log -------------------------------------------------------------------------

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.epoch, self.seq)

    def entries_after(self, seq: int) -> list[AppliedChange] | None:
        """Changes after `seq`, or None when the ring no longer reaches back that far."""
        if seq > self.seq or seq < 0:
            return None
        if seq == self.seq:
            return []
        oldest = self._ring[0].seq if self._ring else self.seq + 1
        if seq + 1 < oldest:
            return None
        return [e for e in self._ring if e.seq > seq]

    async def wait_for_change(self, seq: int, timeout: float) -> bool:
        """Wait until a change after `seq` exists (True) or the timeout passes (False)."""
        if self.seq > seq:
            return True
        if self._changed is None:
            self._changed = asyncio.Event()
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except TimeoutError:
            return self.seq > seq
        return True

    # --- queries ----------------------------------------------------------------------------

    def select(
        self,
        visible: Callable[[Alert], bool],
        *,
        status: Iterable[str] = (),
        severity: Iterable[str] = (),
        category: str | None = None,
        district: str | None = None,
        department: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
    ) -> list[Alert]:
        statuses, severities = set(status), set(severity)
        needle = text.casefold().strip() if text else ""
        out = []
        for a in self.alerts.values():
            if not visible(a):
                continue
            if statuses and a.status not in statuses:
                continue
            if severities and a.severity.value not in severities:
                continue
            if category and a.category != category:
                continue
            if district and a.district != district:
                continue
            if department and department not in a.departments:
                continue
            if since and a.last_event_time < since:
                continue
            if until and a.first_event_time > until:
                continue
            if needle and needle not in _haystack(a):
                continue
            out.append(a)
        return out

    def facets(self, visible: Callable[[Alert], bool]) -> dict[str, Any]:
        """Open-alert counters by severity and the values the filters can take."""
        counts = {"Extreme": 0, "Severe": 0, "Moderate": 0, "Minor": 0}
        districts, departments, categories = set(), set(), set()
        for a in self.alerts.values():
            if not visible(a):
                continue
            if a.status != "resolved":
                counts[a.severity.value] += 1
            if a.district:
                districts.add(a.district)
            departments.update(a.departments)
            categories.add(a.category)
        return {
            "open_by_severity": counts,
            "districts": sorted(districts),
            "departments": sorted(departments),
            "categories": sorted(categories),
        }


def _haystack(a: Alert) -> str:
    parts = [a.alert_id, a.rule, a.headline, a.key, a.category, a.district or "", *a.departments]
    return " ".join(parts).casefold()
