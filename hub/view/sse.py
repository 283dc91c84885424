"""The alert-change stream as Server-Sent Events, resumable and filtered per caller.

Each message's `id` is the read model's cursor `<epoch>-<seq>`: the sequence number of the
change in this process's change log, prefixed with the process's epoch (the log restarts with
the process). A client that reconnects sends it back as `Last-Event-ID` (or `?after=` for the
first connection, taken from the alert list it just loaded, so nothing falls between the list
and the stream) and gets every change after it. When that is no longer possible — another
epoch, or older than the bounded ring — the stream sends a `reset` event: reload the list.
Changes to alerts the caller may not see are skipped, so a department's stream never carries
another department's alert. Heartbeats carry the cursor too, so an idle department stream
does not fall behind the ring.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson

from hub import metrics
from hub.alerts.lifecycle import needs_acknowledgement
from hub.view.auth import Principal
from hub.view.readmodel import AppliedChange, Cursor, ReadModel

HEARTBEAT_S = 10.0
POLL_S = 1.0
RETRY_MS = 2000


def _message(event: str, data: object, cursor: str | None = None) -> bytes:
    head = f"id: {cursor}\n" if cursor is not None else ""
    return f"{head}event: {event}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


def entry_payload(entry: AppliedChange) -> dict[str, object]:
    return {
        "seq": entry.seq,
        "kind": entry.kind,
        "received_at": entry.received_at.isoformat(),
        "first_seen_at": entry.first_seen_at.isoformat(),
        "needs_acknowledgement": needs_acknowledgement(entry.alert),
        "alert": entry.alert.model_dump(mode="json"),
    }


async def alert_stream(
    model: ReadModel,
    principal: Principal,
    resume: str | None,
    *,
    still_allowed: Callable[[], bool],
    disconnected: Callable[[], Awaitable[bool]],
    heartbeat_s: float = HEARTBEAT_S,
) -> AsyncIterator[bytes]:
    metrics.SSE_CLIENTS.inc()
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        last = model.seq
        if resume:
            cursor = Cursor.parse(resume)
            backlog = None
            if cursor is not None and cursor.epoch == model.epoch:
                backlog = model.entries_after(cursor.seq)
            if backlog is None:
                yield _message(
                    "reset", {"reason": "cursor unknown or too old; reload"}, str(model.cursor)
                )
            else:
                for entry in backlog:
                    if principal.sees(entry.alert):
                        yield _message("alert", entry_payload(entry), f"{model.epoch}-{entry.seq}")
        yield _message(
            "hello",
            {"cursor": f"{model.epoch}-{last}", "who": principal.name},
            f"{model.epoch}-{last}",
        )
        beat = time.monotonic() + heartbeat_s
        while True:
            changed = await model.wait_for_change(last, POLL_S)
            if changed:
                entries = model.entries_after(last)
                if entries is None:  # this client fell further behind than the ring holds
                    last = model.seq
                    yield _message(
                        "reset", {"reason": "fell behind; reload"}, f"{model.epoch}-{last}"
                    )
                    continue
                for entry in entries:
                    last = entry.seq
                    if principal.sees(entry.alert):
                        yield _message("alert", entry_payload(entry), f"{model.epoch}-{entry.seq}")
            if await disconnected():
                return
            if time.monotonic() >= beat:
                if not still_allowed():
                    yield _message("unauthorized", {"reason": "session ended or token revoked"})
                    return
                beat = time.monotonic() + heartbeat_s
                yield _message(
                    "heartbeat", {"cursor": f"{model.epoch}-{last}"}, f"{model.epoch}-{last}"
                )
    finally:
        metrics.SSE_CLIENTS.dec()
