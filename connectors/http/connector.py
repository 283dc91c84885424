"""The `http` connector: an ingest endpoint for departments that have no Kafka client.

`POST /events` takes CloudEvents in the HTTP binding's structured, batched or binary mode,
authenticated by a bearer token scoped to source prefixes (see `connectors.http.auth`), and
answers 202 only once the broker acknowledged: an HTTP client that got 202 can forget the
event. Status codes and their order are documented in `connectors.http.app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from connectors.http.app import Ingest
from connectors.http.auth import IngestTokens, load_tokens
from connectors.sdk.base import Connector
from connectors.sdk.sink import Sink
from hub.errors import UserError

log = logging.getLogger("onenet.connector.http")

#: Longest the server waits for requests in flight when stopping (the runner allows 5 s).
GRACEFUL_SECONDS = 4.0


class HttpOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens_file: Path = Field(
        description="TOML or JSON file mapping SHA-256 hashes of bearer tokens to the source "
        "prefixes each may publish under (make one: python -m connectors.http new)."
    )
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(
        default=8088, ge=0, le=65535, description="Port to listen on; 0 picks a free one."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body accepted, in bytes."
    )
    max_batch: int = Field(
        default=500, ge=1, le=10_000, description="Most events accepted in one batch request."
    )

    @field_validator("tokens_file")
    @classmethod
    def _readable_tokens(cls, value: Path) -> Path:
        try:
            load_tokens(value)
        except UserError as exc:
            # A custom error keeps the message as written (no "Value error, " prefix).
            raise PydanticCustomError("tokens_file", exc.message) from None
        return value


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the runner's `stopping` decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def listen(host: str, port: int) -> socket.socket:
    """Bind before serving, so the actual port is known (and a busy one is a clear error)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise UserError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port (0 picks a free one) or --host",
        ) from None


class HttpIngestConnector(Connector[HttpOptions]):
    """Receive CloudEvents over HTTP: POST /events, GET /healthz, GET /readyz.

    Send one event (Content-Type: application/cloudevents+json), a batch
    (application/cloudevents-batch+json, a JSON array) or binary mode (ce-* headers, JSON
    body), with Authorization: Bearer TOKEN. 202 means the broker has the events; 400
    lists each rejected event's reason; 403 means the event's source is not one of the
    token's. Rejected events go to the dead-letter topic.

    Example: onenet connector run http --tokens-file tokens.toml --port 8088
    """

    name = "http"
    summary = "HTTP ingest endpoint for CloudEvents (structured, batch, binary), token-scoped."
    Options = HttpOptions

    def __init__(self, options: HttpOptions) -> None:
        super().__init__(options)
        #: the bound port once listening (useful with --port 0)
        self.port: int | None = None
        self.listening = asyncio.Event()

    async def run(self, sink: Sink) -> None:
        options = self.options
        tokens = IngestTokens(options.tokens_file)
        ingest = Ingest(
            sink,
            tokens,
            max_body_bytes=options.max_body_bytes,
            max_batch=options.max_batch,
            ready=lambda: _producer_connected(sink),
        )
        config = uvicorn.Config(
            ingest.app(),
            lifespan="off",
            log_config=None,  # leave the process's logging as the CLI set it up
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=int(GRACEFUL_SECONDS),
        )
        server = _Server(config)
        sock = listen(options.host, options.port)
        self.port = sock.getsockname()[1]
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if serving.done():
            serving.result()  # startup failed: raise why
        host = f"[{options.host}]" if ":" in options.host else options.host
        log.info(
            "http ingest listening on http://%s:%d/events (%d tokens)",
            host,
            self.port,
            len(tokens),
        )
        self.listening.set()
        stopping = asyncio.create_task(sink.stopping.wait())
        try:
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if serving.done():
                serving.result()  # the server ended on its own: say why
        finally:
            stopping.cancel()
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(serving), GRACEFUL_SECONDS + 0.5)
            serving.cancel()
            sock.close()
        log.info("http ingest stopped")


def _producer_connected(sink: Sink) -> bool:
    """Ready when the runner's producer holds a connection to a broker.

    kafka-python has no public "connected" flag (`bootstrap_connected()` is only true while
    bootstrapping), but its metrics count open connections; the periodic metadata refresh
    keeps one open on an idle producer. A sink without a producer, or a producer without
    metrics, is taken as ready: there is nothing better to ask.
    """
    producer: Any = getattr(sink, "producer", None)
    metrics = getattr(producer, "metrics", None)
    if metrics is None:
        return True
    try:
        group = metrics().get("producer-metrics")
    except Exception:
        return False
    if not group:
        return True
    return bool(group.get("connection-count", 0) >= 1)
