"""The ingest endpoint's routes: authenticate, decode, publish through the sink, answer.

Status of `POST /events`, checked in this order:

* 401 no or unknown bearer token; 415 unsupported content type; 413 body over the limit
  (declared or read); 400 a batch that is not a JSON array; 422 an empty batch or more
  events than `max_batch`.
  These refuse the request as a whole and publish nothing.
* Otherwise each event gets an outcome, and the status is that of the worst one:
  503 (the broker did not acknowledge it) > 403 (its source is not allowed for the token) >
  400 (invalid) > 202 (published, or a duplicate of an event already published). Events of a
  batch with a worse status than 202 that were accepted are still published: `items` says
  which, so a client retries only the others (re-sending an accepted one is harmless, it
  comes back as a duplicate).

202 is sent only after the broker acknowledged every accepted event. Rejected events (400,
403) are dead-lettered with their reason; refused requests are not, the client is told
what to change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.http.auth import Grant, IngestTokens
from connectors.http.body import BadContentLength, BodyTooLarge, discard_body, read_body
from connectors.http.decode import Candidate, RequestRefused, decode, mode_of
from connectors.sdk.item import Item
from connectors.sdk.sink import Sink

log = logging.getLogger("onenet.connector.http")

FORBIDDEN = "forbidden-source"
RETRY_AFTER_S = 5
_RANK = {"failed": 3, "forbidden": 2, "rejected": 1, "published": 0, "duplicate": 0}
_STATUS = {3: 503, 2: 403, 1: 400, 0: 202}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def _unavailable() -> Response:
    return _refuse(
        503,
        "broker-unavailable",
        "the broker did not acknowledge; retry later",
        {"Retry-After": str(RETRY_AFTER_S)},
    )


def _refuse(
    status: int, reason: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    return _json(status, {"error": reason, "detail": detail}, headers)


class Ingest:
    """Publishes what an authenticated department posts, holding it to the token's sources."""

    def __init__(
        self,
        sink: Sink,
        tokens: IngestTokens,
        *,
        max_body_bytes: int,
        max_batch: int,
        ready: Callable[[], bool],
    ) -> None:
        self.sink = sink
        self.tokens = tokens
        self.max_body_bytes = max_body_bytes
        self.max_batch = max_batch
        self.ready = ready

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/events", self.events, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/readyz", self.readyz, methods=["GET"]),
            ]
        )

    async def healthz(self, request: Request) -> Response:
        return _json(200, {"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        if self.sink.stopping.is_set():
            return _json(503, {"status": "stopping"})
        if not self.ready():
            return _json(503, {"status": "not-ready", "detail": "not connected to Kafka yet"})
        return _json(200, {"status": "ready"})

    async def events(self, request: Request) -> Response:
        try:
            return await self._events(request)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it

    async def _events(self, request: Request) -> Response:
        grant = self._authenticate(request)
        if isinstance(grant, Response):
            return await self._early(request, grant)
        headers = list(request.headers.items())
        content_type = request.headers.get("content-type")
        try:
            mode = mode_of(content_type, headers)
        except RequestRefused as exc:
            return await self._early(request, _refuse(exc.status, exc.reason, exc.detail))
        try:
            body = await read_body(request, self.max_body_bytes)
        except BadContentLength as exc:
            return _refuse(400, "bad-request", str(exc), {"Connection": "close"})
        except BodyTooLarge as exc:
            return _refuse(
                413, "too-large", exc.detail, None if exc.drained else {"Connection": "close"}
            )
        origin = f"http:{grant.name}@{request.client.host if request.client else '?'}"
        try:
            candidates = decode(mode, content_type, headers, body, max_batch=self.max_batch)
        except RequestRefused as exc:
            if exc.dead_letter:
                try:
                    await self.sink.reject(body, exc.reason, exc.detail, origin=origin)
                except Exception as failure:
                    log.error("could not dead-letter a request from %s: %s", origin, failure)
                    return _unavailable()
            return _refuse(exc.status, exc.reason, exc.detail)
        outcomes = await asyncio.gather(
            *(
                self._one(c, grant, f"{origin}#{c.index}" if mode == "batch" else origin)
                for c in candidates
            )
        )
        return self._answer(outcomes)

    def _authenticate(self, request: Request) -> Grant | Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _refuse(
                401,
                "unauthorized",
                "send Authorization: Bearer <token> (ask the hub operators for a token)",
                {"WWW-Authenticate": 'Bearer realm="onenet"'},
            )
        grant = self.tokens.lookup(token.strip())
        if grant is None:
            return _refuse(
                401,
                "unauthorized",
                "the bearer token is not valid",
                {"WWW-Authenticate": 'Bearer realm="onenet", error="invalid_token"'},
            )
        return grant

    async def _early(self, request: Request, response: Response) -> Response:
        """Answer without taking the body; read it off the wire first if it is small."""
        if not await discard_body(request):
            response.headers["Connection"] = "close"
        return response

    async def _one(self, candidate: Candidate, grant: Grant, origin: str) -> dict[str, Any]:
        try:
            return {"index": candidate.index, **await self._publish(candidate, grant, origin)}
        except Exception as exc:  # no acknowledgement, whatever the producer said
            log.error("broker did not acknowledge an event from %s: %s", origin, exc)
            return {
                "index": candidate.index,
                "status": "failed",
                "reason": "broker-unavailable",
                "detail": "the broker did not acknowledge the event; retry later",
            }

    async def _publish(self, candidate: Candidate, grant: Grant, origin: str) -> dict[str, Any]:
        source = candidate.source
        if source is not None and not grant.allows(source):
            detail = (
                f"source {source[:200]!r} is not allowed for token {grant.name!r}; "
                f"its sources start with {', '.join(grant.sources)}"
            )
            await self.sink.reject(candidate.raw, FORBIDDEN, detail, origin=origin)
            return {"status": "forbidden", "reason": FORBIDDEN, "detail": detail}
        if candidate.problem is not None:
            reason, detail = candidate.problem
            await self.sink.reject(candidate.raw, reason, detail, origin=origin)
            return {"status": "rejected", "reason": reason, "detail": detail}
        outcome = await self.sink.send(Item(candidate.raw, origin=origin, raw=candidate.raw))
        if outcome.accepted:
            return {"status": outcome.status, "id": outcome.event_id}
        return {"status": "rejected", "reason": outcome.reason, "detail": outcome.detail}

    @staticmethod
    def _answer(outcomes: list[dict[str, Any]]) -> Response:
        worst = max(_RANK[o["status"]] for o in outcomes)
        body = {
            "accepted": sum(o["status"] == "published" for o in outcomes),
            "duplicates": sum(o["status"] == "duplicate" for o in outcomes),
            "rejected": sum(o["status"] in ("rejected", "forbidden") for o in outcomes),
            "failed": sum(o["status"] == "failed" for o in outcomes),
            "ids": [o["id"] for o in outcomes if "id" in o],
            "items": outcomes,
        }
        headers = {"Retry-After": str(RETRY_AFTER_S)} if worst == _RANK["failed"] else None
        return _json(_STATUS[worst], body, headers)
