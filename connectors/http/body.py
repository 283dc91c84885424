"""Reading a request body with a size limit, declared (Content-Length) or chunked.

An oversized body is refused as soon as it is known to be too large, before it is held in
memory. What the client is still sending is then read and thrown away, up to a bound: a
server that answers and closes with unread bytes makes the kernel reset the connection, and
the client would see "connection reset" instead of the 413 that tells it what to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import Request

#: Discard at most this many bytes (and for at most DRAIN_SECONDS) after refusing a body.
DRAIN_BYTES = 4 * 1024 * 1024
DRAIN_SECONDS = 2.0


class BodyTooLarge(Exception):
    def __init__(self, detail: str, *, drained: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        #: False when the client is still sending: answer with `Connection: close`
        self.drained = drained


class BadContentLength(Exception):
    pass


def declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        raise BadContentLength(f"Content-Length {value[:20]!r} is not a number") from None
    if length < 0:
        raise BadContentLength("Content-Length is negative")
    return length


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it is over `limit` bytes."""
    declared = declared_length(request)
    stream = request.stream()
    if declared is not None and declared > limit:
        drained = declared <= DRAIN_BYTES and await drain(stream, DRAIN_BYTES)
        raise BodyTooLarge(
            f"the body is {declared} bytes (Content-Length), over the {limit}-byte limit; "
            "send fewer events per request",
            drained=drained,
        )
    body = bytearray()
    async for chunk in stream:
        body += chunk
        if len(body) > limit:
            drained = await drain(stream, DRAIN_BYTES)
            raise BodyTooLarge(
                f"the body is over the {limit}-byte limit; send fewer events per request",
                drained=drained,
            )
    return bytes(body)


async def discard_body(request: Request) -> bool:
    """Before answering without reading the body (401, 415): True if it was all read."""
    try:
        declared = declared_length(request)
    except BadContentLength:
        return False
    if declared == 0:
        return True
    if declared is not None and declared > DRAIN_BYTES:
        return False
    return await drain(request.stream(), DRAIN_BYTES)


async def drain(stream: AsyncIterator[bytes], budget: int) -> bool:
    """Read and drop up to `budget` bytes; True if the body ended within budget and time."""
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for chunk in stream:
                budget -= len(chunk)
                if budget < 0:
                    return False
    except TimeoutError:
        return False
    return True
