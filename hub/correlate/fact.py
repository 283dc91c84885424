"""A fact: what rules keep of an event. Small, JSON-able, independent of the event model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.events import Event

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Fact:
    uid: str  # source + "\x1f" + id: the identity used for de-duplication
    id: str  # the CloudEvent id, listed as evidence
    type: str
    time: datetime
    data: dict[str, Any]
    district: str | None = None

    @classmethod
    def of(cls, event: Event) -> Fact:
        env = event.envelope
        return cls(
            uid=f"{env.source}\x1f{env.id}",
            id=env.id,
            type=env.type,
            time=event.event_time,
            data=event.data.model_dump(mode="json", exclude_none=True),
            district=env.district,
        )

    def get(self, path: str, default: Any = None) -> Any:
        """A dotted path into `data` ("location.lat"), or the envelope's `district` / `type`."""
        if path == "district":
            return self.district
        if path == "type":
            return self.type
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict):
                return default
            node = node.get(part, _MISSING)
            if node is _MISSING:
                return default
        return node

    @property
    def point(self) -> tuple[float, float] | None:
        loc = self.data.get("location")
        if isinstance(loc, dict) and "lat" in loc and "lon" in loc:
            return float(loc["lat"]), float(loc["lon"])
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "id": self.id,
            "type": self.type,
            "time": self.time.isoformat(),
            "data": self.data,
            "district": self.district,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Fact:
        return cls(
            uid=obj["uid"],
            id=obj["id"],
            type=obj["type"],
            time=datetime.fromisoformat(obj["time"]),
            data=obj["data"],
            district=obj.get("district"),
        )
