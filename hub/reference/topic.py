"""The reference topic: sites as records keyed by id, and the table that follows it.

Every record's key is the site id and its value the site as JSON; an empty value (a
tombstone) deletes the site. The topic is compacted, so it holds the newest record of every
site for ever and a reader that starts at the beginning has the whole gazetteer.

`ReferenceTable` is the small consumer the workers and the view run: it reads every
partition from the beginning up to the end offsets it found when it started (so a process
starts with the whole gazetteer), then follows new records in a thread. No consumer group:
every process reads all of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from pydantic import ValidationError

from hub.kafka_security import client_options
from hub.reference.model import Gazetteer, Site
from hub.settings import Settings

log = logging.getLogger("onenet.reference")


def encode_site(site: Site) -> tuple[bytes, bytes]:
    return site.id.encode(), orjson.dumps(site.model_dump(mode="json"))


def apply_record(table: Gazetteer, key: bytes | None, value: bytes | None) -> bool:
    """Apply one record; False (and the table unchanged) for a record that is not a site."""
    if key is None:
        return False
    if value is None:
        table.delete(key.decode("utf-8", "replace"))
        return True
    try:
        site = Site.model_validate_json(value)
    except ValidationError:
        return False
    if site.id != key.decode("utf-8", "replace"):
        return False
    table.put(site)
    return True


def send_sites(producer: Any, topic: str, sites: Iterable[Site]) -> list[Any]:
    """Send each site; the futures, in order, for the caller to wait on."""
    futures = []
    for site in sites:
        key, value = encode_site(site)
        futures.append(producer.send(topic, key=key, value=value))
    return futures


class ReferenceTable:
    """The gazetteer of one process, kept current from the reference topic."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        table: Gazetteer,
        settings: Settings | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.table = table
        self.settings = settings
        self.loaded = threading.Event()
        self.skipped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Any = None

    def _connect(self) -> Any:
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap.split(","),
            client_id="onenet-reference",
            enable_auto_commit=False,
            consumer_timeout_ms=500,
            **client_options(self.settings),
        )
        partitions = consumer.partitions_for_topic(self.topic) or set()
        assigned = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        if assigned:
            consumer.seek_to_beginning(*assigned)
        return consumer

    def _apply(self, records: Iterable[Any]) -> None:
        for record in records:
            if not apply_record(self.table, record.key, record.value):
                self.skipped += 1
                log.warning(
                    "skipping a reference record that is not a site",
                    extra={"topic": self.topic, "offset": record.offset},
                )

    def load(self, timeout_s: float = 30.0) -> int:
        """Read the topic to its current end; the number of sites then known.

        A missing topic is an empty gazetteer (names fall back to ids), never a failure: a
        hub without reference data still raises every alert.
        """
        self._consumer = self._connect()
        consumer = self._consumer
        assigned = list(consumer.assignment())
        ends: dict[Any, int] = consumer.end_offsets(assigned) if assigned else {}
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                log.warning("reference data not read to its end within %.0f s", timeout_s)
                break
            for batch in consumer.poll(timeout_ms=500).values():
                self._apply(batch)
        self.loaded.set()
        return len(self.table.sites)

    def start(self, timeout_s: float = 30.0) -> ReferenceTable:
        """Load, then follow in a daemon thread until `stop`."""
        try:
            self.load(timeout_s)
        except KafkaError as exc:
            log.warning("reference data unavailable: %s", exc)
            self.loaded.set()
            return self
        self._thread = threading.Thread(target=self._follow, name="onenet-reference", daemon=True)
        self._thread.start()
        return self

    def _follow(self) -> None:
        consumer = self._consumer
        while not self._stop.is_set():
            try:
                if not consumer.assignment():
                    # The topic did not exist at start: look again now and then.
                    self._stop.wait(5.0)
                    consumer.close()
                    self._consumer = consumer = self._connect()
                    continue
                for batch in consumer.poll(timeout_ms=500).values():
                    self._apply(batch)
            except KafkaError as exc:  # the client reconnects by itself; say so and go on
                log.warning("reading reference data: %s", exc)
                self._stop.wait(1.0)
        consumer.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        elif self._consumer is not None:
            self._consumer.close()
