"""The hub's wall clock, in one place: code that needs "now" takes a `Clock` and defaults to
`utcnow`, so a test or a rule test can pass a fixed or stepped clock instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: a source of the current time, aware and in UTC
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Now, aware and in UTC: the only call to `datetime.now` the hub's clock users need."""
    return datetime.now(UTC)
