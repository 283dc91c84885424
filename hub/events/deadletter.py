"""Dead-letter headers: why a record was refused and where it came from.

The record's original key and bytes are re-published untouched; everything the hub knows about
the failure goes into ``onenet_dlq_*`` headers, so a fixed record can be replayed as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from hub.events.fields import format_rfc3339

PREFIX = "onenet_dlq_"
MAX_DETAIL_BYTES = 1024
_REASON = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def deadletter_headers(
    reason: str,
    detail: str,
    *,
    source_topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    connector: str | None = None,
    original_headers: Iterable[tuple[str, bytes | None]] | None = None,
    now: datetime | None = None,
) -> list[tuple[str, bytes]]:
    """Original headers (minus stale ``onenet_dlq_*`` ones from an earlier trip) plus ours.

    A null original header value becomes ``b""`` (producers take bytes only). Stale ones are
    dropped so a record that fails again after a replay shows only the latest
    reason. ``detail`` is cut to 1 KiB on a character boundary to stay under broker limits.
    """
    if len(reason) > 64 or not _REASON.fullmatch(reason):
        raise ValueError(f"reason must be a short kebab-case code, got {reason!r}")
    headers: list[tuple[str, bytes]] = [
        (name, value or b"")
        for name, value in original_headers or ()
        if not name.startswith(PREFIX)
    ]
    ours: dict[str, str | int | None] = {
        "reason": reason,
        "detail": _one_line(detail),
        "source_topic": source_topic,
        "partition": partition,
        "offset": offset,
        "connector": connector,
        "time": format_rfc3339(now if now is not None else datetime.now(UTC)),
    }
    for name, value in ours.items():
        if value is not None:
            encoded = str(value).encode("utf-8")
            if name == "detail":
                encoded = _truncate(encoded, MAX_DETAIL_BYTES)
            headers.append((PREFIX + name, encoded))
    return headers


def read_deadletter(headers: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """The ``onenet_dlq_*`` headers as ``{"reason": …, "detail": …, …}`` (prefix removed)."""
    out: dict[str, str] = {}
    for name, value in headers or ():
        if name.startswith(PREFIX) and value is not None:
            out[name.removeprefix(PREFIX)] = value.decode("utf-8", "replace")
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text


def _truncate(encoded: bytes, limit: int) -> bytes:
    if len(encoded) <= limit:
        return encoded
    ellipsis = "…".encode()
    return encoded[: limit - len(ellipsis)].decode("utf-8", "ignore").encode() + ellipsis
