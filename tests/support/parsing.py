"""Assertions shared by the parser tests: how a refusal must look."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hub.events import Event, EventRejected, Reason, parse_structured

REASONS = {reason.value for reason in Reason}


def rejection(raw: bytes, **kwargs: Any) -> EventRejected:
    """The EventRejected that parsing `raw` must raise."""
    with pytest.raises(EventRejected) as info:
        parse_structured(raw, **kwargs)
    return info.value


def parses_or_rejects(call: Callable[[], Event]) -> Event | None:
    """The event `call` parsed, or None after checking its refusal is a clean one: a known
    reason and a one-line detail. Any other exception propagates and fails the test."""
    refused: EventRejected | None = None
    try:
        event = call()
    except EventRejected as error:
        refused = error
    if refused is not None:
        assert refused.reason in REASONS
        assert refused.detail
        assert "\n" not in refused.detail
        return None
    assert isinstance(event, Event)
    return event
