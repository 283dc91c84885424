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

import pytest
from faust.types import TP
from prometheus_client import REGISTRY

from hub.kafka import producer
from hub.observe.progress import ProgressTracker
from hub.settings import Settings
from hub.stream.app import create_app
from hub.stream.worker import fetching_readiness, worker_readiness
from tests.support.hubproc import Hub

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


def test_readiness_is_false_while_a_partition_is_paused_and_true_once_fetching(
    hub: Hub, tmp_path: Path
) -> None:
    settings = Settings(
        kafka_bootstrap_servers=hub.bootstrap,
        topic_prefix=hub.prefix,
        app_id=hub.app_id,
        state_dir=tmp_path / "state",
        partitions=1,
        worker_session_timeout_s=10,
    )
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
