"""Helpers for Kafka records as Faust hands them over."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from hub import metrics
from hub.events import deadletter_headers, fit_for_deadletter
from hub.events.deadletter import RULE_HEADER

log = logging.getLogger("onenet.deadletter")


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


async def send_dead_letter(
    topic: Any, record: Any, reason: str, detail: str, *, stage: str, rule: str | None = None
) -> bool:
    """Dead-letter `record` on `topic` (a Faust topic); False when it could not be sent.

    A send that fails is logged with the reason and counted in
    `onenet_deadletter_send_errors_total{stage}`, and the caller goes on: losing one dead
    letter is bad, an agent that stops stops every rule (or every command) of the city."""
    try:
        await topic.send(**dead_letter_of(record, reason, detail, rule))
    except Exception:
        metrics.DEADLETTER_SEND_ERRORS.labels(stage).inc()
        log.exception("could not dead-letter a record from %s (%s: %s)", stage, reason, detail)
        return False
    return True
