"""Rule state in Faust tables: one changelogged table per rule, keyed by the rule's key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hub.correlate.engine import State


class TableStore:
    def __init__(self, tables: dict[str, Any]) -> None:
        self.tables = tables

    def get(self, rule: str, key: str) -> State | None:
        value = self.tables[rule].get(key)
        return value if isinstance(value, dict) else None

    def put(self, rule: str, key: str, state: State | None) -> None:
        table = self.tables[rule]
        if state is None:
            if key in table:
                del table[key]
        else:
            table[key] = state

    def keys(self, rule: str) -> Iterator[str]:
        return iter(list(self.tables[rule].keys()))

    def size(self, rule: str) -> int:
        return len(self.tables[rule])
