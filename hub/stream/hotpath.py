"""One step of the batch hot path: a consumer's whole fetch through the core, then commit.

Faust's consumer hands the agent one record at a time; this reads what an aiokafka consumer
has fetched in one `getmany`, runs it through `StreamCore` as one batch, sends every output
without awaiting each, and commits the batch's offsets only once every send is acknowledged:
a crash before the commit replays the batch, and deterministic alert ids make the replay
harmless (at-least-once, as the per-record agent).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata

from hub.stream.core import Output, Record, StreamCore


@dataclass(frozen=True, slots=True)
class Destinations:
    """Where each kind of output goes; changelogs go to `changelog_prefix` + the rule."""

    alerts: str
    rekey: str
    deadletter: str
    changelog_prefix: str


def records_of(
    fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
) -> list[Record]:
    """aiokafka's fetch as core records, partition by partition in offset order."""
    out: list[Record] = []
    for tp, messages in fetched.items():
        for m in messages:
            out.append(
                Record(
                    tp.topic,
                    tp.partition,
                    m.offset,
                    m.key,
                    m.value,
                    list(m.headers or ()),
                    m.timestamp / 1000.0,
                )
            )
    return out


async def send_all(producer: AIOKafkaProducer, out: Output, to: Destinations) -> None:
    """Send every output of a batch and wait until the broker acknowledged all of them."""
    topics = {"alert": to.alerts, "rekey": to.rekey, "deadletter": to.deadletter}
    pending = []
    for s in out.sends:
        topic = to.changelog_prefix + s.topic if s.kind == "changelog" else topics[s.kind]
        pending.append(
            await producer.send(topic, key=s.key, value=s.value, headers=s.headers or None)
        )
    await asyncio.gather(*pending)


async def step(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    core: StreamCore,
    to: Destinations,
    *,
    timeout_ms: int = 100,
    max_records: int = 5000,
) -> int:
    """Process one fetch; returns how many records it held (0 when nothing came)."""
    fetched = await consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
    batch = records_of(fetched)
    if not batch:
        return 0
    out = core.process(batch)
    await send_all(producer, out, to)
    await consumer.commit(
        {TopicPartition(t, p): OffsetAndMetadata(o, "") for (t, p), o in out.commits.items()}
    )
    return len(batch)
