"""The wake index: due order, re-scheduling, deletion, and the correlator keeping it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.correlate.correlator import Correlator, MemoryStore
from hub.correlate.engine import State
from hub.correlate.pack import load_pack
from hub.correlate.threshold import ThresholdEngine
from hub.correlate.wakes import SLACK, WakeIndex

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_due_keys_come_earliest_first_and_strictly_before_the_watermark() -> None:
    index = WakeIndex()
    for key, s in [("c", 30), ("a", 10), ("b", 20), ("d", 40)]:
        index.schedule("r", key, at(s))
    assert index.due("r", at(30)) == ["a", "b"]  # c wakes exactly at 30: not yet due
    assert index.due("r", at(31)) == ["a", "b", "c"]
    assert index.due("r", at(0)) == []
    assert index.due("other", at(100)) == []
    assert index.due("r", at(31)) == ["a", "b", "c"], "asking does not consume"


def test_rescheduling_replaces_the_earlier_wake() -> None:
    index = WakeIndex()
    index.schedule("r", "a", at(10))
    index.schedule("r", "b", at(20))
    index.schedule("r", "a", at(50))
    assert index.due("r", at(30)) == ["b"]
    assert index.due("r", at(60)) == ["b", "a"]
    index.schedule("r", "a", at(10))  # back to a time it had before: one entry, not two
    assert index.due("r", at(60)) == ["a", "b"]
    assert index.wake_of("r", "a") == at(10)


def test_deleting_forgets_the_key_and_stale_entries_are_compacted() -> None:
    index = WakeIndex()
    index.schedule("r", "a", at(10))
    index.schedule("r", "a", None)
    assert index.due("r", at(100)) == []
    assert len(index) == 0
    for i in range(10 * SLACK):
        index.schedule("r", "k", at(i))  # one live key, many superseded entries
    assert index.due("r", at(10 * SLACK)) == ["k"]
    assert len(index._heaps["r"]) <= 2 + SLACK


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, rule: str, key: str) -> State | None:
        self.reads += 1
        return super().get(rule, key)


def _threshold_rule(correlator: Correlator) -> str:
    return next(n for n, e in correlator.engines.items() if isinstance(e, ThresholdEngine))


def test_the_correlator_indexes_what_it_stores_and_rebuilds_from_the_store() -> None:
    store = CountingStore()
    correlator = Correlator(load_pack(None), store)
    rule = _threshold_rule(correlator)
    size = correlator.engines[rule].rule.window.size  # type: ignore[attr-defined]
    # States written behind the correlator's back (a recovered changelog) are found by reindex.
    for i in range(5_000):
        store.put(rule, f"k{i}", {"facts": [{"time": at(1000 + i).isoformat()}]})
    store.put(rule, "early", {"facts": [{"time": at(5).isoformat()}]})
    wake = at(5) + size
    assert correlator.due(wake + timedelta(seconds=1)) == []
    correlator.reindex()
    store.reads = 0
    assert correlator.due(wake + timedelta(seconds=1)) == [(rule, "early")]
    assert store.reads == 1, "a tick reads the due states only"
    assert correlator.due(wake) == []
    store.put(rule, "early", None)  # gone with a revoked partition
    assert correlator.due(wake + timedelta(seconds=1)) == []


def test_advancing_reschedules_and_deletes() -> None:
    correlator = Correlator(load_pack(None), MemoryStore())
    rule = _threshold_rule(correlator)
    size = correlator.engines[rule].rule.window.size  # type: ignore[attr-defined]
    correlator.store.put(rule, "k", {"facts": [{"time": at(5).isoformat()}]})
    correlator.reindex()
    assert correlator.wakes.wake_of(rule, "k") == at(5) + size
    correlator.advance_all(at(5) + size + timedelta(seconds=1))
    assert correlator.store.get(rule, "k") is None  # the fact expired, nothing is left
    assert correlator.wakes.wake_of(rule, "k") is None
