"""A small real Open311 GeoReport v2 server on a loopback port, with faults a test can switch on.

It serves `GET {base}/requests.json` from a mutable list of request dicts, filtering as the
spec says (`start_date`/`end_date` on `requested_datetime`, `status`, `service_request_id`)
plus the common `updated_after`/`updated_before` extension on `updated_datetime`, and pages with
`page`/`page_size`. Every query it answers is recorded in `queries`, so a test can assert what
the connector asked for.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BASE_PATH = "/open311/v2"


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


class Open311Server:
    """`with Open311Server() as server:` then `server.base_url`; mutate `server.requests`."""

    def __init__(self) -> None:
        #: served as they are; a test may append junk (not an object) to see it rejected
        self.requests: list[Any] = []
        self.queries: list[dict[str, str]] = []
        self.lock = threading.Lock()
        # Faults, each spent one response at a time: the next N answers are broken this way.
        self.malformed = 0
        self.errors_500 = 0
        self.slow = 0
        self.slow_seconds = 2.0
        self.default_page_size = 1000
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{BASE_PATH}"

    def start(self) -> Open311Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Open311Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, **record: Any) -> None:
        with self.lock:
            self.requests.append(record)

    def update(self, request_id: str, **changes: Any) -> None:
        with self.lock:
            for record in self.requests:
                if record.get("service_request_id") == request_id:
                    record.update(changes)

    def answer(self, query: dict[str, str]) -> tuple[int, bytes, float]:
        """(status, body, delay) for one query; consumes one pending fault, if any."""
        with self.lock:
            self.queries.append(query)
            if self.slow:
                self.slow -= 1
                return 200, self._page(query), self.slow_seconds
            if self.errors_500:
                self.errors_500 -= 1
                return 500, b'{"error": "internal"}', 0.0
            if self.malformed:
                self.malformed -= 1
                return 200, b'[{"service_request_id": "trunc', 0.0
            return 200, self._page(query), 0.0

    def _page(self, query: dict[str, str]) -> bytes:
        records = [r for r in self.requests if not isinstance(r, dict) or self._matches(r, query)]
        field = "updated_datetime" if "updated_after" in query else "requested_datetime"

        def order(r: Any) -> tuple[str, str]:  # junk entries (not objects) sort last
            if not isinstance(r, dict):
                return ("~", str(r))
            return (str(r.get(field) or ""), str(r.get("service_request_id")))

        records.sort(key=order)
        size = int(query.get("page_size", self.default_page_size))
        page = int(query.get("page", "1"))
        return json.dumps(records[(page - 1) * size : page * size]).encode()

    @staticmethod
    def _matches(record: dict[str, Any], query: dict[str, str]) -> bool:
        if "service_request_id" in query:  # the spec: every other parameter is then ignored
            return str(record.get("service_request_id")) in query["service_request_id"].split(",")
        if "status" in query and record.get("status") not in query["status"].split(","):
            return False
        bounds = {
            "start_date": ("requested_datetime", 1),
            "end_date": ("requested_datetime", -1),
            "updated_after": ("updated_datetime", 1),
            "updated_before": ("updated_datetime", -1),
        }
        for param, (field, sign) in bounds.items():
            if param not in query:
                continue
            bound, value = _time(query[param]), _time(record.get(field))
            if bound is None or value is None:
                continue  # malformed records are served as they are: the connector must cope
            if (sign > 0 and value < bound) or (sign < 0 and value > bound):
                return False
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != f"{BASE_PATH}/requests.json":
                    self.send_error(404)
                    return
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                status, body, delay = server.answer(query)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): that is the point of a slow answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
