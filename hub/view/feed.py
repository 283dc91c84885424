"""The Kafka edge of the read model: replays the alerts topic from the beginning, then follows it.

Two aiokafka consumers without a consumer group (every view instance reads every partition and
commits nothing: its state is rebuilt from the topic at each start): one for the alerts topic,
which decides readiness, and one for the three events topics, which feed the evidence index,
the city grid and the SLA statistics. `fetch_max_wait_ms` is low so that a new alert reaches
the page well within a second of reaching the topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.kafka import partition_count
from hub.kafka_security import client_options
from hub.settings import Settings
from hub.topics import DOMAINS, Topics
from hub.view.readmodel import ReadModel

log = logging.getLogger("onenet.view.feed")

FETCH_WAIT_MS = 50
BATCH = 2000


class KafkaFeed:
    def __init__(
        self, model: ReadModel, bootstrap: str, topics: Topics, settings: Settings | None = None
    ) -> None:
        self.model = model
        self.bootstrap = bootstrap
        self.topics = topics
        self.settings = settings
        self.ready = asyncio.Event()
        self.error: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._positions: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run([self.topics.alerts], alerts=True), name="view-alerts"),
            asyncio.create_task(
                self._run([self.topics.events(d) for d in DOMAINS], alerts=False),
                name="view-events",
            ),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def _partitions(self, topics: list[str]) -> list[TopicPartition]:
        """Every partition of the topics, waiting (not ready) until they exist."""
        while True:
            counts = await asyncio.gather(
                *(
                    asyncio.to_thread(partition_count, self.bootstrap, t, self.settings)
                    for t in topics
                ),
                return_exceptions=True,
            )
            if all(isinstance(c, int) for c in counts):
                return [
                    TopicPartition(t, p)
                    for t, c in zip(topics, counts, strict=True)
                    if isinstance(c, int)
                    for p in range(c)
                ]
            self.error = f"waiting for topics {', '.join(topics)} to exist"
            await asyncio.sleep(1.0)

    async def _run(self, topics: list[str], *, alerts: bool) -> None:
        while True:
            try:
                await self._consume(topics, alerts=alerts)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broker outage must not kill the view: retry
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("feed %s failed, retrying: %s", topics, self.error)
                await asyncio.sleep(2.0)

    async def _consume(self, topics: list[str], *, alerts: bool) -> None:
        parts = await self._partitions(topics)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap.split(","),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_WAIT_MS,
            client_id="onenet-view",
            **client_options(self.settings),
        )
        await consumer.start()
        try:
            consumer.assign(parts)
            # A start replays from the beginning (the topic is the record); a reconnect after
            # a broker outage resumes where this process got to, so nothing is folded twice.
            fresh = [tp for tp in parts if tp not in self._positions]
            if fresh:
                await consumer.seek_to_beginning(*fresh)
            for tp in parts:
                if tp in self._positions:
                    consumer.seek(tp, self._positions[tp])
            ends: dict[Any, int] = await consumer.end_offsets(parts) if alerts else {}
            self.error = None
            while True:
                if alerts and not self.ready.is_set():
                    positions = [await consumer.position(tp) for tp in parts]
                    if all(pos >= ends[tp] for tp, pos in zip(parts, positions, strict=True)):
                        log.info("alerts replay caught up: %d alerts", len(self.model.alerts))
                        self.ready.set()
                batch = await consumer.getmany(timeout_ms=500, max_records=BATCH)
                for tp, records in batch.items():
                    for r in records:
                        if alerts:
                            self.model.apply_alert_record(r.value, r.timestamp)
                        else:
                            self.model.apply_event_record(r.value, r.headers, tp.topic)
                    if records:
                        self._positions[tp] = records[-1].offset + 1
                if batch:
                    await asyncio.sleep(0)  # let HTTP handlers in between large replay batches
        finally:
            await consumer.stop()
