"""Helpers for the control-view tests: a view served by uvicorn in a thread, tokens, alert
publishing (standing in for the correlator), and a small command applier standing in for the
worker's lifecycle agent (same pure `decide`/`fold`, same topics and source)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from kafka import KafkaConsumer, TopicPartition

from hub.alerts.cloudevent import ALERT_SOURCE, encode
from hub.alerts.lifecycle import LIFECYCLE_SOURCE, Command, Rejected, decide, fold
from hub.alerts.model import KIND_OF_TYPE, Alert, AlertChange, GeoPoint, Severity
from hub.kafka import contract_topics, ensure_topics, producer
from hub.topics import Topics
from hub.view.app import create_app
from hub.view.auth import hash_token
from hub.view.cli import bind, url_of
from hub.view.config import ViewSettings

TOKENS = {
    "operator": ("op-token-0123456789abcdef", "Olga Operator", "operator"),
    "viewer": ("viewer-token-0123456789ab", "Victor Viewer", "viewer"),
    "safety": ("safety-token-0123456789ab", "Safety desk", "department:safety"),
    "security": ("security-token-01234567", "Security desk", "department:security"),
    "service": ("service-token-012345678", "Hotline desk", "department:service"),
}


def write_tokens(path: Path) -> Path:
    lines = []
    for token, name, role in TOKENS.values():
        lines += [f"[tokens.{hash_token(token)}]", f'name = "{name}"', f'role = "{role}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def bearer(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who][0]}"}


@dataclass
class Hub:
    """One isolated hub on the shared broker: its own topic prefix."""

    bootstrap: str
    workdir: Path
    prefix: str = field(default_factory=lambda: f"v{uuid.uuid4().hex[:8]}")

    def __post_init__(self) -> None:
        self.settings = ViewSettings(
            kafka_bootstrap_servers=self.bootstrap,
            topic_prefix=self.prefix,
            partitions=3,
            view_tokens_file=write_tokens(self.workdir / "tokens.toml"),
            view_session_secret="test-secret-0123456789",
        )
        self.topics = Topics(self.prefix)
        ensure_topics(self.bootstrap, contract_topics(self.settings))
        self._producer: Any = producer(self.bootstrap)

    def close(self) -> None:
        self._producer.close(timeout=5)

    def send(self, topic: str, key: str, value: bytes) -> None:
        self._producer.send(topic, key=key.encode(), value=value).get(timeout=15)

    def publish_alert(
        self, alert: Alert, kind: str = "firing", *, source: str = ALERT_SOURCE
    ) -> None:
        change = AlertChange(kind=kind, alert=alert)  # type: ignore[arg-type]
        self.send(
            self.topics.alerts,
            alert.alert_id,
            encode(change, time=datetime.now(UTC), source=source),
        )

    def publish_event(self, domain: str, event: dict[str, Any]) -> None:
        key = str(event["data"].get("site_id") or event["data"].get("request_id") or event["id"])
        self.send(self.topics.events(domain), key, orjson.dumps(event))


def make_alert(
    alert_id: str,
    *,
    departments: list[str],
    severity: Severity = Severity.SEVERE,
    headline: str | None = None,
    district: str = "210202",
    location: tuple[float, float] | None = (38.915, 121.645),
    evidence: list[str] | None = None,
    rule: str = "hydrogen-leak",
    category: str = "Safety",
    ago: timedelta = timedelta(minutes=5),
) -> Alert:
    now = datetime.now(UTC).replace(microsecond=0)
    return Alert(
        alert_id=alert_id,
        rule=rule,
        severity=severity,
        category=category,
        headline=headline or f"{rule} at {alert_id}",
        key=f"site-{alert_id}",
        district=district,
        location=GeoPoint(lat=location[0], lon=location[1]) if location else None,
        first_event_time=now - ago,
        last_event_time=now - ago + timedelta(seconds=30),
        evidence=evidence or [],
        departments=departments,
    )


def h2_event(
    eid: str, site: str, ppm: float, at: datetime, lat: float, lon: float
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": "urn:test:h2",
        "type": "city.safety.hydrogen.reading",
        "time": at.isoformat().replace("+00:00", "Z"),
        "district": "310101",
        "data": {
            "site_id": site,
            "sensor_id": f"{site}-S1",
            "h2_ppm": ppm,
            "location": {"lat": lat, "lon": lon},
        },
    }


def service_event(
    eid: str, kind: str, request_id: str, department: str, at: datetime
) -> dict[str, Any]:
    data: dict[str, Any] = {"request_id": request_id, "department": department}
    if kind == "opened":
        data["service_code"] = "noise"
        data["location"] = {"lat": 31.25, "lon": 121.49}
    return {
        "specversion": "1.0",
        "id": eid,
        "source": "urn:test:12345",
        "type": f"city.service.request.{kind}",
        "time": at.isoformat().replace("+00:00", "Z"),
        "district": "310102",
        "data": data,
    }


class CommandApplier:
    """Stands in for the worker's lifecycle agent: folds alerts, decides commands, emits."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.state: dict[str, Alert] = {}
        self.rejected: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="command-applier", daemon=True)

    def __enter__(self) -> CommandApplier:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        t = self.hub.topics
        consumer = KafkaConsumer(
            bootstrap_servers=self.hub.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50
        )
        try:
            parts = [
                TopicPartition(topic, p)
                for topic in (t.alerts, t.commands)
                for p in consumer.partitions_for_topic(topic) or ()
            ]
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            while not self._stop.is_set():
                for tp, records in consumer.poll(timeout_ms=100).items():
                    for r in records:
                        if tp.topic == t.alerts:
                            self._on_alert(r.value)
                        else:
                            self._on_command(r.value)
        finally:
            consumer.close()

    def _on_alert(self, raw: bytes) -> None:
        obj = orjson.loads(raw)
        if obj["source"] == LIFECYCLE_SOURCE:
            return
        incoming = Alert.model_validate(obj["data"])
        kind = KIND_OF_TYPE[obj["type"]]
        self.state[incoming.alert_id] = fold(
            self.state.get(incoming.alert_id), kind, incoming, source=obj["source"]
        )

    def _on_command(self, raw: bytes) -> None:
        cmd = Command.model_validate_json(raw)
        try:
            change = decide(self.state.get(cmd.alert_id), cmd, now=datetime.now(UTC))
        except Rejected as exc:
            self.rejected.append((cmd.alert_id, exc.reason))
            return
        self.state[cmd.alert_id] = change.alert
        self.hub.send(
            self.hub.topics.alerts,
            cmd.alert_id,
            encode(change, time=cmd.at, source=LIFECYCLE_SOURCE),
        )


