"""Consumer lag of the worker group, per input partition, as `onenet_consumer_lag_messages`.

Lag is what the group has not committed: the partition's end offset minus the group's
committed offset (minus the log start when nothing is committed yet, because workers read
from the earliest offset). It is measured from the broker, not from inside Faust, so it also
covers partitions that no worker owns at the moment, which is when lag matters most.

Every worker of a group measures the whole group, so the series are duplicated across
instances; aggregate with `max by (topic, partition)` before summing (see the recording rule
`onenet:consumer_lag:sum`). Labels are topic and partition: bounded by the topic layout.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from hub import metrics
from hub.kafka_security import client_options

log = logging.getLogger("onenet.observe.lag")

Key = tuple[str, int]


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    end: int
    committed: int | None  # None: the group never committed this partition
    lag: int


def _committed(offset: int | None) -> int | None:
    return None if _unset(offset) else offset


def _unset(offset: int | None) -> bool:
    """Kafka answers -1 for a partition the group never committed."""
    return offset is None or offset < 0


def compute_lag(
    ends: Mapping[Key, int],
    committed: Mapping[Key, int | None],
    beginnings: Mapping[Key, int],
) -> dict[Key, int]:
    """Lag per (topic, partition): from the committed offset, or from the log start when
    nothing is committed or retention already deleted past the commit (the consumer resets
    to the earliest offset then). Never negative: a commit can race past a cached end."""
    lag: dict[Key, int] = {}
    for tp, end in ends.items():
        first = beginnings.get(tp, 0)
        done = committed.get(tp)
        start = first if done is None or done < 0 else max(done, first)
        lag[tp] = max(end - start, 0)
    return lag


class ConsumerLagMonitor:
    """A daemon thread that refreshes the lag gauge every `interval` seconds.

    It uses kafka-python (blocking) clients on its own thread, so the worker's event loop is
    never held up by the admin requests. When the broker cannot be asked, the series this
    monitor exported are removed rather than left stale: an unknown lag must not look fine.
    """

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topics: Sequence[str],
        *,
        interval: float = 10.0,
        client_id: str = "onenet-lag",
    ) -> None:
        self.bootstrap = [b.strip() for b in bootstrap.split(",") if b.strip()]
        self.group = group
        self.topics = list(topics)
        self.interval = interval
        self.client_id = client_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="onenet-lag", daemon=True)
        self._exported: set[Key] = set()
        self._admin: Any = None
        self._consumer: Any = None
        self._failing = False

    def start(self) -> ConsumerLagMonitor:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def poll_once(self) -> dict[Key, int]:
        """Measure the lag now, update the gauge, and return it."""
        lag = {(r.topic, r.partition): r.lag for r in self.measure()}
        self._export(lag)
        return lag

    def measure(self) -> list[PartitionLag]:
        """End offset, committed offset and lag of every partition of the topics."""
        admin, consumer = self._clients()
        parts = [
            TopicPartition(topic, p)
            for topic in self.topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not parts:
            return []
        ends = {(tp.topic, tp.partition): off for tp, off in consumer.end_offsets(parts).items()}
        offsets = admin.list_group_offsets({self.group: parts}).get(self.group, {})
        committed = {
            (tp.topic, tp.partition): (meta.offset if meta is not None else None)
            for tp, meta in offsets.items()
        }
        starts = consumer.beginning_offsets(parts)
        beginnings = {(tp.topic, tp.partition): off for tp, off in starts.items()}
        lag = compute_lag(ends, committed, beginnings)
        return [
            PartitionLag(t, p, ends[(t, p)], _committed(committed.get((t, p))), lag[(t, p)])
            for t, p in sorted(lag)
        ]

    def _export(self, lag: Mapping[Key, int]) -> None:
        for topic, partition in self._exported - set(lag):
            self._remove(topic, partition)
        for (topic, partition), value in lag.items():
            metrics.CONSUMER_LAG.labels(topic, str(partition)).set(value)
        self._exported = set(lag)

    def _remove(self, topic: str, partition: int) -> None:
        with contextlib.suppress(KeyError):  # never exported, or already removed
            metrics.CONSUMER_LAG.remove(topic, str(partition))

    def _forget(self, keys: Iterable[Key]) -> None:
        for topic, partition in keys:
            self._remove(topic, partition)
        self._exported = set()

    def _clients(self) -> tuple[Any, Any]:
        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                client_id=self.client_id,
                request_timeout_ms=10000,
                **client_options(),
            )
        if self._consumer is None:
            # No group: this consumer only reads metadata and offsets, it never joins the group.
            self._consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap,
                client_id=self.client_id,
                group_id=None,
                enable_auto_commit=False,
                request_timeout_ms=10000,
                **client_options(),
            )
        return self._admin, self._consumer

    def _close_clients(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                try:
                    client.close()
                except Exception:  # closing a broken client must not end the thread
                    log.debug("closing a lag client failed", exc_info=True)
        self._admin = self._consumer = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # a broker outage must not end the thread
                self._forget(list(self._exported))
                self._close_clients()
                if not self._failing:
                    log.warning(
                        "cannot measure consumer lag of group %s: %s",
                        self.group,
                        exc,
                        extra={"group": self.group},
                    )
                self._failing = True
            else:
                if self._failing:
                    log.info("consumer lag of group %s measured again", self.group)
                self._failing = False
            self._stop.wait(self.interval)
        self._close_clients()


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m hub.observe.lag`: the worker group's lag per partition, as the gauge sees it."""
    import argparse

    from hub.bootstrap import resolve_bootstrap
    from hub.settings import get_settings
    from hub.topics import DOMAINS, Topics

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m hub.observe.lag", description=main.__doc__)
    parser.add_argument("--group", default=settings.app_id, help="consumer group [ONENET_APP_ID]")
    parser.add_argument(
        "--topic",
        action="append",
        dest="topics",
        help="topic to measure; repeatable [the contract's event topics]",
    )
    args = parser.parse_args(argv)
    topics = args.topics or [Topics(settings.topic_prefix).events(d) for d in DOMAINS]
    monitor = ConsumerLagMonitor(resolve_bootstrap(settings), args.group, topics)
    try:
        rows = monitor.measure()
    finally:
        monitor._close_clients()
    print(f"group {args.group}")
    print(f"{'topic':<40} {'partition':>9} {'end':>12} {'committed':>12} {'lag':>10}")
    for r in rows:
        done = "-" if r.committed is None else str(r.committed)
        print(f"{r.topic:<40} {r.partition:>9} {r.end:>12} {done:>12} {r.lag:>10}")
    print(f"{'total':<40} {'':>9} {'':>12} {'':>12} {sum(r.lag for r in rows):>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
