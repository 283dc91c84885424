"""Helpers for Kafka records as Faust hands them over."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hub.events import deadletter_headers


def header_list(headers: Any) -> list[tuple[str, bytes]]:
    """Faust passes headers as a list of pairs or a mapping, depending on the path: normalise."""
    if not headers:
        return []
    items: Iterable[tuple[Any, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    out: list[tuple[str, bytes]] = []
    for k, v in items:
        name = k.decode() if isinstance(k, bytes) else str(k)
        value = v if isinstance(v, bytes) else str(v).encode()
        out.append((name, value))
    return out


def dead_letter_of(record: Any, reason: str, detail: str) -> dict[str, Any]:
    """`send` arguments that dead-letter a consumed record as it was, with where it came from."""
    msg = record.message
    headers = deadletter_headers(
        reason,
        detail,
        source_topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        original_headers=header_list(msg.headers),
    )
    return {"key": record.key, "value": record.value, "headers": headers}
