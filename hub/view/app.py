"""The ASGI app factory: routes, the page, /metrics, health, and the Kafka feed's lifespan."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import metrics
from hub.errors import UserError
from hub.topics import Topics
from hub.view.api import ApiError, Problem, ViewContext, router
from hub.view.auth import Sessions, TokenStore, origin_of
from hub.view.bodylimit import BodyLimitMiddleware
from hub.view.commands import CommandSender
from hub.view.config import ViewSettings
from hub.view.feed import KafkaFeed
from hub.view.readmodel import ReadModel

STATIC = Path(__file__).parent / "static"
#: No inline script or style, nothing from elsewhere: the page works offline and resists XSS.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _version() -> str:
    try:
        return version("onenet-hub")
    except PackageNotFoundError:
        return "0+unknown"


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    alerts: int
    detail: str


class ObserveMiddleware:
    """Request counts and durations by route template (bounded labels), and security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                metrics.HTTP_REQUEST_SECONDS.labels(_handler(scope)).observe(
                    time.perf_counter() - started
                )
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            metrics.HTTP_REQUESTS.labels(
                _handler(scope), scope["method"], str(status["code"])
            ).inc()


def _handler(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    raw = str(scope.get("path", ""))
    return "/static" if raw.startswith("/static/") else "unmatched"


def _public_origin(settings: ViewSettings) -> str | None:
    if settings.view_public_url is None:
        return None
    origin = origin_of(settings.view_public_url)
    if origin is None:
        raise UserError(
            f"ONENET_VIEW_PUBLIC_URL {settings.view_public_url!r} is not an http(s) URL",
            hint="give the address people open the view at, e.g. https://ops.city.example",
        )
    return origin


def create_app(
    settings: ViewSettings,
    *,
    bootstrap: str | None,
    model: ReadModel | None = None,
) -> FastAPI:
    """The view app. With `bootstrap` None nothing touches Kafka (unit tests feed `model`)."""
    from datetime import timedelta

    model = model or ReadModel(
        ring_size=settings.view_ring_size,
        evidence_capacity=settings.view_evidence_capacity,
        sla_window=timedelta(days=settings.view_sla_window_days),
        sla_deadline=timedelta(hours=settings.view_sla_deadline_hours),
        sla_target=settings.view_sla_target_percent / 100,
        max_event_bytes=settings.max_event_bytes,
        time_range=settings.time_range,
        resolved_retention=timedelta(seconds=settings.resolved_retention_s),
    )
    secret = settings.view_session_secret
    ctx = ViewContext(
        model=model,
        tokens=TokenStore(settings.view_tokens_file),
        sessions=Sessions(
            hashlib.sha256(secret.encode()).digest() if secret else None,
            ttl_s=settings.view_session_ttl_s,
        ),
        sender=None,
        ready=asyncio.Event(),
        secure_cookie=settings.view_secure_cookie,
        cap_sender=settings.view_cap_sender,
        public_origin=_public_origin(settings),
    )
    topics = Topics(settings.topic_prefix)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        feed: KafkaFeed | None = None
        if bootstrap is not None:
            feed = KafkaFeed(model, bootstrap, topics, settings)
            ctx.ready = feed.ready
            app.state.feed = feed
            await feed.start()
            ctx.sender = await asyncio.to_thread(CommandSender, bootstrap, topics, settings)
        else:
            ctx.ready.set()
        metrics.BUILD_INFO.labels(_version()).set(1)
        try:
            yield
        finally:
            metrics.PROCESS_READY.set(0)
            if feed is not None:
                await feed.stop()
            if ctx.sender is not None:
                await asyncio.to_thread(ctx.sender.close)

    app = FastAPI(
        title="OneNet Hub control view",
        version=_version(),
        description="City-operation alerts for the operations centre and departments. "
        "Authenticate with `Authorization: Bearer <token>` or the cookie from POST /api/session.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load from a CDN; the wall screen has no internet
        redoc_url=None,
    )
    app.state.view = ctx
    app.state.feed = None
    # Added first, so it runs inside ObserveMiddleware: refusals are counted and get its headers.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.view_max_body_bytes)
    app.add_middleware(ObserveMiddleware)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        body = Problem(reason=exc.reason, detail=exc.detail).model_dump()
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        reason = "bad-request" if exc.status_code == 400 else f"http-{exc.status_code}"
        body = Problem(reason=reason, detail=str(exc.detail)).model_dump()
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    app.include_router(router)

    @app.get("/healthz", response_model=Health, tags=["health"], summary="Liveness")
    def healthz() -> Health:
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Readiness,
        tags=["health"],
        summary="Ready once the alerts topic replay reached its end offsets at start",
        responses={503: {"model": Readiness, "description": "Still replaying."}},
    )
    def readyz() -> Any:
        feed: KafkaFeed | None = app.state.feed
        ready = ctx.ready.is_set()
        metrics.PROCESS_READY.set(1 if ready else 0)
        detail = "alerts replayed" if ready else "replaying the alerts topic"
        if feed is not None and feed.error:
            detail = feed.error
        body = Readiness(ready=ready, alerts=len(model.alerts), detail=detail)
        if ready:
            return body
        return JSONResponse(body.model_dump(), status_code=503)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    own_metrics = metrics.process_registry("view")

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(own_metrics), media_type=CONTENT_TYPE_LATEST)

    return app
