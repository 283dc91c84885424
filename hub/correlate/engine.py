"""The contract between rule kinds and the stream layer.

An engine is pure: it gets a key's state (a JSON-able dict, or None), a fact and the
watermark, and returns the new state (None to delete the key) and the alert changes. The
stream layer keeps the state in a changelogged table and routes facts to the keys `routes`
names, through a re-keying topic when the key differs from the record's Kafka key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from hub.alerts.model import AlertChange
from hub.correlate.fact import Fact
from hub.correlate.spec import _Rule

#: what an engine did with a fact: counted it, found it a re-sent duplicate, found it too late
#: to change anything (the stream dead-letters it as `late-event`), or had no use for it
Outcome = Literal["counted", "duplicate", "late", "filtered"]

State = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Route:
    key: str
    #: False for copies sent to neighbouring cells (co-location); they match, but never anchor
    home: bool = True


@dataclass(slots=True)
class Step:
    state: State | None
    changes: list[AlertChange] = field(default_factory=list)
    outcome: Outcome = "counted"


class Engine(Protocol):
    @property
    def rule(self) -> _Rule: ...

    def routes(self, fact: Fact) -> list[Route]:
        """The keys whose state this fact can change; empty when the rule has no use for it."""
        ...

    def observe(
        self, state: State | None, fact: Fact, route: Route, watermark: datetime
    ) -> Step: ...

    def advance(self, state: State | None, key: str, watermark: datetime) -> Step:
        """Let time pass: expire what no window can use, close quiet episodes, fire deadlines."""
        ...

    def wake(self, state: State) -> datetime | None:
        """The earliest time after which `advance` would change anything; None: never.
        The correlator keeps states in a time-ordered index by it."""
        ...

    def due(self, state: State, watermark: datetime) -> bool:
        """Whether `advance` at this watermark would change anything: `wake` < `watermark`."""
        ...
