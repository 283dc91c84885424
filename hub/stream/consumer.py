"""A Faust consumer that never lets the Kafka client hand out records it will not deliver.

Faust (faust-streaming 0.15) passes its live set of active partitions to the consumer
thread, and aiokafka's `fetched_records(partitions)` re-reads it on every wake-up while it
waits for data. When Faust pauses partitions meanwhile (at a rebalance; at the end of a
table recovery, when the changelogs are paused before the stream partitions resume), the
set can be empty by then, and aiokafka treats an empty set as "every partition": it hands
out records of paused partitions and moves their positions past them. Faust then drops
those records because their partition is not active. Nothing rewinds them: the seek after
a recovery touches only partitions with a committed offset, so a partition nobody
committed yet loses its first records, takes nothing more, and commits nothing.

`SnapshotConsumer` asks the thread with a copy of the active set taken when the fetch
starts, and seeks back any partition that was paused while the fetch waited, to the first
record it was handed: the records are fetched again when the partition resumes.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka


class SnapshotConsumer(faust_aiokafka.Consumer):
    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        asked = set(active_partitions) if active_partitions is not None else None
        records = await super()._getmany(asked, timeout)
        if asked is None:  # a client-only app reads everything
            return records
        live = set(self._get_active_partitions()) | set(self._buffered_partitions)
        kept = {}
        for tp, batch in records.items():
            if tp in live or not batch:
                kept[tp] = batch
            else:
                await self.seek(tp, batch[0].offset)
        return kept


class SnapshotTransport(faust_aiokafka.Transport):
    Consumer = SnapshotConsumer


class HubApp(faust.App):
    """faust.App whose Kafka transport creates `SnapshotConsumer`s."""

    def _new_transport(self) -> Any:
        return SnapshotTransport(self.conf.broker_consumer, self)
