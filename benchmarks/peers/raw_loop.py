"""The baseline: a group-less aiokafka consumer that reads and JSON-decodes every record.

python -m benchmarks.peers.raw_loop BOOTSTRAP TOPICS PARTITIONS EXPECTED RESULT
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from benchmarks.peers.shared import Clock


async def run(bootstrap: str, topics: list[str], partitions: int, clock: Clock) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        parts = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        while clock.count < clock.expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for records in batch.values():
                for record in records:
                    orjson.loads(record.value)
                    clock.tick()
    finally:
        await consumer.stop()


def main() -> None:
    bootstrap, topics, partitions, expected, result = sys.argv[1:6]
    clock = Clock(int(expected), Path(result))
    asyncio.run(run(bootstrap, topics.split(","), int(partitions), clock))


if __name__ == "__main__":
    main()
