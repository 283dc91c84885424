"""Helpers for Kafka records as Faust hands them over."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hub.events import deadletter_headers, fit_for_deadletter
from hub.events.deadletter import RULE_HEADER


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


def dead_letter_of(
    record: Any, reason: str, detail: str, rule: str | None = None
) -> dict[str, Any]:
    """`send` arguments that dead-letter a consumed record as it was, with where it came from
    (and the rule that refused it); a truncated copy when it is too large to send whole."""
    msg = record.message
    headers = deadletter_headers(
        reason,
        detail,
        source_topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        original_headers=header_list(msg.headers),
    )
    if rule:
        headers.append((RULE_HEADER, rule.encode()))
    key, value, headers = fit_for_deadletter(record.key, record.value, headers)
    return {"key": key, "value": value, "headers": headers}
