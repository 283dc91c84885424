"""Dead-letter headers: why a record was refused and where it came from.

The record's original key and bytes are re-published untouched; everything the hub knows about
the failure goes into ``onenet_dlq_*`` headers, so a fixed record can be replayed as it was.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from hub.clock import utcnow
from hub.events.fields import format_rfc3339

PREFIX = "onenet_dlq_"
MAX_DETAIL_BYTES = 1024
#: A dead letter must fit what the dead-letter topic and the producers take: Kafka's default
#: ``max.message.bytes`` is 1 MiB and Faust's producer sends at most 1,000,000 bytes a
#: request; this leaves room for the batch framing.
MAX_RECORD_BYTES = 900_000
#: What is kept of a record too large to dead-letter whole: enough to see what it was.
TRUNCATED_BYTES = 65536
#: Room left for original headers on a truncated copy; ours come on top.
TRUNCATED_HEADER_BYTES = 16384
MAX_KEY_BYTES = 1024
#: The correlation rule that refused the record (late events, processing errors).
RULE_HEADER = PREFIX + "rule"
#: Where a connector read the record (file:line, MQTT topic, URL), cut to MAX_ORIGIN_BYTES.
ORIGIN_HEADER = PREFIX + "origin"
MAX_ORIGIN_BYTES = 1024
#: On a truncated copy: the original value's size in bytes, and its SHA-256 (hex), so the
#: sender can find the record it sent.
ORIGINAL_SIZE_HEADER = PREFIX + "original_size"
ORIGINAL_SHA256_HEADER = PREFIX + "original_sha256"
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
    origin: str | None = None,
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
        "time": format_rfc3339(now if now is not None else utcnow()),
    }
    for name, value in ours.items():
        if value is not None:
            encoded = str(value).encode("utf-8")
            if name == "detail":
                encoded = _truncate(encoded, MAX_DETAIL_BYTES)
            headers.append((PREFIX + name, encoded))
    if origin:
        headers.append((ORIGIN_HEADER, origin.encode()[:MAX_ORIGIN_BYTES]))
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


def fit_for_deadletter(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
) -> tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]:
    """The record as it was if it fits the dead-letter topic, else a truncated copy.

    A copy keeps the first ``TRUNCATED_BYTES`` of the value, the key cut to ``MAX_KEY_BYTES``,
    the ``onenet_dlq_*`` headers and as many original headers as fit, and adds the original
    size and SHA-256. A record that cannot be sent would otherwise vanish, or stop the agent
    that tried.
    """
    size = len(value or b"") + len(key or b"") + sum(len(n) + len(v) for n, v in headers)
    if size <= MAX_RECORD_BYTES:
        return key, value, headers
    ours = [(n, v) for n, v in headers if n.startswith(PREFIX)]
    kept: list[tuple[str, bytes]] = []
    budget = TRUNCATED_HEADER_BYTES
    for name, header in headers:
        if not name.startswith(PREFIX) and len(name) + len(header) <= budget:
            kept.append((name, header))
            budget -= len(name) + len(header)
    original = value or b""
    digest = hashlib.sha256(original).hexdigest()
    return (
        key[:MAX_KEY_BYTES] if key is not None else None,
        original[:TRUNCATED_BYTES],
        truncation_headers(kept + ours, len(original), digest),
    )


def truncation_headers(
    headers: list[tuple[str, bytes]], size: int, sha256: str
) -> list[tuple[str, bytes]]:
    """``headers`` plus the original size and digest of a value dead-lettered truncated."""
    return [
        *headers,
        (ORIGINAL_SIZE_HEADER, str(size).encode()),
        (ORIGINAL_SHA256_HEADER, sha256.encode()),
    ]
