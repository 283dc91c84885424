"""Fetching GeoReport v2 `requests.json`, page by page, through the failures a city server has.

Timeouts, refused connections, 5xx, 429 and bodies that are not a JSON list of requests are
retried with exponential backoff; when the retries run out the whole poll fails with a
`PollFailed` that says why, and the checkpoint stays where it was. Other 4xx answers mean the
connector is configured wrong (a parameter the server refuses), which no retry fixes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from connectors.sdk.base import pause
from hub.errors import UserError

log = logging.getLogger("onenet.connector.open311")

MAX_BACKOFF = 60.0


@dataclass(frozen=True, slots=True)
class Fetched:
    """One request record with where it came from (for dead-letter origins)."""

    record: Any
    url: str
    index: int


class PollFailed(Exception):
    def __init__(self, reason: str, detail: str, *, url: str, body: bytes | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.url = url
        self.body = body


class _Retryable(Exception):
    def __init__(self, reason: str, detail: str, body: bytes | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.body = body


def _records(body: bytes) -> list[Any]:
    """The spec's body is a JSON array; some servers wrap it as {"service_requests": [...]}."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _Retryable("invalid-response", f"body is not JSON: {exc}", body) from None
    if isinstance(parsed, dict):
        lists = [v for v in parsed.values() if isinstance(v, list)]
        if len(lists) == 1:
            parsed = lists[0]
    if not isinstance(parsed, list):
        raise _Retryable(
            "invalid-response",
            f"body is a JSON {type(parsed).__name__}, not a list of service requests",
            body,
        )
    return parsed


class Open311Client:
    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        *,
        retries: int,
        backoff: float,
        stopping: asyncio.Event,
        max_bytes: int,
    ) -> None:
        self.http = http
        self.url = url
        self.retries = retries
        self.backoff = backoff
        self.stopping = stopping
        self.max_bytes = max_bytes

    async def fetch_all(
        self, params: Mapping[str, str], *, page_size: int, max_pages: int
    ) -> list[Fetched]:
        """Every page until a short one; `page_size` 0 means the server does not page."""
        out: list[Fetched] = []
        previous: list[Any] | None = None
        for page in range(1, max_pages + 1):
            query = dict(params)
            if page_size:
                query.update(page=str(page), page_size=str(page_size))
            url, records = await self.fetch(query)
            if records and records == previous:
                log.warning(
                    "%s returned page %d twice: it ignores 'page'; use --page-size 0", url, page
                )
                break
            out.extend(Fetched(r, url, i) for i, r in enumerate(records))
            if not page_size or len(records) < page_size:
                return out
            previous = records
        else:
            log.warning("stopped after --max-pages %d pages; the rest comes next poll", max_pages)
        return out

    async def fetch(self, query: Mapping[str, str]) -> tuple[str, list[Any]]:
        request = self.http.build_request("GET", self.url, params=dict(query))
        url = str(request.url)
        for attempt in range(self.retries + 1):
            try:
                return url, await self._once(request)
            except _Retryable as exc:
                if attempt == self.retries or self.stopping.is_set():
                    raise PollFailed(exc.reason, exc.detail, url=url, body=exc.body) from None
                delay = min(self.backoff * 2**attempt, MAX_BACKOFF)
                log.warning(
                    "%s: %s: %s; retry %d/%d in %.1fs",
                    url,
                    exc.reason,
                    exc.detail,
                    attempt + 1,
                    self.retries,
                    delay,
                )
                if await pause(self.stopping, delay):
                    raise PollFailed(exc.reason, exc.detail, url=url, body=exc.body) from None
        raise AssertionError("unreachable")

    async def _once(self, request: httpx.Request) -> list[Any]:
        try:
            response = await self.http.send(request, stream=True)
            try:
                body = await self._read(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise _Retryable("timeout", f"no answer in time ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retryable("unreachable", f"{type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status >= 500 or status == 429:
            raise _Retryable(f"http-{status}", f"server answered {status}", body[:4096])
        if status >= 400:
            raise UserError(
                f"{request.url} answered {status}: {body[:200].decode('utf-8', 'replace')}",
                hint="check --base-url, --jurisdiction-id, --param and whether the server "
                "supports --since-param and paging (--page-size 0 turns paging off)",
            )
        return _records(body)

    async def _read(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise _Retryable(
                    "invalid-response",
                    f"body exceeds {self.max_bytes} bytes; lower --page-size",
                    b"".join(chunks)[:65536],
                )
            chunks.append(chunk)
        return b"".join(chunks)
