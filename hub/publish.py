"""Publish a JSONL file of CloudEvents: validate each line, route it, dead-letter the rest."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

from hub import metrics
from hub.events import (
    DEFAULT_TIME_RANGE,
    EventRejected,
    Outgoing,
    Reason,
    TimeRange,
    admit,
    refuse,
    shift,
)
from hub.events.deadletter import TRUNCATED_BYTES, truncation_headers
from hub.events.fields import format_rfc3339
from hub.events.parse import DEFAULT_MAX_BYTES
from hub.kafka import DELIVERY_TIMEOUT_MS, explain_send_failure, flush_within
from hub.topics import Topics

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


@dataclass(frozen=True)
class Oversized:
    """A line longer than any accepted event: its first bytes, its size and its SHA-256.

    The rest is hashed as it is read and never held, so one 10 MB line costs no more memory
    than a normal one and cannot stop the lines after it.
    """

    head: bytes
    size: int
    sha256: str


Line = bytes | Oversized
_READ_CHUNK = 1 << 20


def read_lines(
    source: Path | IO[bytes], max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[tuple[int, Line]]:
    """Non-blank lines with their 1-based numbers; bytes, so bad encodings reach validation.

    A line over ``max_bytes`` comes as :class:`Oversized` instead of its bytes.
    """
    if isinstance(source, Path):
        with source.open("rb") as fh:
            yield from _lines(fh, max_bytes)
    else:
        yield from _lines(source, max_bytes)


def _lines(fh: IO[bytes], max_bytes: int) -> Iterator[tuple[int, Line]]:
    limit = max_bytes + 2  # the longest accepted event plus a CRLF line ending
    n = 0
    while chunk := fh.readline(limit):
        n += 1
        if len(chunk) == limit and not chunk.endswith(b"\n"):
            yield n, _rest_of_line(fh, chunk)
            continue
        stripped = chunk.strip()
        if stripped:
            yield n, stripped


def _rest_of_line(fh: IO[bytes], chunk: bytes) -> Oversized:
    """Reads to the end of the line, keeping its head and hashing all of it (no line end)."""
    digest = hashlib.sha256()
    head = bytearray()
    size = 0
    while chunk:
        ended = chunk.endswith(b"\n")
        body = chunk.rstrip(b"\r\n") if ended else chunk
        digest.update(body)
        size += len(body)
        head += body[: max(0, TRUNCATED_BYTES - len(head))]
        if ended:
            break
        chunk = fh.readline(_READ_CHUNK)
    return Oversized(bytes(head), size, digest.hexdigest())


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def rebase_shift(lines: list[tuple[int, Line]], now: datetime) -> timedelta:
    """How far to move every time so the newest event happens `now` (for replaying samples)."""
    newest: datetime | None = None
    for _, raw in lines:
        if isinstance(raw, Oversized):
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        t = _parse_time(obj.get("time")) if isinstance(obj, dict) else None
        if t is not None and (newest is None or t > newest):
            newest = t
    return timedelta(0) if newest is None else now - newest


def rebase(raw: Line, by: timedelta) -> Line:
    """Move the event's times by `by`; lines that are not JSON objects pass untouched.

    Saturating, so a time far outside the accepted range stays out of it (and is refused)
    rather than overflowing."""
    if isinstance(raw, Oversized):
        return raw
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    if not isinstance(obj, dict):
        return raw
    t = _parse_time(obj.get("time"))
    if t is not None:
        obj["time"] = format_rfc3339(shift(t, by))
    data = obj.get("data")
    if isinstance(data, dict):
        for name in DATA_TIME_FIELDS:
            dt = _parse_time(data.get(name))
            if dt is not None:
                data[name] = format_rfc3339(shift(dt, by))
    return orjson.dumps(obj)


def publish_lines(
    producer: Any,
    topics: Topics,
    lines: list[tuple[int, Line]],
    *,
    origin: str,
    max_bytes: int,
    time_range: TimeRange = DEFAULT_TIME_RANGE,
    on_progress: Any = None,
) -> PublishReport:
    """Send valid events to their domain topic and rejects to the dead-letter topic.

    Waits for every acknowledgement, so a line counts as published only once the broker has it.
    A line that cannot even be handed to the producer is reported with its number, and the
    lines after it are still sent.
    """
    report = PublishReport()
    pending: list[tuple[int, str, Any]] = []

    def send(n: int, record: Outgoing) -> None:
        topic = record.topic
        try:
            sent = producer.send(topic, record.value, key=record.key, headers=record.headers)
        except Exception as exc:  # too large for the producer, buffer full, closed
            report.send_errors.append(f"line {n}: {topic}: {type(exc).__name__}: {exc}")
        else:
            pending.append((n, topic, sent))

    def reject(
        n: int, reason: str, detail: str, value: bytes, extra: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        report.rejected.append(Rejection(n, reason, detail))
        metrics.EVENTS_REJECTED.labels("publish", reason).inc()
        connector = f"publish:{origin}:{n}"
        send(n, refuse(value, reason, detail, topics, connector=connector, extra=extra))

    for n, raw in lines:
        if isinstance(raw, Oversized):
            reject(
                n,
                Reason.TOO_LARGE,
                f"the line is {raw.size} bytes, over the {max_bytes}-byte limit "
                f"(ONENET_MAX_EVENT_BYTES); dead-lettered as its first {len(raw.head)} bytes",
                raw.head,
                truncation_headers([], raw.size, raw.sha256),
            )
        else:
            try:
                _, record = admit(raw, topics, max_bytes=max_bytes, time_range=time_range)
            except EventRejected as exc:
                reject(n, exc.reason, exc.detail, raw)
            else:
                send(n, record)
        if on_progress is not None:
            on_progress(1)
    flush_within(producer, DELIVERY_TIMEOUT_MS / 1000)
    for n, topic, future in pending:
        try:
            future.get(timeout=0.5)  # settled by now, or never acknowledged
        except Exception as exc:  # any send failure is reported, never swallowed
            report.send_errors.append(f"line {n}: {topic}: {explain_send_failure(exc)}")
            continue
        if topic != topics.deadletter:
            report.published[topic] += 1
            metrics.EVENTS_PUBLISHED.labels(topic).inc()
    return report
