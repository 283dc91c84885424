"""The batch step on a real broker: outputs acknowledged, then the batch's offsets committed."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hub.correlate.pack import load_pack
from hub.kafka import TopicSpec, ensure_topics
from hub.stream.core import StreamCore
from hub.stream.hotpath import Destinations, step
from tests.test_stream_core import reading


async def read_all(bootstrap: str, topic: str, want: int) -> list[object]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    got: list[object] = []
    try:
        deadline = time.monotonic() + 60
        while len(got) < want and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                got += batch
    finally:
        await consumer.stop()
    return got


def test_a_batch_fires_dead_letters_and_commits_after_the_acks(kafka_bootstrap: str) -> None:
    run = uuid.uuid4().hex[:8]
    pack = load_pack()
    source = f"hp-{run}-safety"
    to = Destinations(f"hp-{run}-alerts", f"hp-{run}-rekey", f"hp-{run}-dlq", f"hp-{run}-cl-")
    names = [source, to.alerts, to.rekey, to.deadletter]
    names += [to.changelog_prefix + r.name for r in pack.rules]
    ensure_topics(kafka_bootstrap, [TopicSpec(n, 1, 1) for n in names])

    async def scenario() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for r in [reading(i, i * 5, 5000.0) for i in range(3)]:
                await producer.send_and_wait(source, key=r.key, value=r.value)
            await producer.send_and_wait(source, key=b"S1", value=b"{not json")
            consumer = AIOKafkaConsumer(
                source,
                bootstrap_servers=kafka_bootstrap,
                group_id=f"hp-{run}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            await consumer.start()
            try:
                core = StreamCore(pack, lateness_s=300)
                done, deadline = 0, time.monotonic() + 60
                while done < 4 and time.monotonic() < deadline:
                    done += await step(consumer, producer, core, to)
                assert done == 4
                committed = await consumer.committed(TopicPartition(source, 0))
                assert committed == 4
            finally:
                await consumer.stop()
        finally:
            await producer.stop()
        alerts = await read_all(kafka_bootstrap, to.alerts, 1)
        assert len(alerts) == 1
        dead = await read_all(kafka_bootstrap, to.deadletter, 1)
        assert len(dead) == 1
        assert dict(dead[0].headers)["onenet_dlq_reason"] == b"invalid-json"  # type: ignore[attr-defined]
        changelog = await read_all(kafka_bootstrap, to.changelog_prefix + "hydrogen-leak", 1)
        assert {m.key for m in changelog} == {b"S1"}  # type: ignore[attr-defined]

    asyncio.run(scenario())
