"""Table recovery that cannot lose the first records of a partition after a rebalance.

Faust (faust-streaming 0.15) ends a recovery in `Recovery.on_recovery_completed` in this
order: resume the stream partitions, seek them to their committed offsets (a request through
the consumer thread, which waits behind a fetch of up to a second), then resume flow control,
which clears every agent's buffer. While the seek is awaited the fetch loop already delivers
records of the resumed partitions into those buffers; the clear then drops them. Faust has
already counted them as read and the Kafka client has moved its position past them, so they
are never fetched again: the partition takes nothing until its next rebalance, no offset of
it is committed, and readiness said ready all along. The seek cannot rewind them either: the
client seeks only partitions with a committed offset, and a partition nobody committed yet
is exactly the one whose records arrive first. The more loaded the machine, the longer the
seek waits and the more records fall into the window.

`OrderedRecovery` keeps Faust's steps and changes only their order: seek while the stream
partitions are still paused, clear the buffers, and resume the stream partitions last, so
nothing reaches a buffer that is about to be cleared.
"""

from __future__ import annotations

import asyncio
from typing import Any

from faust.tables import TableManager
from faust.tables.recovery import Recovery


class OrderedRecovery(Recovery):
    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        """Call when active table recovery is completed (Faust's steps, reordered)."""
        app: Any = self.app
        consumer = app.consumer
        self.log.info("Restore complete!")
        await app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [
            asyncio.ensure_future(
                table.on_recovery_completed(
                    self.actives_for_table[table], self.standbys_for_table[table]
                )
            )
            for table in self.tables.values()
        ]
        if callbacks:
            await asyncio.wait(callbacks)
        assignment = consumer.assignment()
        if app.consumer_generation_id != generation_id:
            self.log.warning(
                "Recovery rebalancing again app id %s param %s",
                app.consumer_generation_id,
                generation_id,
            )
            return
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await self._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
        self.completed.set()
        # Clears every agent's buffer: before any stream partition may deliver again.
        app.flow_control.resume()
        consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})
        consumer.resume_flow()
        await app._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        app.on_rebalance_end()
        self.log.info("Worker ready")


class OrderedTableManager(TableManager):
    """Faust's table manager with `OrderedRecovery` (set as the app's `TableManager`)."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = OrderedRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
