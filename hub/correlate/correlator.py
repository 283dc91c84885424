"""Runs a rule pack's engines over facts, against any state store.

The same core drives the Faust worker (state in changelogged tables), `onenet rules test`
and the benchmarks (state in a dict), so what the rule tests prove is what production runs.
Every state it writes is entered in a time-ordered index by the engine's `wake`, so finding
what is due costs what is due, not what is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Protocol

from hub.alerts.model import AlertChange
from hub.correlate.engine import Engine, Outcome, Route, State
from hub.correlate.fact import Fact
from hub.correlate.pack import engine_for
from hub.correlate.spec import RulePack
from hub.correlate.text import AlertText
from hub.correlate.wakes import WakeIndex


class StateStore(Protocol):
    def get(self, rule: str, key: str) -> State | None: ...

    def put(self, rule: str, key: str, state: State | None) -> None:
        """Store the state; None deletes the key."""
        ...

    def keys(self, rule: str) -> Iterator[str]: ...


class MemoryStore:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, State]] = {}

    def get(self, rule: str, key: str) -> State | None:
        return self._data.get(rule, {}).get(key)

    def put(self, rule: str, key: str, state: State | None) -> None:
        table = self._data.setdefault(rule, {})
        if state is None:
            table.pop(key, None)
        else:
            table[key] = state

    def keys(self, rule: str) -> Iterator[str]:
        return iter(list(self._data.get(rule, {})))

    def size(self, rule: str) -> int:
        return len(self._data.get(rule, {}))


class Correlator:
    def __init__(self, pack: RulePack, store: StateStore, text: AlertText | None = None) -> None:
        self.pack = pack
        self.store = store
        self.engines: dict[str, Engine] = {
            r.name: engine_for(r, text) for r in pack.rules if r.enabled
        }
        # Most events concern few rules: ask only the engines that take the event's type.
        self._by_type: dict[str, list[tuple[str, Engine]]] = {}
        for rule in pack.rules:
            if rule.enabled:
                for t in rule.event_types():
                    self._by_type.setdefault(t, []).append((rule.name, self.engines[rule.name]))
        self.wakes = WakeIndex()
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the wake index from the store: once at start, and whenever the store was
        filled behind the correlator's back (table partitions recovered from changelogs)."""
        self.wakes.clear()
        for name, engine in self.engines.items():
            for key in self.store.keys(name):
                state = self.store.get(name, key)
                if state is not None:
                    self.wakes.schedule(name, key, engine.wake(state))

    def _put(self, rule: str, key: str, state: State | None) -> None:
        self.store.put(rule, key, state)
        self.wakes.schedule(rule, key, None if state is None else self.engines[rule].wake(state))

    def routes(self, fact: Fact) -> list[tuple[str, Route]]:
        return [
            (name, route)
            for name, engine in self._by_type.get(fact.type, ())
            for route in engine.routes(fact)
        ]

    def observe(
        self, rule: str, fact: Fact, route: Route, watermark: datetime
    ) -> tuple[Outcome, list[AlertChange]]:
        before = self.store.get(rule, route.key)
        step = self.engines[rule].observe(before, fact, route, watermark)
        if step.state is not before or step.changes:
            self._put(rule, route.key, step.state)
        return step.outcome, step.changes

    def advance(self, rule: str, key: str, watermark: datetime) -> list[AlertChange]:
        state = self.store.get(rule, key)
        if state is None:
            return []
        step = self.engines[rule].advance(state, key, watermark)
        self._put(rule, key, step.state)
        return step.changes

    def due(self, watermark: datetime | Callable[[str], datetime | None]) -> list[tuple[str, str]]:
        """(rule, key) pairs whose state would change if time advanced to `watermark`, earliest
        wake first within a rule.

        `watermark` may be a function of the rule name, for rules that run on different clocks.
        A list, not a generator: callers await between items while agents update the index.
        """
        pairs: list[tuple[str, str]] = []
        for name in self.engines:
            wm = watermark(name) if callable(watermark) else watermark
            if wm is None:
                continue
            for key in self.wakes.due(name, wm):
                if self.store.get(name, key) is None:
                    self.wakes.schedule(name, key, None)  # gone with a revoked partition
                else:
                    pairs.append((name, key))
        return pairs

    def advance_all(self, watermark: datetime) -> list[AlertChange]:
        changes: list[AlertChange] = []
        for rule, key in list(self.due(watermark)):
            changes += self.advance(rule, key, watermark)
        return changes
