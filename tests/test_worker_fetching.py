"""A real worker app on a real broker: readiness follows what its consumer really fetches.

The app runs in this process (as `onenet worker` runs it, without the command line around
it), so the test can pause one partition the way Faust itself does and see readiness fail,
then resume it and see readiness come back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from faust.types import TP
from prometheus_client import REGISTRY

from hub.kafka import producer
from hub.observe.progress import ProgressTracker
from hub.settings import Settings
from hub.stream.app import create_app
from hub.stream.fetching import stream_partitions
from hub.stream.worker import fetching_readiness, worker_readiness
from tests.support.hubproc import Hub
from tests.support.readings import reading

pytestmark = pytest.mark.integration


async def until(
    check: Callable[[], Awaitable[tuple[bool, str]]], want: bool, timeout: float = 120
) -> str:
    """Poll `check` until it answers `want`; return its reason then."""
    deadline = time.monotonic() + timeout
    answer = (not want, "never checked")
    while time.monotonic() < deadline:
        answer = await check()
        if answer[0] is want:
            return answer[1]
        await asyncio.sleep(0.2)
    raise AssertionError(f"readiness stayed {answer} for {timeout:g} s")


def stalled(topic: str) -> float | None:
    return REGISTRY.get_sample_value("onenet_partition_stalled", {"topic": topic, "partition": "0"})


def settings_for(hub: Hub, tmp_path: Path) -> Settings:
    return Settings(
        kafka_bootstrap_servers=hub.bootstrap,
        topic_prefix=hub.prefix,
        app_id=hub.app_id,
        state_dir=tmp_path / "state",
        partitions=1,
        worker_session_timeout_s=10,
    )


def test_readiness_is_false_while_a_partition_is_paused_and_true_once_fetching(
    hub: Hub, tmp_path: Path
) -> None:
    settings = settings_for(hub, tmp_path)
    safety = f"{hub.prefix}.events.safety"
    tracker = ProgressTracker(stall_after=3)

    async def readiness(app: Any) -> tuple[bool, str]:
        ready, reason = worker_readiness(app)
        return await fetching_readiness(app, tracker) if ready else (ready, reason)

    async def scenario() -> None:
        app = create_app(settings)
        await app.start()
        try:
            check: Callable[[], Awaitable[tuple[bool, str]]] = lambda: readiness(app)  # noqa: E731
            await until(check, True)
            assert stalled(safety) == 0
            # Paused, as Faust pauses partitions around a rebalance: not ready, and named.
            app.consumer.pause_partitions({TP(safety, 0)})
            reason = await until(check, False, timeout=10)
            assert f"{safety}[0] paused" in reason
            assert stalled(safety) == 1
            # Records arrive while it is paused: they are lag the worker does not take.
            p = producer(hub.bootstrap)
            for i in range(3):
                p.send(safety, b"{}", key=f"S-{i}".encode()).get(30)
            p.close()
            app.consumer.resume_partitions({TP(safety, 0)})
            await until(check, True, timeout=60)
            assert stalled(safety) == 0
            # The fetch loop gone: nothing is consumed, whatever the assignment says.
            await app._fetcher.stop()
            reason = await until(check, False, timeout=10)
            assert reason == "the worker's fetcher is not running"
        finally:
            await app.stop()

    asyncio.run(scenario())


def test_recovery_clears_the_buffers_before_any_stream_partition_delivers(
    hub: Hub, tmp_path: Path
) -> None:
    """The end of a recovery clears every agent's buffer (Faust's flow-control resume). A
    stream partition resumed before that delivers records into a buffer about to be cleared:
    they are lost, counted as read, and the partition takes nothing more until the next
    rebalance. Here the records arrive while the partitions are paused, as in a rebalance."""
    settings = settings_for(hub, tmp_path)
    tracker = ProgressTracker(stall_after=3)

    async def scenario() -> None:
        app = create_app(settings)
        await app.start()
        try:
            check: Callable[[], Awaitable[tuple[bool, str]]] = lambda: fetching_readiness(  # noqa: E731
                app, tracker
            )
            await until(lambda: asyncio.sleep(0, worker_readiness(app)), True)
            await until(check, True)
            consumer, flow = app.consumer, app.flow_control
            streams = stream_partitions(app)
            delivering_at_clear: list[set[Any]] = []
            clear = flow.clear

            def watched_clear() -> None:
                delivering_at_clear.append(streams & set(consumer._get_active_partitions()))
                clear()

            flow.clear = watched_clear
            consumer.pause_partitions(streams)
            p = producer(hub.bootstrap)
            for i in range(5):
                p.send(
                    f"{hub.prefix}.events.safety",
                    orjson.dumps(reading(f"r-{i}", "S-1", -40 + i, 100)),
                    key=b"S-1",
                ).get(30)
            p.close()
            await app.tables.recovery.on_recovery_completed(app.consumer_generation_id)
            assert delivering_at_clear == [set()]

            async def processed() -> tuple[bool, str]:
                await check()
                lag = REGISTRY.get_sample_value(
                    "onenet_partition_lag_messages",
                    {"topic": f"{hub.prefix}.events.safety", "partition": "0"},
                )
                return lag == 0, f"{lag} records not processed"

            # Every record of the partition is processed and committed.
            await until(processed, True, timeout=60)
        finally:
            await app.stop()

    asyncio.run(scenario())


def test_records_fetched_while_every_partition_is_paused_are_delivered_after_resume(
    hub: Hub, tmp_path: Path
) -> None:
    """Faust pauses every active partition at once at a rebalance and at the end of a
    recovery. A fetch already waiting must not hand out records then: they would be dropped
    by Faust and never fetched again, the partition taking nothing and committing nothing."""
    settings = settings_for(hub, tmp_path)
    tracker = ProgressTracker(stall_after=3)
    safety = f"{hub.prefix}.events.safety"

    async def scenario() -> None:
        app = create_app(settings)
        await app.start()
        try:

            async def processed() -> tuple[bool, str]:
                ready, reason = await fetching_readiness(app, tracker)
                lag = REGISTRY.get_sample_value(
                    "onenet_partition_lag_messages", {"topic": safety, "partition": "0"}
                )
                return ready and lag == 0, f"{reason}; {lag} records not processed"

            await until(lambda: asyncio.sleep(0, worker_readiness(app)), True)
            await until(processed, True)
            consumer = app.consumer
            live = consumer._get_active_partitions()  # Faust's own set, as its fetch loop passes it
            active = set(live)
            # A fetch that starts while partitions are active, and waits for records...
            fetch = asyncio.ensure_future(consumer._getmany(live, 10.0))
            await asyncio.sleep(0.2)
            # ...while every partition is paused, as at a rebalance; then records arrive.
            consumer.pause_partitions(active)
            p = producer(hub.bootstrap)
            for i in range(3):
                value = orjson.dumps(reading(f"p-{i}", "S-2", -40 + i, 100))
                p.send(safety, value, key=b"S-2").get(30)
            p.close()
            handed_out = await fetch
            assert all(not batch for tp, batch in handed_out.items() if tp not in live)
            consumer.resume_partitions(active)
            await until(processed, True, timeout=60)
        finally:
            await app.stop()

    asyncio.run(scenario())
