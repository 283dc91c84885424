"""Follow the alerts topic: every partition, no consumer group, so tailing never steals work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from hub.errors import UserError
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
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise UserError(
                f"topic {topic} does not exist",
                hint="create the hub's topics with `onenet topics create`",
            )
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
    finally:
        consumer.close()
