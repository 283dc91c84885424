"""What a Faust worker's consumer is really doing with each assigned partition.

Faust keeps two layers of fetch state: its own set of active (not paused) partitions, which
it passes to every `getmany`, and aiokafka's per-partition state (position, paused, the
fetched records waiting to be taken). Readiness must look at both: a partition can be
assigned, its table recovered, and still never reach the agent. Faust's and aiokafka's
attributes read here are private, so every access is guarded: when they change, the report
says "unknown" rather than crash the worker.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import TopicPartition

from hub.observe.progress import PartitionFetch

log = logging.getLogger("onenet.worker")


def aiokafka_consumer(app: Any) -> Any | None:
    """The aiokafka consumer inside Faust's consumer thread, or None before it started."""
    thread = getattr(app.consumer, "_thread", None)
    return getattr(thread, "_consumer", None)


def fetcher_problem(app: Any) -> str | None:
    """Why nothing is being fetched at all, or None when both fetch loops are running."""
    fetcher = getattr(app, "_fetcher", None)
    if fetcher is None or not fetcher.started or fetcher.should_stop:
        return "the worker's fetcher is not running"
    client = aiokafka_consumer(app)
    task = getattr(getattr(client, "_fetcher", None), "_fetch_task", None)
    if task is None or task.done():
        return "the Kafka client's fetch task is not running"
    return None


def stream_partitions(app: Any) -> set[Any]:
    """Assigned partitions the agents read: all but the tables' changelogs, which Faust
    reads only during recovery and keeps paused afterwards by design."""
    changelogs = set(app.tables.changelog_topics)
    return {tp for tp in app.consumer.assignment() if tp.topic not in changelogs}


async def fetch_report(app: Any) -> list[PartitionFetch]:
    """Position, end offset and pause state of every assigned stream partition.

    End offsets are asked from the broker, not taken from the last fetch response: a
    partition that is never fetched would otherwise look as if it were at its end. What is
    done is Faust's committed offset, or the log start before the first commit: the fetch
    position says nothing about records handed out and then lost before processing.
    """
    consumer = app.consumer
    tps = sorted(stream_partitions(app))
    if not tps:
        return []
    try:
        ends: dict[Any, int] = dict(await consumer.highwaters(*tps))
    except Exception as exc:  # the broker can be away; the report then has no lag
        log.debug("cannot read end offsets: %s", exc)
        ends = {}
    committed = {tp: getattr(consumer, "_committed_offset", {}).get(tp) for tp in tps}
    if unset := [tp for tp, offset in committed.items() if offset is None]:
        # Never committed: the group reads such a partition from its first offset.
        try:
            committed.update(await consumer.earliest_offsets(*unset))
        except Exception as exc:
            log.debug("cannot read log start offsets: %s", exc)
    client = aiokafka_consumer(app)
    paused_by_faust = set(getattr(consumer, "_paused_partitions", ()))
    report = []
    for tp in tps:
        state = _partition_state(client, tp)
        position = state.position if state is not None and state.has_valid_position else None
        paused = None
        if tp in paused_by_faust:
            paused = "paused by the stream consumer"
        elif state is not None and state.paused:
            paused = "paused in the Kafka client"
        report.append(
            PartitionFetch(
                tp.topic, tp.partition, position, ends.get(tp), paused, committed.get(tp)
            )
        )
    return report


def _partition_state(client: Any, tp: Any) -> Any | None:
    try:
        assignment = client._subscription.subscription.assignment
        return assignment.state_value(TopicPartition(tp.topic, tp.partition))
    except Exception:  # not assigned any more, or aiokafka's internals changed
        return None


def fetch_details(app: Any, tp: Any) -> dict[str, Any]:
    """Everything both layers know about one partition, for the log line of a stall."""
    consumer = app.consumer
    client = aiokafka_consumer(app)
    state = _partition_state(client, tp)
    records = getattr(getattr(client, "_fetcher", None), "_records", {})
    held = records.get(TopicPartition(tp.topic, tp.partition)) if records else None
    return {
        "active_in_faust": tp in getattr(consumer, "_active_partitions", ()),
        "paused_in_faust": tp in getattr(consumer, "_paused_partitions", ()),
        "buffered_in_faust": tp in getattr(consumer, "_buffered_partitions", ()),
        "read_offset": getattr(consumer, "_read_offset", {}).get(tp),
        "committed_offset": getattr(consumer, "_committed_offset", {}).get(tp),
        "acked_pending": len(getattr(consumer, "_acked", {}).get(tp, ())),
        "unacked_messages": len(getattr(consumer, "_unacked_messages", ())),
        "paused_in_client": getattr(state, "paused", None),
        "position": state.position if state is not None and state.has_valid_position else None,
        "highwater_seen": getattr(state, "highwater", None),
        "last_fetch_ms": getattr(state, "timestamp", None),
        "held_by_client": type(held).__name__ if held is not None else None,
        "flow_active": getattr(consumer, "flow_active", None),
    }
