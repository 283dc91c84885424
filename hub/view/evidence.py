"""Evidence events kept for the alert detail view, bounded so memory cannot grow with the city.

An alert lists its evidence by CloudEvent id. The events usually arrive before the alert that
cites them, but while topics replay at start-up the order between topics is arbitrary, so ids
cited before their event arrives are remembered as wanted. Three LRUs of the same capacity:
recent events (any), kept events (cited), wanted ids (cited, not seen yet).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from hub.events import Event
from hub.events.fields import format_rfc3339

EvidenceRecord = dict[str, Any]


def record_of(event: Event, *, topic: str) -> EvidenceRecord:
    """What the timeline shows of an event: its envelope attributes and data, as JSON."""
    env = event.envelope
    return {
        "id": env.id,
        "source": env.source,
        "type": env.type,
        "time": format_rfc3339(event.event_time),
        "district": event.district,
        "subject": env.subject,
        "topic": topic,
        "data": event.data.model_dump(mode="json"),
    }


class _Lru(OrderedDict[str, Any]):
    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


class EvidenceIndex:
    """Event records by CloudEvent id; cited ones are kept apart from the churn of the rest."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._recent = _Lru(capacity)
        self._kept = _Lru(capacity)
        self._wanted = _Lru(capacity)

    def __len__(self) -> int:
        return len(self._recent) + len(self._kept)

    def add(self, record: EvidenceRecord) -> None:
        event_id = str(record["id"])
        if event_id in self._wanted:
            del self._wanted[event_id]
            self._kept.put(event_id, record)
        elif event_id in self._kept:
            self._kept.put(event_id, record)
        else:
            self._recent.put(event_id, record)

    def cite(self, ids: Iterable[str]) -> None:
        """An alert cites these ids: keep what we have, remember what is still missing."""
        for event_id in ids:
            if event_id in self._kept:
                self._kept.move_to_end(event_id)
            elif event_id in self._recent:
                self._kept.put(event_id, self._recent.pop(event_id))
            else:
                self._wanted.put(event_id, None)

    def get(self, event_id: str) -> EvidenceRecord | None:
        found = self._kept.get(event_id)
        if found is None:
            found = self._recent.get(event_id)
        return found

    def timeline(self, ids: Iterable[str]) -> tuple[list[EvidenceRecord], list[str]]:
        """The cited events in event-time order, and the ids no longer (or not yet) held."""
        found: list[EvidenceRecord] = []
        missing: list[str] = []
        for event_id in ids:
            record = self.get(event_id)
            if record is None:
                missing.append(event_id)
            else:
                found.append(record)
        found.sort(key=lambda r: (str(r["time"]), str(r["id"])))
        return found, missing