@dataclass
class RunningView:
    url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread

    def client(self, who: str | None = None, **kw: Any) -> httpx.Client:
        headers = bearer(who) if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10, **kw)


@contextmanager
def serve_view(hub: Hub, *, ready_timeout: float = 60) -> Iterator[RunningView]:
    """The view of `hub` on a free port, in a thread, returned once /readyz answers 200."""
    with serve_settings(hub.settings, hub.bootstrap, ready_timeout=ready_timeout) as view:
        yield view


@contextmanager
def serve_settings(
    settings: ViewSettings, bootstrap: str, *, ready_timeout: float = 60
) -> Iterator[RunningView]:
    """The view with `settings`; its public URL is the address it listens on."""
    sock = bind("127.0.0.1", 0)
    settings = settings.model_copy(update={"view_public_url": url_of(sock)})
    app = create_app(settings, bootstrap=bootstrap)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    view = RunningView(url_of(sock).rstrip("/"), app, server, thread)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            try:
                if httpx.get(f"{view.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the view did not become ready")
            time.sleep(0.1)
        yield view
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def wait_for(predicate: Any, timeout: float = 10, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


@dataclass
class SseEvent:
    event: str
    data: Any
    id: str | None


class SseReader:
    """Reads an SSE stream in a thread, so a test can wait for events with a timeout."""

    def __init__(self, url: str, headers: dict[str, str], cookies: dict[str, str] | None = None):
        self.events: list[SseEvent] = []
        self.status: int | None = None
        self._url, self._headers, self._cookies = url, headers, cookies
        self._stop = threading.Event()
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SseReader:
        self._thread.start()
        wait_for(lambda: self.status is not None, timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()
        self._thread.join(timeout=0.2)  # a blocked read ends at the next heartbeat

    def _run(self) -> None:
        timeout = httpx.Timeout(10, read=30)
        with (
            contextlib.suppress(httpx.HTTPError, RuntimeError, OSError, ValueError),
            httpx.Client(timeout=timeout, cookies=self._cookies) as client,
            client.stream("GET", self._url, headers=self._headers) as response,
        ):
            self._response = response
            self.status = response.status_code
            if response.status_code != 200:
                response.read()
                self.events.append(SseEvent("http-error", response.json(), None))
                return
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line == "":
                    if "event" in fields or "data" in fields:
                        data = orjson.loads(fields["data"]) if "data" in fields else None
                        self.events.append(
                            SseEvent(fields.get("event", "message"), data, fields.get("id"))
                        )
                    fields = {}
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        if self.status is None:
            self.status = -1

    def of(self, kind: str) -> list[SseEvent]:
        return [e for e in list(self.events) if e.event == kind]

    def alert_ids(self) -> list[str]:
        return [e.data["alert"]["alert_id"] for e in self.of("alert")]
