"""Sequence rules: steps in event-time order for one key within `within`, optionally "not
followed by" a final event.

Semantics, all in event time (inclusive bounds, strict expiry, as in threshold.py):

- An *instance* is one fact per step, in step order, with non-decreasing event times (equal
  times count as in order; a B earlier than A never completes A -> B, whatever the arrival
  order), and the last step at most `within` after the first.
- Overlapping candidates: "skip past last event" (Flink CEP's AfterMatchSkipStrategy of that
  name, with relaxed contiguity). The earliest first step that can complete is used, with the
  earliest fitting fact for each later step; then every fact up to and including the last step's
  time is spent, and the next instance must start strictly after it. So A A B is one instance
  (the first A), and A1 A2 B1 B2 is one too. Facts arriving out of order are matched when they
  arrive; an instance that was emitted is final, so an earlier fact arriving afterwards cannot
  replace it (it is spent like the others before the instance's last step).
- Partial matches are not stored as such: the facts are, and the matcher runs over them. A fact
  expires when its time is before watermark - within (then no non-late fact can complete an
  instance with it). A step fact before the watermark is `late` unless it completes an instance
  with the facts still held.
- Without `not_followed_by`, the alert fires as soon as the last step is matched. With it, the
  instance waits until the watermark passes last + within; a not_followed_by event at or after
  the last step and at most `within` later (inclusive) cancels it, however late it arrives before
  that verdict; after the verdict such an event is `late` (the alert stays).
- Each instance is one episode: its own alert, anchored on the first step's time, fired once.
  The engine never resolves it (it records that something happened; people resolve it).
  `any:` escalations test the instance's facts when it fires; `event:` escalations take events
  for the key whose time lies in the instance's period (first step .. first + within, or
  .. last + within with not_followed_by), before or after it fires, until the watermark passes
  the period's end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from hub.alerts.model import AlertChange, Severity
from hub.correlate.engine import Outcome, Route, State, Step
from hub.correlate.episode import Episode, escalate, open_or_extend
from hub.correlate.escalation import Escalations
from hub.correlate.fact import Fact
from hub.correlate.spec import SequenceRule
from hub.correlate.text import AlertText
from hub.events.fields import shift


class Entry(BaseModel):
    fact: dict[str, Any]  # Fact JSON
    time: datetime
    steps: list[int] = Field(default_factory=list)  # the steps it matches
    neg: bool = False  # matches not_followed_by
    esc: list[int] = Field(default_factory=list)  # the `event:` escalations it matches
    used: bool = False  # spent by an emitted instance

    @property
    def uid(self) -> str:
        return str(self.fact["uid"])


class Raise(BaseModel):
    severity: Severity
    fact: dict[str, Any]


class Pending(BaseModel):
    """A complete instance waiting for the not_followed_by verdict."""

    facts: list[dict[str, Any]]
    first: datetime
    last: datetime
    raises: list[Raise] = Field(default_factory=list)


class Held(BaseModel):
    """A fired alert that `event:` escalations can still raise until its period ends."""

    episode: Episode
    first: datetime
    end: datetime


class SequenceState(BaseModel):
    buffer: list[Entry] = Field(default_factory=list)  # sorted by (time, uid)
    #: last step time of the latest instance: the next one must start strictly after it
    cutoff: datetime | None = None
    pending: list[Pending] = Field(default_factory=list)
    held: list[Held] = Field(default_factory=list)
    #: the earliest time whose passing lets `advance` change something: `due` reads only this
    wake: datetime | None = None


class SequenceEngine:
    def __init__(self, rule: SequenceRule, text: AlertText | None = None) -> None:
        self.rule = rule
        self.text = text
        self._steps = [m.compile() for m in rule.steps]
        self._neg = rule.not_followed_by.compile() if rule.not_followed_by else None
        self._esc = Escalations(rule)
        self._event_escalations = self._esc.events
        self._within = rule.within

    # --- routing -------------------------------------------------------------------------------

    def key_of(self, fact: Fact) -> str | None:
        value = fact.get(self.rule.key)
        if value is None or isinstance(value, dict | list):
            return None
        return str(value)

    def _roles(self, fact: Fact) -> Entry:
        return Entry(
            fact=fact.to_json(),
            time=fact.time,
            steps=[i for i, test in enumerate(self._steps) if test(fact)],
            neg=self._neg is not None and self._neg(fact),
            esc=[i for i, (_, test) in enumerate(self._event_escalations) if test(fact)],
        )

    def routes(self, fact: Fact) -> list[Route]:
        entry = self._roles(fact)
        if entry.steps or entry.neg or entry.esc:
            key = self.key_of(fact)
            if key is not None:
                return [Route(key)]
        return []

    # --- time ----------------------------------------------------------------------------------

    def wake(self, raw: State) -> datetime | None:
        wake = raw.get("wake")
        return None if wake is None else datetime.fromisoformat(wake)

    def due(self, raw: State, watermark: datetime) -> bool:
        wake = self.wake(raw)
        return wake is not None and wake < watermark

    def _wake(self, state: SequenceState) -> datetime | None:
        times = [shift(p.last, self._within) for p in state.pending] + [h.end for h in state.held]
        if state.buffer:
            times.append(shift(state.buffer[0].time, self._within))
        if state.cutoff is not None:
            times.append(shift(state.cutoff, self._within))
        return min(times, default=None)

    def advance(self, raw: State | None, key: str, watermark: datetime) -> Step:
        state = SequenceState.model_validate(raw or {})
        changes = self._advance(state, key, watermark)
        return Step(self._dump(state), changes)

    def _advance(self, state: SequenceState, key: str, watermark: datetime) -> list[AlertChange]:
        changes: list[AlertChange] = []
        # A pending instance still here was not negated; strict, as an event exactly at
        # last + within can still arrive on time.
        for p in [p for p in state.pending if shift(p.last, self._within) < watermark]:
            state.pending.remove(p)
            episode, out = self._open(key, [Fact.from_json(f) for f in p.facts])
            raises = [(r.severity, Fact.from_json(r.fact)) for r in p.raises]
            changes += out + self._raise(episode, raises)
        state.held = [h for h in state.held if h.end >= watermark]
        horizon = shift(watermark, -self._within)
        state.buffer = [e for e in state.buffer if e.time >= horizon]
        if state.cutoff is not None and state.cutoff < horizon:
            state.cutoff = None  # every fact it could bar is gone or too late
        return changes

    # --- events --------------------------------------------------------------------------------

    def observe(self, raw: State | None, fact: Fact, route: Route, watermark: datetime) -> Step:
        # Time first, so the result never depends on when the timer last ran. Anything but
        # `counted` returns the state untouched: the timer's advance reaches the same place.
        state = SequenceState.model_validate(raw or {})
        changes = self._advance(state, route.key, watermark)
        entry = self._roles(fact)
        if not (entry.steps or entry.neg or entry.esc):
            return Step(raw, outcome="filtered")
        if any(e.uid == fact.uid for e in state.buffer):
            return Step(raw, outcome="duplicate")
        outcome, more = self._take(state, entry, route.key, watermark)
        if outcome != "counted":
            return Step(raw, outcome=outcome)
        return Step(self._dump(state), changes + more)

    def _take(
        self, state: SequenceState, entry: Entry, key: str, watermark: datetime
    ) -> tuple[Outcome, list[AlertChange]]:
        fact = Fact.from_json(entry.fact)
        horizon = shift(watermark, -self._within)
        changes: list[AlertChange] = []
        useful = False
        for i in entry.esc:
            severity = self._event_escalations[i][0]
            for h in state.held:
                if h.first <= entry.time <= h.end:
                    change = escalate(h.episode, severity, fact)
                    if change is not None:
                        changes.append(change)
                        useful = True
            for p in state.pending:
                if p.first <= entry.time <= shift(p.last, self._within) and not any(
                    r.fact["uid"] == fact.uid and r.severity == severity for r in p.raises
                ):
                    p.raises.append(Raise(severity=severity, fact=entry.fact))
                    useful = True
        if entry.neg:
            before = len(state.pending)
            state.pending = [p for p in state.pending if not self._negates(entry, p.last)]
            useful = useful or len(state.pending) < before
        keep = (entry.neg or bool(entry.esc)) and entry.time >= horizon
        if entry.steps and entry.time >= horizon:
            state.buffer.append(entry)
            state.buffer.sort(key=lambda e: (e.time, e.uid))
            for chain in self._match(state):
                changes += self._complete(state, key, chain)
            useful = useful or entry.used
            # A step at or before the cutoff can never be part of a new instance.
            fresh = state.cutoff is None or entry.time > state.cutoff
            keep = keep or (entry.time >= watermark and fresh)
            if not (keep or entry.used):
                state.buffer.remove(entry)
        elif keep:
            state.buffer.append(entry)
            state.buffer.sort(key=lambda e: (e.time, e.uid))
        if useful or keep:
            return "counted", changes
        own = bool(entry.steps) or entry.neg
        return ("late" if own and entry.time < watermark else "filtered"), changes

    def _negates(self, entry: Entry, last: datetime) -> bool:
        return entry.neg and last <= entry.time <= shift(last, self._within)

    def _match(self, state: SequenceState) -> list[list[Entry]]:
        """New instances among the unspent facts, earliest first step first (skip past last)."""
        found: list[list[Entry]] = []
        free = [e for e in state.buffer if not e.used and e.steps]
        for a in free:
            if a.used or 0 not in a.steps or (state.cutoff is not None and a.time <= state.cutoff):
                continue
            chain = [a]
            for k in range(1, len(self._steps)):
                prev = chain[-1]
                nxt = next(
                    (
                        e
                        for e in free
                        if k in e.steps
                        and not e.used
                        and e.time >= prev.time
                        and e.time - a.time <= self._within
                        and all(e is not c for c in chain)
                    ),
                    None,
                )
                if nxt is None:
                    break
                chain.append(nxt)
            if len(chain) == len(self._steps):
                for e in chain:
                    e.used = True
                state.cutoff = chain[-1].time
                found.append(chain)
        return found

    def _complete(self, state: SequenceState, key: str, chain: list[Entry]) -> list[AlertChange]:
        first, last = chain[0].time, chain[-1].time
        mine = {e.uid for e in chain}
        others = [e for e in state.buffer if e.uid not in mine]
        if self._neg is not None:
            if any(self._negates(e, last) for e in others):
                return []
            end = shift(last, self._within)
            raises = [
                Raise(severity=self._event_escalations[i][0], fact=e.fact)
                for e in others
                if first <= e.time <= end
                for i in e.esc
            ]
            state.pending.append(
                Pending(facts=[e.fact for e in chain], first=first, last=last, raises=raises)
            )
            return []
        end = shift(first, self._within)
        episode, changes = self._open(key, [Fact.from_json(e.fact) for e in chain])
        changes += self._raise(
            episode,
            [
                (self._event_escalations[i][0], Fact.from_json(e.fact))
                for e in others
                if first <= e.time <= end
                for i in e.esc
            ],
        )
        if self._event_escalations:
            state.held.append(Held(episode=episode, first=first, end=end))
        return changes

    def _open(self, key: str, facts: list[Fact]) -> tuple[Episode, list[AlertChange]]:
        fields = {"within": self._within}
        episode, change = open_or_extend(
            self.rule,
            None,
            key,
            facts,
            self._esc.severity_for(facts),
            fields,
            text=self.text,
        )
        return episode, [change] if change is not None else []

    def _raise(self, episode: Episode, raises: list[tuple[Severity, Fact]]) -> list[AlertChange]:
        out = []
        for severity, fact in raises:
            change = escalate(episode, severity, fact)
            if change is not None:
                out.append(change)
        return out

    def _dump(self, state: SequenceState) -> State | None:
        if not (state.buffer or state.pending or state.held or state.cutoff is not None):
            return None
        state.wake = self._wake(state)
        return state.model_dump(mode="json")


__all__ = ["SequenceEngine", "SequenceState"]
