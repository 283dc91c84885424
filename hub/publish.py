"""Publish a JSONL file of CloudEvents: validate each line, route it, dead-letter the rest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from hub import metrics
from hub.events import EventRejected, deadletter_headers, parse_structured
from hub.kafka import DELIVERY_TIMEOUT_MS, explain_send_failure, flush_within
from hub.topics import Topics

CONTENT_TYPE = ("content-type", b"application/cloudevents+json; charset=utf-8")
# Times inside `data` that move with the envelope's `time` when a file is re-based.
DATA_TIME_FIELDS = ("due_by",)


@dataclass
class Rejection:
    line: int
    reason: str
    detail: str


@dataclass
class PublishReport:
    published: Counter[str] = field(default_factory=Counter)  # by topic
    rejected: list[Rejection] = field(default_factory=list)
    send_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.send_errors


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their 1-based numbers; bytes, so bad encodings reach validation."""
    with path.open("rb") as fh:
        for n, line in enumerate(fh, start=1):
            stripped = line.strip()
            if stripped:
                yield n, stripped


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def _fmt(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def rebase_shift(lines: list[tuple[int, bytes]], now: datetime) -> timedelta:
    """How far to move every time so the newest event happens `now` (for replaying samples)."""
    newest: datetime | None = None
    for _, raw in lines:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        t = _parse_time(obj.get("time")) if isinstance(obj, dict) else None
        if t is not None and (newest is None or t > newest):
            newest = t
    return timedelta(0) if newest is None else now - newest


def rebase(raw: bytes, shift: timedelta) -> bytes:
    """Move the event's times by `shift`; lines that are not JSON objects pass untouched."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    if not isinstance(obj, dict):
        return raw
    t = _parse_time(obj.get("time"))
    if t is not None:
        obj["time"] = _fmt(t + shift)
    data = obj.get("data")
    if isinstance(data, dict):
        for name in DATA_TIME_FIELDS:
            dt = _parse_time(data.get(name))
            if dt is not None:
                data[name] = _fmt(dt + shift)
    return orjson.dumps(obj)


def publish_lines(
    producer: Any,
    topics: Topics,
    lines: list[tuple[int, bytes]],
    *,
    origin: str,
    max_bytes: int,
    on_progress: Any = None,
) -> PublishReport:
    """Send valid events to their domain topic and rejects to the dead-letter topic.

    Waits for every acknowledgement, so a line counts as published only once the broker has it.
    """
    report = PublishReport()
    pending: list[tuple[str, Any]] = []
    for n, raw in lines:
        try:
            event = parse_structured(raw, max_bytes=max_bytes)
        except EventRejected as exc:
            report.rejected.append(Rejection(n, exc.reason, exc.detail))
            metrics.EVENTS_REJECTED.labels("publish", exc.reason).inc()
            headers = deadletter_headers(exc.reason, exc.detail, connector=f"publish:{origin}:{n}")
            pending.append(
                (topics.deadletter, producer.send(topics.deadletter, raw, headers=headers))
            )
        else:
            topic = topics.events(event.domain)
            future = producer.send(topic, raw, key=event.key.encode(), headers=[CONTENT_TYPE])
            pending.append((topic, future))
        if on_progress is not None:
            on_progress(1)
    flush_within(producer, DELIVERY_TIMEOUT_MS / 1000)
    for topic, future in pending:
        try:
            future.get(timeout=0.5)  # settled by now, or never acknowledged
        except Exception as exc:  # any send failure is reported, never swallowed
            report.send_errors.append(f"{topic}: {explain_send_failure(exc)}")
            continue
        if topic != topics.deadletter:
            report.published[topic] += 1
            metrics.EVENTS_PUBLISHED.labels(topic).inc()
    return report
