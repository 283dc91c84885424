"""Follow the alerts topic: every partition, no consumer group, so tailing never steals work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import TopicAuthorizationFailedError

from hub.kafka import missing_topic, not_authorized
from hub.kafka_security import client_options


def follow(
    bootstrap: str,
    topic: str,
    *,
    from_beginning: bool,
    idle_timeout: float | None = None,
) -> Iterator[Any]:
    """Yield records as they arrive; stop after `idle_timeout` seconds without one, if set."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        client_id="onenet-tail",
        enable_auto_commit=False,
        consumer_timeout_ms=200,
        **client_options(),
    )
    try:
        yield from _follow(consumer, bootstrap, topic, from_beginning, idle_timeout)
    except TopicAuthorizationFailedError:
        raise not_authorized(topic) from None
    finally:
        consumer.close()


def _follow(
    consumer: Any, bootstrap: str, topic: str, from_beginning: bool, idle_timeout: float | None
) -> Iterator[Any]:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise missing_topic(bootstrap, topic)
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    if from_beginning:
        consumer.seek_to_beginning(*assigned)
    else:
        consumer.seek_to_end(*assigned)
    last = time.monotonic()
    while True:
        got = False
        for record in consumer:
            got = True
            last = time.monotonic()
            yield record
        if not got and idle_timeout is not None and time.monotonic() - last >= idle_timeout:
            return
