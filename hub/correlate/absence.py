"""Absence rules: an expected event missing by a deadline that the starting event sets.

A `start` event (an inspection scheduled, a request opened) opens a *wait* for its subject (the
values of `match_on`; the whole key when `match_on` is empty) under the rule's key. Its deadline
is the start's `deadline.field` time (its own event time when the rule names none, or the field
is missing) plus `deadline.plus`. Semantics, all in event time:

- An `expect` event answers the latest start of its subject whose event time is at or before
  its own (an expect older than the start belongs to an earlier schedule).
- The outcome is decided when the watermark passes the deadline (strictly later): answered at or
  before the deadline -> no alert; not answered -> the alert fires (evidence: the start event,
  id anchored on its time); answered *after* the deadline -> the alert fires and is resolved at
  once. So "completed 1 s late" is a breach however fast the completion travelled; only the
  event times decide, never the arrival order within the allowed lateness.
- An alert that fired stays open until an expect event at or after its start arrives, however
  late: that event resolves it (and is never `late`).
- `event:` escalation clauses raise an open alert's severity when a matching event at the key
  has an event time after the deadline (while overdue). One that arrives before the watermark
  passed the deadline is remembered and applied right after the alert fires; one with an event
  time at or before the deadline, or after the completion, changes nothing.
- A start with a different id replaces its subject's wait (a re-schedule), unless it is older
  than the wait's start. An alert that already fired stays open: re-scheduling does not complete
  an inspection. If the new wait also runs out, the open alert is updated with its start.
- Expect events are remembered until the watermark passes their time + `deadline.plus`, so a
  start that arrives after its own completion (out of order) is recognised as answered. For
  rules whose deadline is the start's own time + plus, this is exact: any start such an expect
  could answer would be too late to accept after that.
- A start whose event time is before the watermark is accepted while its deadline is not yet
  passed (it can still be judged exactly); otherwise it is `late`.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from hub.alerts.model import AlertChange, Severity
from hub.correlate.engine import Outcome, Route, State, Step
from hub.correlate.episode import Episode, escalate, open_or_extend, resolve
from hub.correlate.escalation import Escalations
from hub.correlate.fact import Fact
from hub.correlate.spec import AbsenceRule
from hub.correlate.text import AlertText
from hub.events.fields import format_rfc3339, parse_rfc3339, shift


class Raise(BaseModel):
    """An escalation event seen while overdue, before the watermark let the alert fire."""

    severity: Severity
    time: datetime
    fact: dict[str, Any]


class Wait(BaseModel):
    start: dict[str, Any]  # the start event (Fact JSON)
    time: datetime  # its event time
    deadline: datetime
    #: earliest expect event at or after the start; decides the outcome at the deadline
    answered: datetime | None = None
    raises: list[Raise] = Field(default_factory=list)


class Done(BaseModel):
    """An expect event, kept for de-duplication and for starts that arrive after it."""

    uid: str
    time: datetime


class Subject(BaseModel):
    wait: Wait | None = None
    episode: Episode | None = None  # the open (fired, unresolved) alert
    done: list[Done] = Field(default_factory=list)

    def empty(self) -> bool:
        return self.wait is None and self.episode is None and not self.done


class AbsenceState(BaseModel):
    subjects: dict[str, Subject] = Field(default_factory=dict)
    #: the earliest time whose passing lets `advance` change something: `due` reads only this
    wake: datetime | None = None


class AbsenceEngine:
    def __init__(self, rule: AbsenceRule, text: AlertText | None = None) -> None:
        self.rule = rule
        self.text = text
        self._start = rule.start.compile()
        self._expect = rule.expect.compile()
        self._esc = Escalations(rule)
        self._event_escalations = self._esc.events
        self._plus = rule.deadline.plus

    # --- routing -------------------------------------------------------------------------------

    def key_of(self, fact: Fact) -> str | None:
        return _scalar(fact.get(self.rule.key))

    def subject_of(self, fact: Fact) -> str | None:
        """The `match_on` values joined by "|"; "" when the rule has none (one per key)."""
        parts = []
        for name in self.rule.match_on:
            value = _scalar(fact.get(name))
            if value is None:
                return None
            parts.append(value)
        return "|".join(parts)

    def routes(self, fact: Fact) -> list[Route]:
        if (
            self._start(fact)
            or self._expect(fact)
            or any(test(fact) for _, test in self._event_escalations)
        ):
            key = self.key_of(fact)
            if key is not None:
                return [Route(key)]
        return []

    def deadline_of(self, fact: Fact) -> datetime:
        base = fact.time
        if self.rule.deadline.field:
            # The event schemas require the field; fall back rather than lose the wait.
            with suppress(ValueError):
                base = parse_rfc3339(fact.get(self.rule.deadline.field))
        return shift(base, self._plus)

    # --- time ----------------------------------------------------------------------------------

    def wake(self, raw: State) -> datetime | None:
        wake = raw.get("wake")
        return None if wake is None else datetime.fromisoformat(wake)

    def due(self, raw: State, watermark: datetime) -> bool:
        wake = self.wake(raw)
        return wake is not None and wake < watermark

    def _wake(self, state: AbsenceState) -> datetime | None:
        times = []
        for s in state.subjects.values():
            if s.wait is not None:
                times.append(s.wait.deadline)
            times += [shift(d.time, self._plus) for d in s.done]
        return min(times, default=None)

    def advance(self, raw: State | None, key: str, watermark: datetime) -> Step:
        state = AbsenceState.model_validate(raw or {})
        changes = self._advance(state, key, watermark)
        return Step(self._dump(state), changes)

    def _advance(self, state: AbsenceState, key: str, watermark: datetime) -> list[AlertChange]:
        changes: list[AlertChange] = []
        for subject, s in list(state.subjects.items()):
            w = s.wait
            if w is not None and w.deadline < watermark:
                # Strict: an expect event exactly at the deadline can still arrive on time.
                if w.answered is None or w.answered > w.deadline:
                    changes += self._fire(s, w, key, subject)
                # Decided. A re-sent copy of the start is now late (time and deadline are both
                # before the watermark), so nothing needs to remember it.
                s.wait = None
            s.done = [d for d in s.done if shift(d.time, self._plus) >= watermark]
            if s.empty():
                del state.subjects[subject]
        return changes

    def _fire(self, s: Subject, w: Wait, key: str, subject: str) -> list[AlertChange]:
        start = Fact.from_json(w.start)
        # "Overdue since" the first deadline that ran out, also when a re-schedule ran out too.
        since = format_rfc3339(w.deadline) if s.episode is None else s.episode.values["deadline"]
        # `key` in the headline is the rule's key (the site), not the per-subject alert key.
        fields = {"key": key, "deadline": parse_rfc3339(since), "subject": subject or key}
        alert_key = self._alert_key(key, subject)
        severity = self._esc.severity_for([start])
        episode, change = open_or_extend(
            self.rule, s.episode, alert_key, [start], severity, fields, text=self.text
        )
        episode.values.setdefault("deadline", since)
        s.episode = episode
        out = [change] if change is not None else []
        for r in w.raises:
            if w.answered is None or r.time < w.answered:
                raised = escalate(episode, r.severity, Fact.from_json(r.fact))
                if raised is not None:
                    out.append(raised)
        if w.answered is not None:
            out.append(resolve(episode, at=w.answered))
            s.episode = None
        return out

    # --- events --------------------------------------------------------------------------------

    def observe(self, raw: State | None, fact: Fact, route: Route, watermark: datetime) -> Step:
        # Time first, so the result never depends on when the timer last ran. Anything but
        # `counted` returns the state untouched: the timer's advance reaches the same place.
        state = AbsenceState.model_validate(raw or {})
        changes = self._advance(state, route.key, watermark)
        if self._start(fact):
            outcome, more = self._on_start(state, fact, route.key, watermark)
        elif self._expect(fact):
            outcome, more = self._on_expect(state, fact, watermark)
        else:
            outcome, more = self._on_escalation(state, fact)
        if outcome != "counted":
            return Step(raw, outcome=outcome)
        return Step(self._dump(state), changes + more)

    def _on_start(
        self, state: AbsenceState, fact: Fact, key: str, watermark: datetime
    ) -> tuple[Outcome, list[AlertChange]]:
        subject = self.subject_of(fact)
        if subject is None:
            return "filtered", []
        deadline = self.deadline_of(fact)
        if fact.time < watermark and deadline < watermark:
            return "late", []
        s = state.subjects.setdefault(subject, Subject())
        w = s.wait
        if w is not None:
            if w.start["uid"] == fact.uid:
                return "duplicate", []
            if fact.time < w.time:
                return "filtered", []  # superseded by the newer schedule already waiting
        answers = [d.time for d in s.done if d.time >= fact.time]
        s.wait = Wait(
            start=fact.to_json(),
            time=fact.time,
            deadline=deadline,
            answered=min(answers) if answers else None,
        )
        # A start whose deadline is already behind the watermark is decided at once.
        return "counted", self._advance(state, key, watermark)

    def _on_expect(
        self, state: AbsenceState, fact: Fact, watermark: datetime
    ) -> tuple[Outcome, list[AlertChange]]:
        subject = self.subject_of(fact)
        if subject is None:
            return "filtered", []
        s = state.subjects.get(subject)
        if s is None:
            s = Subject()
        if any(d.uid == fact.uid for d in s.done):
            return "duplicate", []
        changes: list[AlertChange] = []
        if s.episode is not None and fact.time >= s.episode.alert.first_event_time:
            changes.append(resolve(s.episode, at=fact.time))
            s.episode = None
        w = s.wait
        answers = w is not None and fact.time >= w.time
        if w is not None and answers and (w.answered is None or fact.time < w.answered):
            w.answered = fact.time
        keep = shift(fact.time, self._plus) >= watermark
        if keep:
            s.done.append(Done(uid=fact.uid, time=fact.time))
        if not (changes or answers or keep):
            return ("late" if fact.time < watermark else "filtered"), []
        if s.empty():
            state.subjects.pop(subject, None)
        else:
            state.subjects[subject] = s
        return "counted", changes

    def _on_escalation(self, state: AbsenceState, fact: Fact) -> tuple[Outcome, list[AlertChange]]:
        """Raise every open alert at the key that `fact` finds overdue (event time after its
        deadline); remember it for waits whose deadline the watermark has not passed yet."""
        changes: list[AlertChange] = []
        remembered = False
        for severity, test in self._event_escalations:
            if not test(fact):
                continue
            for s in state.subjects.values():
                ep, w = s.episode, s.wait
                if ep is not None:
                    if fact.time > parse_rfc3339(ep.values["deadline"]):
                        change = escalate(ep, severity, fact)
                        if change is not None:
                            changes.append(change)
                elif w is not None and _overdue_at(w, fact.time):
                    seen = {r.fact["uid"] for r in w.raises if r.severity == severity}
                    if fact.uid not in seen:
                        w.raises.append(
                            Raise(severity=severity, time=fact.time, fact=fact.to_json())
                        )
                        remembered = True
        return ("counted" if changes or remembered else "filtered"), changes

    # --- helpers -------------------------------------------------------------------------------

    def _alert_key(self, key: str, subject: str) -> str:
        """Several subjects at one key (enterprises at one site) each get their own alert id."""
        return f"{key}/{subject}" if self.rule.match_on else key

    def _dump(self, state: AbsenceState) -> State | None:
        if not state.subjects:
            return None
        state.wake = self._wake(state)
        return state.model_dump(mode="json")


def _overdue_at(w: Wait, t: datetime) -> bool:
    return t > w.deadline and (w.answered is None or t < w.answered)


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


__all__ = ["AbsenceEngine", "AbsenceState"]
