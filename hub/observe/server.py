"""One small HTTP server per process: /metrics, /healthz (liveness) and /readyz (readiness).

It runs on its own thread so a scrape or a probe never waits for the process's event loop;
that is also why liveness is a heartbeat: the thread answering is not proof that the loop is
turning, but a recent `beat()` from the loop is. Readiness is what the process says it is
(partitions assigned, producer connected), because only the process knows.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder

from hub import __version__, metrics
from hub.errors import UserError

log = logging.getLogger("onenet.observe")

PATHS = ("/metrics", "/healthz", "/readyz")


class ObservabilityServer:
    """The endpoints' state and the thread serving them; build it with the function below.

    Liveness: 200 while the newest heartbeat is at most `stale_after` seconds old. Before the
    first beat the process is starting (joining a group, recovering tables), which may take
    longer than a beat interval, so it is alive until `startup_grace` has passed.
    Readiness: 200 only when alive and the process has said `set_ready(True)`.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        registry: CollectorRegistry = REGISTRY,
        stale_after: float = 30.0,
        startup_grace: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stale_after = stale_after
        self.startup_grace = startup_grace
        self.registry = registry
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._last_beat: float | None = None
        self._ready = False
        self._reason = "starting"
        metrics.PROCESS_READY.set(0)
        metrics.BUILD_INFO.labels(__version__).set(1)
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"observability:{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def beat(self) -> None:
        """Record that the process's main loop is alive; call it at least every few seconds."""
        now = self._clock()
        with self._lock:
            self._last_beat = now

    def set_ready(self, ready: bool, reason: str = "") -> None:
        """Say whether the process can do its job now, and why not when it cannot."""
        with self._lock:
            changed = ready != self._ready or reason != self._reason
            self._ready = ready
            self._reason = reason
        metrics.PROCESS_READY.set(1 if ready else 0)
        if changed:
            log.info(
                "%s: %s",
                "ready" if ready else "not ready",
                reason or "-",
                extra={"ready": ready, "reason": reason},
            )

    def liveness(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) of /healthz."""
        now = self._clock()
        with self._lock:
            last = self._last_beat
        if last is None:
            waited = now - self._started
            if waited <= self.startup_grace:
                return 200, {
                    "status": "ok",
                    "reason": "starting",
                    "uptime_seconds": round(waited, 3),
                }
            return 503, {
                "status": "stale",
                "reason": f"no heartbeat {waited:.1f} s after start "
                f"(startup grace {self.startup_grace:g} s)",
            }
        age = now - last
        if age <= self.stale_after:
            return 200, {"status": "ok", "heartbeat_age_seconds": round(age, 3)}
        return 503, {
            "status": "stale",
            "reason": f"last heartbeat {age:.1f} s ago (limit {self.stale_after:g} s)",
            "heartbeat_age_seconds": round(age, 3),
        }

    def readiness(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) of /readyz: not ready when not alive, whatever was said."""
        code, live = self.liveness()
        with self._lock:
            ready, reason = self._ready, self._reason
        if code != 200:
            return 503, {"status": "not ready", "reason": f"not alive: {live['reason']}"}
        if not ready:
            return 503, {"status": "not ready", "reason": reason or "not ready"}
        return 200, {"status": "ready", "reason": reason}

    def start(self) -> ObservabilityServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port; safe to call twice."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()


def _handler_for(server: ObservabilityServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "onenet-observe"
        sys_version = ""

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, *, body: bool) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
                self._send(200, encoder(server.registry), content_type, body)
            elif path == "/healthz":
                self._json(*server.liveness(), body=body)
            elif path == "/readyz":
                self._json(*server.readiness(), body=body)
            elif path == "/":
                self._json(200, {"endpoints": list(PATHS)}, body=body)
            else:
                self._json(404, {"status": "not found", "endpoints": list(PATHS)}, body=body)

        def _json(self, code: int, payload: dict[str, Any], *, body: bool) -> None:
            data = (json.dumps(payload) + "\n").encode()
            self._send(code, data, "application/json", body)

        def _send(self, code: int, data: bytes, content_type: str, body: bool) -> None:
            self.send_response(code, HTTPStatus(code).phrase)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            # Probes every few seconds would drown the process's own log; debug only.
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


def port_in_use(host: str, port: int, exc: OSError, setting: str) -> UserError:
    """The user error for a port this process cannot listen on, naming what changes it."""
    why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
    return UserError(
        f"port {port} on {host} {why}",
        hint=f"stop what listens there, or pick another port with {setting} (0 picks a free one)",
    )


def check_port_free(host: str, port: int, setting: str) -> None:
    """Fail early, before connecting anywhere, when `host:port` cannot be listened on."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise port_in_use(host, port, exc, setting) from None


def start_observability_server(
    port: int,
    *,
    host: str = "127.0.0.1",
    registry: CollectorRegistry | None = None,
    role: str | None = None,
    stale_after: float = 30.0,
    startup_grace: float = 120.0,
    setting: str = "the metrics port setting",
) -> ObservabilityServer:
    """Serve /metrics, /healthz and /readyz on `host:port` (port 0 picks a free one).

    Loopback by default: the endpoints carry no secrets but are not meant for the city's
    network; bind a pod or host address explicitly where Prometheus scrapes remotely.
    A port in use is a `UserError` naming the port and `setting`, the option or variable
    that changes it. /metrics serves `registry`, else the families of process `role`
    (`hub.metrics.process_registry`), else the default registry.
    """
    try:
        server = ObservabilityServer(
            host=host,
            port=port,
            registry=registry
            if registry is not None
            else (metrics.process_registry(role) if role else REGISTRY),
            stale_after=stale_after,
            startup_grace=startup_grace,
        )
    except OSError as exc:
        raise port_in_use(host, port, exc, setting) from None
    return server.start()
