"""Threshold rules: an aggregate (count, distinct count, sum) over an event-time window per
group reaches a threshold. Sliding windows find the best window around each new event;
tumbling windows are aligned to the epoch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from hub.correlate.engine import Route, State, Step
from hub.correlate.episode import Episode, open_or_extend, resolve
from hub.correlate.escalation import Escalations
from hub.correlate.fact import Fact
from hub.correlate.spec import ThresholdRule
from hub.correlate.text import AlertText
from hub.events.fields import shift

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ThresholdState(BaseModel):
    facts: list[dict[str, Any]] = Field(default_factory=list)  # qualifying, sorted by time
    episode: Episode | None = None
    episode_bucket: int | None = None


class ThresholdEngine:
    def __init__(self, rule: ThresholdRule, text: AlertText | None = None) -> None:
        self.rule = rule
        self.text = text
        self._match = rule.match.compile()
        self._esc = Escalations(rule)
        numeric = [
            p
            for p, c in rule.match.where.items()
            if {"gt", "gte", "lt", "lte"} & c.model_fields_set
        ]
        self._max_field = rule.aggregate.field or (numeric[0] if numeric else None)
        self._size = rule.window.size

    # --- routing -------------------------------------------------------------------------------

    def key_of(self, fact: Fact) -> str | None:
        parts = []
        for name in self.rule.group_by:
            value = fact.get(name)
            if value is None or isinstance(value, dict | list):
                return None
            parts.append(str(value))
        return "|".join(parts)

    def routes(self, fact: Fact) -> list[Route]:
        if self._match(fact) or self._esc.takes(fact):
            key = self.key_of(fact)
            if key is not None:
                return [Route(key)]
        return []

    # --- time ----------------------------------------------------------------------------------

    def _bucket(self, t: datetime) -> int:
        return int((t - EPOCH) // self._size)

    def _closes_at(self, state: ThresholdState) -> datetime | None:
        ep = state.episode
        if ep is None:
            return None
        if self.rule.window.type == "tumbling" and state.episode_bucket is not None:
            return shift(EPOCH, self._size * (state.episode_bucket + 1))
        return shift(ep.alert.last_event_time, self._size)

    def wake(self, raw: State) -> datetime | None:
        """When `advance` next has work: the episode closes or the oldest fact leaves the
        window. Read straight from the stored JSON: it is asked for every stored state."""
        times = []
        episode = raw.get("episode")
        if episode is not None:
            bucket = raw.get("episode_bucket")
            if self.rule.window.type == "tumbling" and bucket is not None:
                times.append(shift(EPOCH, self._size * (bucket + 1)))
            else:
                times.append(shift(_time(episode["alert"]["last_event_time"]), self._size))
        facts = raw.get("facts")
        if facts:
            times.append(shift(_time(facts[0]), self._size))
        return min(times, default=None)

    def due(self, raw: State, watermark: datetime) -> bool:
        wake = self.wake(raw)
        return wake is not None and wake < watermark

    def advance(self, raw: State | None, key: str, watermark: datetime) -> Step:
        state = ThresholdState.model_validate(raw or {})
        changes = self._advance(state, watermark)
        return Step(self._dump(state), changes)

    def _advance(self, state: ThresholdState, watermark: datetime) -> list[Any]:
        # Strict: a fact exactly one window behind the watermark can still pair with an on-time
        # event, and an episode ending exactly there can still be extended.
        horizon = shift(watermark, -self._size)
        state.facts = [f for f in state.facts if _time(f) >= horizon]
        closes = self._closes_at(state)
        if state.episode is None or closes is None or closes >= watermark:
            return []
        change = resolve(state.episode)
        state.episode = None
        state.episode_bucket = None
        return [change]

    # --- events --------------------------------------------------------------------------------

    def observe(self, raw: State | None, fact: Fact, route: Route, watermark: datetime) -> Step:
        state = ThresholdState.model_validate(raw or {})
        if not self._match(fact):
            return self._escalate_by_event(state, fact, raw)
        if fact.time < watermark:
            return Step(raw, outcome="late")
        if any(f["uid"] == fact.uid for f in state.facts):
            return Step(raw, outcome="duplicate")
        state.facts.append(fact.to_json())
        state.facts.sort(key=_time)
        members = self._window_of(state, fact)
        changes = self._advance(state, watermark)
        facts = [Fact.from_json(f) for f in members]
        value = self._aggregate(facts)
        if value >= self.rule.threshold:
            changes += self._matched(state, route.key, facts, value)
        return Step(self._dump(state), changes)

    def _escalate_by_event(self, state: ThresholdState, fact: Fact, raw: State | None) -> Step:
        if state.episode is None:
            return Step(raw, outcome="filtered")
        changes = self._esc.raise_open(state.episode, fact)
        return Step(self._dump(state), changes) if changes else Step(raw, outcome="filtered")

    def _window_of(self, state: ThresholdState, pivot: Fact) -> list[dict[str, Any]]:
        facts = state.facts
        if self.rule.window.type == "tumbling":
            bucket = self._bucket(pivot.time)
            return [f for f in facts if self._bucket(_time(f)) == bucket]
        best: list[dict[str, Any]] = []
        best_value = float("-inf")
        for start in facts:
            t0 = _time(start)
            if t0 > pivot.time:
                break
            if pivot.time - t0 > self._size:
                continue
            members = [f for f in facts if t0 <= _time(f) <= shift(t0, self._size)]
            value = self._aggregate([Fact.from_json(f) for f in members])
            if value > best_value:
                best, best_value = members, value
        return best

    def _aggregate(self, facts: list[Fact]) -> float:
        agg = self.rule.aggregate
        if agg.fn == "count":
            return float(len(facts))
        assert agg.field is not None
        values = [f.get(agg.field) for f in facts]
        if agg.fn == "distinct":
            return float(len({repr(v) for v in values if v is not None}))
        return float(
            sum(v for v in values if isinstance(v, int | float) and not isinstance(v, bool))
        )

    def _matched(
        self, state: ThresholdState, key: str, facts: list[Fact], value: float
    ) -> list[Any]:
        if self.rule.window.type == "tumbling":
            bucket = self._bucket(facts[-1].time)
            if state.episode is not None and state.episode_bucket != bucket:
                # A new tumbling window is a new episode: close the old one first.
                closed = resolve(state.episode)
                state.episode = None
                out: list[Any] = [closed]
            else:
                out = []
            state.episode_bucket = bucket
        else:
            out = []
        all_facts = facts
        maxima = [
            v
            for f in all_facts
            if self._max_field and isinstance(v := f.get(self._max_field), int | float)
        ]
        fields = {
            "value": value,
            "threshold": self.rule.threshold,
            "window": self._size,
            "max": max(maxima) if maxima else value,
        }
        episode, change = open_or_extend(
            self.rule,
            state.episode,
            key,
            facts,
            self._esc.severity_for(facts),
            fields,
            text=self.text,
        )
        state.episode = episode
        if change is not None:
            out.append(change)
        return out

    def _dump(self, state: ThresholdState) -> State | None:
        if not state.facts and state.episode is None:
            return None
        return state.model_dump(mode="json")


def _time(f: dict[str, Any] | str | datetime) -> datetime:
    t = f["time"] if isinstance(f, dict) else f
    return t if isinstance(t, datetime) else datetime.fromisoformat(t)


__all__ = ["ThresholdEngine", "ThresholdState", "timedelta"]
