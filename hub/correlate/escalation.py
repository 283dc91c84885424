"""Escalation clauses, compiled once and shared by every rule kind.

`any` clauses raise the severity when some contributing event meets them; `event` clauses
raise an open alert when another event with the same key meets them while it is open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hub.alerts.model import AlertChange, Severity
from hub.correlate.episode import Episode, escalate
from hub.correlate.fact import Fact
from hub.correlate.spec import _Rule


class Escalations:
    def __init__(self, rule: _Rule) -> None:
        self.base = rule.severity
        self.evidence: list[tuple[Severity, list[tuple[str, Callable[[Any], bool]]]]] = [
            (e.severity, [(p, c.compile()) for p, c in e.any.items()])
            for e in rule.escalate
            if e.any
        ]
        self.events: list[tuple[Severity, Callable[[Fact], bool]]] = [
            (e.severity, e.event.compile()) for e in rule.escalate if e.event is not None
        ]

    def severity_for(self, facts: Iterable[Fact]) -> Severity:
        """The base severity, raised by every `any` clause some fact meets."""
        facts = list(facts)
        severity = self.base
        for candidate, tests in self.evidence:
            hit = any(all(test(f.get(path)) for path, test in tests) for f in facts)
            if hit and candidate.rank > severity.rank:
                severity = candidate
        return severity

    def takes(self, fact: Fact) -> bool:
        """Whether `fact` meets any `event` clause (so the rule must see it)."""
        return any(test(fact) for _, test in self.events)

    def raise_open(self, episode: Episode, fact: Fact) -> list[AlertChange]:
        """Raise the open episode for every `event` clause `fact` meets."""
        changes = []
        for severity, test in self.events:
            if test(fact):
                change = escalate(episode, severity, fact)
                if change is not None:
                    changes.append(change)
        return changes
