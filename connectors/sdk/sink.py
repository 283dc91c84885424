"""What a connector talks to. A Protocol, so tests can pass a real in-memory sink."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from connectors.sdk.item import Item, SendOutcome


class Sink(Protocol):
    #: the position of the last checkpoint, or None on a first run: resume after it
    resume_from: Any
    #: set when the connector should finish: on SIGINT/SIGTERM or when the runner stops
    stopping: asyncio.Event

    async def send(self, item: Item) -> SendOutcome:
        """Validate and publish one record, returning once the broker acknowledged it
        (or, for a rejected record, once its dead letter was acknowledged)."""
        ...

    async def submit(self, item: Item) -> SendOutcome:
        """Like `send`, without waiting for the acknowledgement: for high-rate sources.
        A failed send stops the runner and keeps the checkpoint before it: nothing is lost."""
        ...

    async def reject(
        self, raw: bytes, reason: str, detail: str, *, origin: str = "", position: Any = None
    ) -> None:
        """Dead-letter a record the connector could not even turn into an item."""
        ...

    async def checkpoint(self) -> None:
        """Wait for every acknowledgement so far, then persist the newest position."""
        ...
