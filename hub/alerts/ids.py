"""Deterministic alert ids: a replay or a restarted worker must re-create the same id."""

from __future__ import annotations

import hashlib
from datetime import datetime


def alert_id(rule: str, key: str, anchor: datetime) -> str:
    """Id of one episode of one rule for one key, anchored at the episode's first event time.

    The anchor is an event time, never a wall-clock time, so re-processing the same events
    yields the same id; the result is short enough for a URL and a Kafka key.
    """
    raw = f"{rule}\x1f{key}\x1f{anchor.isoformat()}".encode()
    return f"{rule}-{hashlib.sha256(raw).hexdigest()[:16]}"
