"""Runs one connector: the Sink it talks to, the producer behind it, and its checkpoint.

Delivery is at-least-once with de-duplication: a position is checkpointed only after every
record before it was acknowledged, so a restart resumes with no gap; records re-read after a
crash carry the same `(source, id)` and are dropped by the recent-ids set (persisted with the
checkpoint) and, downstream, by the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from pathlib import Path
from typing import Any

from kafka.errors import KafkaError, KafkaTimeoutError

from connectors.sdk.base import Connector
from connectors.sdk.checkpoint import CheckpointStore
from connectors.sdk.dedup import RecentIds
from connectors.sdk.envelope import to_bytes
from connectors.sdk.item import Item, SendOutcome
from hub import metrics
from hub.events import (
    DEFAULT_TIME_RANGE,
    EventRejected,
    TimeRange,
    admit,
    refuse,
)
from hub.kafka import DELIVERY_TIMEOUT_MS, explain_send_failure, flush_within
from hub.topics import Topics

log = logging.getLogger("onenet.connector")

PERSISTED_IDS = 20_000


class SendFailed(Exception):
    """The broker did not take records after all retries; the checkpoint stays before them."""


class Runner:
    """Implements `Sink` for one connector instance over a kafka-python producer."""

    def __init__(
        self,
        connector: Connector[Any],
        *,
        producer: Any,
        topics: Topics,
        checkpoint_path: Path,
        source: str,
        max_bytes: int = 65536,
        time_range: TimeRange = DEFAULT_TIME_RANGE,
        checkpoint_interval: float = 5.0,
        dedup_capacity: int = 100_000,
    ) -> None:
        self.connector = connector
        self.name = connector.name
        self.producer = producer
        self.topics = topics
        self.source = source
        self.max_bytes = max_bytes
        self.time_range = time_range
        self.checkpoint_interval = checkpoint_interval
        self.store = CheckpointStore(checkpoint_path)
        saved = self.store.load()
        self.resume_from: Any = saved.get("position")
        self.recent = RecentIds(dedup_capacity, saved.get("recent_ids", []))
        self.stopping = asyncio.Event()
        self._position: Any = self.resume_from
        self._failures: list[str] = []
        self._pending: set[asyncio.Future[None]] = set()
        self.counts = {"published": 0, "duplicate": 0, "rejected": 0}

    # --- Sink -------------------------------------------------------------------------------

    async def send(self, item: Item) -> SendOutcome:
        # Awaited: a failure is the caller's to handle (an HTTP 503, an MQTT message left
        # unacknowledged), so it does not stop the runner; the position moves only on success.
        outcome, future = self._dispatch(item, fatal=False)
        if future is not None:
            await future
        return outcome

    async def submit(self, item: Item) -> SendOutcome:
        if self._failures:
            raise SendFailed("; ".join(self._failures[:3]))
        outcome, _ = self._dispatch(item, fatal=True)
        await asyncio.sleep(0)  # let acknowledgements and signals through on long runs
        return outcome

    async def reject(
        self, raw: bytes, reason: str, detail: str, *, origin: str = "", position: Any = None
    ) -> None:
        await self._dead_letter(raw, reason, detail, origin, position)

    async def checkpoint(self) -> None:
        position = self._position
        loop = asyncio.get_running_loop()
        flushed = await loop.run_in_executor(
            None, flush_within, self.producer, DELIVERY_TIMEOUT_MS / 1000
        )
        if not flushed:
            raise SendFailed(explain_send_failure(KafkaTimeoutError()))
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._failures:
            raise SendFailed("; ".join(self._failures[:3]))
        self.store.save({"position": position, "recent_ids": self.recent.newest(PERSISTED_IDS)})

    # --- internals --------------------------------------------------------------------------

    def _track(
        self, kafka_future: Any, *, on_ok: Any = None, fatal: bool = True
    ) -> asyncio.Future[None]:
        """Bridge a kafka-python future (resolved on the sender thread) into asyncio."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        started = time.perf_counter()

        def ok(_meta: Any) -> None:
            def settle() -> None:
                metrics.CONNECTOR_SEND_SECONDS.labels(self.name).observe(
                    time.perf_counter() - started
                )
                if on_ok is not None:
                    on_ok()
                if not done.done():
                    done.set_result(None)

            loop.call_soon_threadsafe(settle)

        def failed(exc: BaseException) -> None:
            def settle() -> None:
                metrics.CONNECTOR_SEND_ERRORS.labels(self.name).inc()
                if fatal:
                    self._failures.append(explain_send_failure(exc))
                if not done.done():
                    done.set_exception(SendFailed(explain_send_failure(exc)))

            loop.call_soon_threadsafe(settle)

        kafka_future.add_callback(ok)
        kafka_future.add_errback(failed)
        self._pending.add(done)
        done.add_done_callback(self._pending.discard)
        return done

    def _move_to(self, position: Any, future: asyncio.Future[None] | None, fatal: bool) -> None:
        """Advance the resume position: at once for fire-and-forget records (a failure then
        blocks every later checkpoint), or once an awaited record was acknowledged."""
        if position is None:
            return
        if future is None or fatal:
            self._position = position
            return

        def settled(f: asyncio.Future[None]) -> None:
            if not f.cancelled() and f.exception() is None:
                self._position = position

        future.add_done_callback(settled)

    def _dispatch(
        self, item: Item, *, fatal: bool
    ) -> tuple[SendOutcome, asyncio.Future[None] | None]:
        raw = item.raw
        try:
            value = to_bytes(item.payload, default_source=self.source)
        except (TypeError, ValueError) as exc:
            value = raw or repr(item.payload).encode()
            return self._reject_now(
                value, "invalid-data", f"not JSON-serialisable: {exc}", item, fatal
            )
        try:
            event, record = admit(
                value,
                self.topics,
                connector=self.name,
                max_bytes=self.max_bytes,
                time_range=self.time_range,
            )
        except EventRejected as exc:
            return self._reject_now(raw or value, exc.reason, exc.detail, item, fatal)
        uid = f"{event.envelope.source}\x1f{event.envelope.id}"
        if uid in self.recent:
            self.counts["duplicate"] += 1
            metrics.CONNECTOR_DUPLICATES.labels(self.name).inc()
            self._move_to(item.position, None, fatal)
            return SendOutcome("duplicate", event_id=event.envelope.id), None
        self.recent.add(uid)
        topic = record.topic
        try:
            kafka_future = self.producer.send(
                topic, record.value, key=record.key, headers=record.headers
            )
        except KafkaError as exc:  # no metadata for the topic in time, buffer full, closed
            self.recent.discard(uid)
            metrics.CONNECTOR_SEND_ERRORS.labels(self.name).inc()
            if fatal:
                self._failures.append(f"{type(exc).__name__}: {exc}")
            raise SendFailed(f"{topic}: {exc}") from None
        event_ts = event.event_time.timestamp()

        def published() -> None:
            self.counts["published"] += 1
            metrics.CONNECTOR_PUBLISHED.labels(self.name).inc()
            metrics.CONNECTOR_LAST_EVENT.labels(self.name).set(event_ts)
            metrics.CONNECTOR_LAST_SEND.labels(self.name).set_to_current_time()

        future = self._track(kafka_future, on_ok=published, fatal=fatal)

        def forget_if_failed(f: asyncio.Future[None]) -> None:
            # Not published after all: a later re-send must not be dropped as a duplicate.
            if f.cancelled() or f.exception() is not None:
                self.recent.discard(uid)

        future.add_done_callback(forget_if_failed)
        self._move_to(item.position, future, fatal)
        return SendOutcome("published", topic=topic, event_id=event.envelope.id), future

    def _reject_now(
        self, raw: bytes, reason: str, detail: str, item: Item, fatal: bool
    ) -> tuple[SendOutcome, asyncio.Future[None]]:
        future = self._dead_letter_future(raw, reason, detail, item.origin, fatal=fatal)
        self._move_to(item.position, future, fatal)
        return SendOutcome("rejected", reason=reason, detail=detail), future

    def _dead_letter_future(
        self, raw: bytes, reason: str, detail: str, origin: str, *, fatal: bool = True
    ) -> asyncio.Future[None]:
        self.counts["rejected"] += 1
        metrics.CONNECTOR_REJECTED.labels(self.name, reason).inc()
        log.warning("rejected record from %s: %s: %s", origin or self.name, reason, detail)
        letter = refuse(raw, reason, detail, self.topics, connector=self.name, origin=origin)
        try:
            sent = self.producer.send(letter.topic, letter.value, headers=letter.headers)
        except KafkaError as exc:
            metrics.CONNECTOR_SEND_ERRORS.labels(self.name).inc()
            if fatal:
                self._failures.append(f"{type(exc).__name__}: {exc}")
            raise SendFailed(f"{self.topics.deadletter}: {exc}") from None
        return self._track(sent, fatal=fatal)

    async def _dead_letter(
        self, raw: bytes, reason: str, detail: str, origin: str, position: Any
    ) -> None:
        future = self._dead_letter_future(raw, reason, detail, origin, fatal=False)
        self._move_to(position, future, fatal=False)
        await future

    async def _periodic_checkpoint(self) -> None:
        while True:
            await asyncio.sleep(self.checkpoint_interval)
            await self.checkpoint()

    async def run(self, *, install_signals: bool = True) -> dict[str, int]:
        """Run the connector to its end (or a signal), then flush and checkpoint."""
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stopping.set)
        ticker = asyncio.create_task(self._periodic_checkpoint())
        task = asyncio.create_task(self.connector.run(self))
        stop = asyncio.create_task(self.stopping.wait())
        try:
            await asyncio.wait({task, stop, ticker}, return_when=asyncio.FIRST_COMPLETED)
            if ticker.done():
                ticker.result()  # a failed checkpoint raises here
            if not task.done():
                # Give the connector a moment to finish its current record, then cancel it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), timeout=5)
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except BaseException:
            # Keep what was acknowledged before the failure, then let the failure surface.
            with contextlib.suppress(Exception):
                await self.checkpoint()
            raise
        finally:
            ticker.cancel()
            stop.cancel()
            with contextlib.suppress(asyncio.CancelledError, SendFailed):
                await ticker
            if install_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
        await self.checkpoint()
        return {**self.counts, "signalled": int(self.stopping.is_set())}
