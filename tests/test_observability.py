"""hub.observe: the health/metrics server, JSON logs, consumer lag, and the metric catalogue."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from hub import __version__, metrics
from hub.observe import JsonFormatter, configure_logging, log_format_from_env
from hub.observe.lag import ConsumerLagMonitor, compute_lag
from hub.observe.lag import main as lag_main
from hub.observe.server import ObservabilityServer, start_observability_server
from hub.settings import get_settings
from hub.stream.worker import worker_readiness
from tests.support.prometheus import wait_for

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def get(url: str, accept: str = "") -> tuple[int, str, str]:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[ObservabilityServer]:
    srv = ObservabilityServer(
        host="127.0.0.1", port=0, stale_after=10, startup_grace=60, clock=clock
    ).start()
    try:
        yield srv
    finally:
        srv.stop()


# --- server -----------------------------------------------------------------------------------


def test_port_zero_picks_a_free_loopback_port() -> None:
    srv = start_observability_server(0)
    try:
        assert srv.port > 0
        assert srv.url == f"http://127.0.0.1:{srv.port}"
        code, _, body = get(f"{srv.url}/")
        assert code == 200
        assert json.loads(body)["endpoints"] == ["/metrics", "/healthz", "/readyz"]
    finally:
        srv.stop()


def test_metrics_exposition_in_both_formats(server: ObservabilityServer) -> None:
    metrics.EVENTS_CONSUMED.labels("t.events.safety", "city.safety.hydrogen.reading").inc()
    code, ctype, body = get(f"{server.url}/metrics")
    assert code == 200
    assert ctype.startswith("text/plain")
    assert f'onenet_build_info{{version="{__version__}"}} 1.0' in body
    assert "onenet_process_ready 0.0" in body
    assert 'onenet_events_consumed_total{topic="t.events.safety"' in body
    code, ctype, body = get(
        f"{server.url}/metrics", accept="application/openmetrics-text; version=1.0.0"
    )
    assert code == 200
    assert ctype.startswith("application/openmetrics-text")
    assert body.rstrip().endswith("# EOF")


def test_healthz_follows_the_heartbeat(server: ObservabilityServer, clock: FakeClock) -> None:
    # starting: alive within the startup grace although nothing has beaten yet
    code, _, body = get(f"{server.url}/healthz")
    assert (code, json.loads(body)["reason"]) == (200, "starting")
    clock.now += 61
    code, _, body = get(f"{server.url}/healthz")
    assert code == 503
    assert "no heartbeat 61.0 s after start" in json.loads(body)["reason"]

    server.beat()
    code, _, body = get(f"{server.url}/healthz")
    assert code == 200
    assert json.loads(body) == {"status": "ok", "heartbeat_age_seconds": 0.0}
    clock.now += 10  # exactly at the limit is still alive
    assert get(f"{server.url}/healthz")[0] == 200
    clock.now += 0.5
    code, _, body = get(f"{server.url}/healthz")
    assert code == 503
    assert json.loads(body)["status"] == "stale"
    assert "last heartbeat 10.5 s ago (limit 10 s)" in json.loads(body)["reason"]
    server.beat()
    assert get(f"{server.url}/healthz")[0] == 200


def test_readyz_transitions_and_the_ready_gauge(
    server: ObservabilityServer, clock: FakeClock
) -> None:
    def ready_gauge() -> float | None:
        return REGISTRY.get_sample_value("onenet_process_ready")

    code, ctype, body = get(f"{server.url}/readyz")
    assert (code, ctype) == (503, "application/json")
    assert json.loads(body) == {"status": "not ready", "reason": "starting"}
    assert ready_gauge() == 0

    server.beat()
    server.set_ready(True, "3 partitions of 1 topics assigned")
    code, _, body = get(f"{server.url}/readyz")
    assert code == 200
    assert json.loads(body) == {"status": "ready", "reason": "3 partitions of 1 topics assigned"}
    assert ready_gauge() == 1

    server.set_ready(False, "rebalancing")
    code, _, body = get(f"{server.url}/readyz")
    assert (code, json.loads(body)["reason"]) == (503, "rebalancing")
    assert ready_gauge() == 0

    # ready but not alive any more: not ready, and the body says why
    server.set_ready(True, "back")
    clock.now += 11
    code, _, body = get(f"{server.url}/readyz")
    assert code == 503
    assert json.loads(body)["reason"].startswith("not alive: last heartbeat")


def test_unknown_path_head_and_stop(server: ObservabilityServer) -> None:
    assert get(f"{server.url}/nope")[0] == 404
    req = urllib.request.Request(f"{server.url}/readyz", method="HEAD")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=5)
    assert exc.value.code == 503
    assert exc.value.read() == b""
    port = server.port
    server.stop()
    server.stop()  # twice is fine
    again = start_observability_server(port)  # the port is free again
    again.stop()


def test_probes_do_not_wait_for_each_other(server: ObservabilityServer) -> None:
    """A slow scrape (threaded server) must not hold up a liveness probe."""
    slow = socket.create_connection(("127.0.0.1", server.port))  # opened, never sends
    try:
        started = time.monotonic()
        assert get(f"{server.url}/healthz")[0] == 200
        assert time.monotonic() - started < 2
    finally:
        slow.close()


def test_set_ready_is_thread_safe(server: ObservabilityServer) -> None:
    def flip(n: int) -> None:
        for i in range(200):
            server.set_ready(i % 2 == 0, f"t{n}")
            server.beat()

    threads = [threading.Thread(target=flip, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.set_ready(True, "done")
    assert server.readiness() == (200, {"status": "ready", "reason": "done"})


# --- worker readiness -------------------------------------------------------------------------


def fake_app(**state: Any) -> Any:
    assignment = state.pop("assignment", {TopicPartition("t.events.safety", 0)})

    def assigned() -> Any:
        if assignment is None:
            raise RuntimeError("consumer not started")
        return assignment

    base = {"should_stop": False, "rebalancing": False, "in_recovery": False}
    return SimpleNamespace(**{**base, **state}, consumer=SimpleNamespace(assignment=assigned))


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({}, (True, "1 partitions of 1 topics assigned")),
        ({"assignment": set()}, (True, "0 partitions of 0 topics assigned")),
        ({"rebalancing": True}, (False, "rebalancing")),
        ({"in_recovery": True}, (False, "recovering table state from changelog topics")),
        ({"should_stop": True}, (False, "shutting down")),
        ({"assignment": None}, (False, "joining the consumer group")),
    ],
)
def test_worker_readiness(state: dict[str, Any], expected: tuple[bool, str]) -> None:
    assert worker_readiness(fake_app(**state)) == expected


# --- logs -------------------------------------------------------------------------------------


def emit(logger: logging.Logger, level: int, msg: str, *args: Any, **kw: Any) -> dict[str, Any]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter({"component": "worker"}))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.log(level, msg, *args, **kw)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1, lines
    entry: dict[str, Any] = json.loads(lines[0])
    return entry


def test_json_log_line_carries_the_alert_fields_the_worker_passes() -> None:
    entry = emit(
        logging.getLogger("onenet.worker.test"),
        logging.INFO,
        "alert %s",
        "firing",
        extra={
            "alert_id": "al-7f3a",
            "rule": "hydrogen-leak",
            "severity": "Severe",
            "evidence": ["leak-1", "leak-2", "leak-3"],
        },
    )
    assert RFC3339.match(entry.pop("ts"))
    assert entry == {
        "level": "info",
        "logger": "onenet.worker.test",
        "msg": "alert firing",
        "component": "worker",
        "alert_id": "al-7f3a",
        "rule": "hydrogen-leak",
        "severity": "Severe",
        "evidence": ["leak-1", "leak-2", "leak-3"],
    }


def test_json_log_exceptions_and_unserialisable_values() -> None:
    class Odd:
        def __str__(self) -> str:
            return "odd-value"

    logger = logging.getLogger("onenet.test.exc")
    try:
        raise ValueError("boom")
    except ValueError:
        entry = emit(logger, logging.ERROR, "failed", exc_info=True, extra={"thing": Odd()})
    assert entry["level"] == "error"
    assert entry["thing"] == "odd-value"
    assert "ValueError: boom" in entry["exc"]
    # an extra field never overrides the fixed ones
    entry = emit(logger, logging.WARNING, "x", extra={"level": "fake", "connector": "mqtt"})
    assert entry["level"] == "warning"
    assert entry["connector"] == "mqtt"


def test_configure_logging_json_text_and_no_duplicates() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        stream = io.StringIO()
        configure_logging("debug", json=True, static={"connector": "replay"}, stream=stream)
        configure_logging("debug", json=True, static={"connector": "replay"}, stream=stream)
        logging.getLogger("onenet.connector").info(
            "published %d", 3, extra={"event_id": "e-1", "source": "urn:x"}
        )
        lines = stream.getvalue().splitlines()
        assert len(lines) == 1  # the second call replaced the first handler
        entry = json.loads(lines[0])
        assert entry["msg"] == "published 3"
        assert (entry["connector"], entry["event_id"], entry["source"]) == (
            "replay",
            "e-1",
            "urn:x",
        )
        assert root.level == logging.DEBUG

        text = io.StringIO()
        configure_logging("warning", json=False, stream=text)
        logging.getLogger("onenet.x").info("hidden")
        logging.getLogger("onenet.x").warning("shown %s", "here")
        out = text.getvalue()
        assert "hidden" not in out
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING shown here$", out.strip())
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.captureWarnings(False)


@pytest.mark.parametrize(
    ("value", "expected"), [("json", True), (" JSON ", True), ("text", False), ("", False)]
)
def test_log_format_from_env(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("ONENET_LOG_FORMAT", value)
    assert log_format_from_env() is expected


# --- consumer lag -----------------------------------------------------------------------------


def test_compute_lag() -> None:
    ends = {("a", 0): 10, ("a", 1): 5, ("a", 2): 7, ("a", 3): 4, ("a", 4): 20}
    committed: dict[tuple[str, int], int | None] = {
        ("a", 0): 4,
        ("a", 1): -1,
        ("a", 3): 6,
        ("a", 4): 3,
    }
    beginnings = {("a", 0): 0, ("a", 1): 2, ("a", 2): 0, ("a", 3): 0, ("a", 4): 15}
    assert compute_lag(ends, committed, beginnings) == {
        ("a", 0): 6,  # end - committed
        ("a", 1): 3,  # never committed: end - log start (workers read from the earliest)
        ("a", 2): 7,  # absent from the answer: same
        ("a", 3): 0,  # a commit ahead of a cached end is not negative lag
        ("a", 4): 5,  # retention deleted past the commit: only what is left counts
    }


def lag_sample(topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "onenet_consumer_lag_messages", {"topic": topic, "partition": str(partition)}
    )


def test_lag_series_are_removed_when_the_broker_cannot_be_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    monitor = ConsumerLagMonitor("127.0.0.1:1", "g", ["u.events.safety"], interval=0.05)
    monitor._export({("u.events.safety", 0): 5, ("u.events.safety", 1): 2})
    assert lag_sample("u.events.safety", 0) == 5
    monitor._export({("u.events.safety", 0): 4})  # a partition that went away is removed
    assert lag_sample("u.events.safety", 1) is None

    calls = []

    def broken() -> dict[tuple[str, int], int]:
        calls.append(1)
        raise OSError("connection refused")

    monitor.poll_once = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="onenet.observe.lag"):
        monitor.start()
        deadline = time.monotonic() + 5
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        monitor.stop()
    assert len(calls) >= 3
    assert lag_sample("u.events.safety", 0) is None  # unknown lag is absent, not stale
    warnings = [r for r in caplog.records if "cannot measure consumer lag" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not once per attempt


def _poll_or_none(monitor: ConsumerLagMonitor) -> dict[tuple[str, int], int] | None:
    try:
        return monitor.poll_once()
    except KafkaError:
        monitor._close_clients()
        return None


def test_lag_against_a_real_broker(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = f"lag{time.time_ns()}.events.safety"
    group = f"lag-group-{time.time_ns()}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 2, 1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for _ in range(5):
        producer.send(topic, b"x", partition=0)
    for _ in range(3):
        producer.send(topic, b"y", partition=1)
    producer.flush()
    producer.close()

    monitor = ConsumerLagMonitor(kafka_bootstrap, group, [topic])
    try:
        # nothing committed yet: everything is lag. On a fresh broker the group coordinator
        # (`__consumer_offsets`) takes a few seconds to appear; the monitor's thread retries
        # the same way.
        first = wait_for(lambda: _poll_or_none(monitor), timeout=60, what="the group coordinator")
        assert first == {(topic, 0): 5, (topic, 1): 3}
        consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
        try:
            consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "", -1)})
        finally:
            consumer.close()
        assert monitor.poll_once() == {(topic, 0): 3, (topic, 1): 3}
        assert lag_sample(topic, 0) == 3
        assert lag_sample(topic, 1) == 3
    finally:
        monitor.stop()
        monitor._close_clients()

    # the same numbers for a person: python -m hub.observe.lag
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    get_settings.cache_clear()
    try:
        assert lag_main(["--group", group, "--topic", topic]) == 0
    finally:
        get_settings.cache_clear()
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [topic, "0", "5", "2", "3"] in rows
    assert [topic, "1", "3", "-", "3"] in rows
    assert ["total", "6"] in rows


# --- the metric catalogue ---------------------------------------------------------------------

CATALOGUE = [v for v in vars(metrics).values() if isinstance(v, Counter | Gauge | Histogram)]
UNITS = ("_seconds", "_bytes", "_messages", "_ratio")
ID_LABEL = re.compile(r"(^|_)(id|ids|uuid|key|path|url|ip)$")


@pytest.mark.parametrize("metric", CATALOGUE, ids=lambda m: m._name)
def test_metric_follows_prometheus_conventions(metric: Any) -> None:
    name: str = metric._name
    kind: str = metric._type
    assert re.fullmatch(r"onenet_[a-z0-9_]+", name), name
    if kind == "counter":
        # prometheus_client strips `_total` from the stored name and adds it on exposition
        assert not name.endswith("_total")
    if kind == "histogram":
        assert name.endswith(UNITS), f"{name}: a histogram's unit belongs in its name"
    if "timestamp" in name:
        assert name.endswith("_timestamp_seconds"), name
    for label in metric._labelnames:
        assert not ID_LABEL.search(label), f"{name}{{{label}}}: ids make unbounded series"
        assert label not in ("le", "quantile", "instance", "job")


def test_catalogue_has_the_operations_metrics() -> None:
    names = {(m._type, m._name, tuple(m._labelnames)) for m in CATALOGUE}
    assert {
        ("gauge", "onenet_consumer_lag_messages", ("topic", "partition")),
        ("gauge", "onenet_sse_clients", ()),
        ("counter", "onenet_http_requests", ("handler", "method", "code")),
        ("histogram", "onenet_http_request_duration_seconds", ("handler",)),
        ("gauge", "onenet_process_ready", ()),
        ("gauge", "onenet_build_info", ("version",)),
    } <= names


def test_every_metric_is_in_the_operations_catalogue() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text()
    rows = set(re.findall(r"^\| `(onenet_[a-z0-9_]+)` \|", docs, flags=re.MULTILINE))
    exposed = {m._name + ("_total" if m._type == "counter" else "") for m in CATALOGUE}
    assert exposed - rows == set(), "add these to the metric catalogue in docs/operations.md"
    assert rows - exposed == set(), "the catalogue lists metrics hub/metrics.py does not define"
