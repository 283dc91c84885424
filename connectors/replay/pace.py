"""`--pace original`: wait between records as long as their event times are apart.

Waits are measured against a running target on the monotonic clock rather than slept one
by one, so the time spent publishing is absorbed instead of adding up over a long replay.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from connectors.sdk.base import pause
from connectors.sdk.item import Draft
from hub.events.fields import parse_rfc3339


class Pacer:
    def __init__(self, *, speed: float, stopping: asyncio.Event, max_wait: float | None = None):
        self.speed = speed
        self.max_wait = max_wait
        self.stopping = stopping
        self._event: datetime | None = None
        self._wall = 0.0

    async def wait_for(self, event_time: datetime | None) -> None:
        """Return when `event_time` is due (at once for the first or an out-of-order one)."""
        if event_time is None:
            return
        if self._event is None:
            self._event, self._wall = event_time, time.monotonic()
            return
        gap = (event_time - self._event).total_seconds() / self.speed
        if gap <= 0:
            return
        if self.max_wait is not None:
            gap = min(gap, self.max_wait)
        target = self._wall + gap
        delay = target - time.monotonic()
        if delay > 0:
            await pause(self.stopping, delay)
        self._event, self._wall = event_time, target


def event_time(payload: Draft | Mapping[str, Any] | bytes) -> datetime | None:
    """When a record's event happened, if it says so in a form we can read."""
    value: Any
    if isinstance(payload, Draft):
        value = payload.time
    elif isinstance(payload, bytes):
        try:
            document = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return None
        value = document.get("time") if isinstance(document, dict) else None
    else:
        value = payload.get("time")
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError:
        return None
