"""A stream core without Faust or asyncio: a batch of records in, what to send out.

The worker's per-record path pays Faust's and asyncio's costs for every record; this core
takes a whole batch, reads each key's state once, writes it once (one changelog record per
touched key per batch), and says which offsets may be committed once every output of the
batch is acknowledged. Direct rules only so far; re-keyed rules are forwarded as copies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from hub.alerts.cloudevent import encode
from hub.correlate.correlator import Correlator, MemoryStore
from hub.correlate.engine import State
from hub.correlate.spec import RulePack
from hub.correlate.watermark import PartitionWatermarks
from hub.events import EventRejected, deadletter_headers, fit_for_deadletter
from hub.events.deadletter import RULE_HEADER
from hub.stream.facts import fact_of_record
from hub.stream.routing import direct_rules


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp: float = 0.0


@dataclass(frozen=True, slots=True)
class Send:
    """kind: alert, rekey, deadletter or changelog (topic is the rule for changelogs)."""

    kind: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    topic: str = ""


@dataclass(slots=True)
class Output:
    sends: list[Send] = field(default_factory=list)
    #: next offset to commit per (topic, partition), valid once every send is acknowledged
    commits: dict[tuple[str, int], int] = field(default_factory=dict)


class _BatchStore(MemoryStore):
    """States of one batch over the durable states: each key read and written once."""

    def __init__(self, base: MemoryStore) -> None:
        super().__init__()
        self.base = base
        self.touched: dict[tuple[str, str], State | None] = {}

    def get(self, rule: str, key: str) -> State | None:
        if (rule, key) in self.touched:
            return self.touched[(rule, key)]
        return self.base.get(rule, key)

    def put(self, rule: str, key: str, state: State | None) -> None:
        self.touched[(rule, key)] = state


class StreamCore:
    def __init__(self, pack: RulePack, *, lateness_s: float, max_event_bytes: int = 65536):
        self.state = MemoryStore()
        self._batch = _BatchStore(self.state)
        self.correlator = Correlator(pack, self._batch)
        self.direct = direct_rules(pack)
        self.lateness_s = lateness_s
        self.max_event_bytes = max_event_bytes
        self.watermarks = PartitionWatermarks(timedelta(seconds=lateness_s))

    def restore(self, rule: str, key: str, state: State | None) -> None:
        """Apply one changelog record (on assignment): state comes back before input."""
        self.state.put(rule, key, state)

    def process(self, batch: list[Record]) -> Output:
        out = Output()
        self._batch.touched.clear()
        for rec in batch:
            out.commits[(rec.topic, rec.partition)] = rec.offset + 1
            try:
                self._one(rec, out)
            except Exception as exc:  # one record must not stop the batch
                out.sends.append(
                    self._dead(rec, "processing-error", f"{type(exc).__name__}: {exc}")
                )
        for (rule, key), state in self._batch.touched.items():
            self.state.put(rule, key, state)
            value = None if state is None else json.dumps(state).encode()
            out.sends.append(Send("changelog", key.encode(), value, topic=rule))
        self._batch.touched.clear()
        return out

    def _one(self, rec: Record, out: Output) -> None:
        try:
            fact = fact_of_record(rec.value, rec.headers, max_bytes=self.max_event_bytes)
        except EventRejected as exc:
            out.sends.append(self._dead(rec, exc.reason, exc.detail))
            return
        wm_state = self.watermarks[(rec.topic, rec.partition)]
        wm_state.observe(fact.time)
        wm = wm_state.current()
        assert wm is not None
        here = rec.key.decode("utf-8", "replace") if rec.key is not None else None
        for rule, route in self.correlator.routes(fact):
            if rule not in self.direct or route.key != here:
                headers = [*rec.headers, ("onenet_rule", rule.encode())]
                out.sends.append(Send("rekey", route.key.encode(), rec.value, headers))
                continue
            outcome, changes = self.correlator.observe(rule, fact, route, wm)
            if outcome == "late":
                detail = f"rule {rule}: event time {fact.time.isoformat()} is before {wm}"
                out.sends.append(self._dead(rec, "late-event", detail, rule))
            for change in changes:
                value = encode(change, time=fact.time)
                out.sends.append(Send("alert", change.alert.alert_id.encode(), value))

    def _dead(self, rec: Record, reason: str, detail: str, rule: str | None = None) -> Send:
        headers = deadletter_headers(
            reason,
            detail,
            source_topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            original_headers=rec.headers,
        )
        if rule:
            headers.append((RULE_HEADER, rule.encode()))
        key, value, headers = fit_for_deadletter(rec.key, rec.value, headers)
        return Send("deadletter", key, value, headers)
