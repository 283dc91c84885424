"""A real Prometheus scrapes a real worker and connector; the hub's rules evaluate on it.

One scenario, in the order an SRE would meet it: the processes come up and say they are ready,
Prometheus finds their series, the recording rules evaluate, one event is traced from its id
to the alert in the worker's JSON log, and a worker killed with SIGKILL raises
OneNetWorkerDown (with `for:` shortened to 2 s in the test's copy of the rules).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.hubproc import ONENET, Hub
from tests.support.prometheus import (
    Prometheus,
    PrometheusMissing,
    binary,
    copy_rules,
    running_prometheus,
    wait_for,
    write_targets,
)
from tests.support.promql import dashboard_expressions

pytestmark = pytest.mark.integration

PORT_LINE = re.compile(r"http://127\.0\.0\.1:(\d+)/metrics")
SIMULATOR = ["connector", "run", "simulator", "--rate", "20", "--scenario", "none"]
SIMULATOR += ["--metrics-port", "0"]

# A tiny connector, used only when the simulator connector cannot start (it is written by
# another team and may be mid-change): the same SDK runner, CLI path and observability server.
FALLBACK_CONNECTOR = textwrap.dedent(
    """
    import asyncio
    from datetime import UTC, datetime

    from connectors.sdk.base import Connector
    from connectors.sdk.cli import run_connector
    from connectors.sdk.item import Draft, Item

    class Ticker(Connector):
        name = "ticker"

        async def run(self, sink):
            n = 0
            while not sink.stopping.is_set():
                n += 1
                data = {"site_id": "TICK", "sensor_id": "TICK-1", "h2_ppm": 10,
                        "location": {"lat": 31.2, "lon": 121.4}}
                await sink.submit(Item(Draft(type="city.safety.hydrogen.reading", data=data,
                                             id=f"tick-{n}", time=datetime.now(UTC))))
                await asyncio.sleep(0.05)

    run_connector(Ticker, Ticker.Options(), metrics_port=0)
    """
)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def port_from_log(path: Path, proc: subprocess.Popen[bytes], what: str) -> int:
    def found() -> int | None:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited {proc.returncode}:\n{path.read_text()[-3000:]}")
        m = PORT_LINE.search(path.read_text(errors="replace")) if path.exists() else None
        return int(m.group(1)) if m else None

    return wait_for(found, timeout=60, what=f"{what} to print its metrics port")


@contextmanager
def connector(hub: Hub) -> Iterator[tuple[subprocess.Popen[bytes], int, str]]:
    """The simulator at 20 events/s with --metrics-port 0, or the fallback if it cannot run."""
    log_path = hub.workdir / "connector.log"
    commands = [
        (
            "simulator",
            [ONENET, *SIMULATOR],
        ),
        ("ticker", [sys.executable, "-c", FALLBACK_CONNECTOR]),
    ]
    proc: subprocess.Popen[bytes] | None = None
    try:
        for name, command in commands:
            with log_path.open("wb") as log:
                proc = subprocess.Popen(
                    command,
                    env=hub.env(ONENET_LOG_FORMAT="json"),
                    cwd=hub.workdir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            try:
                port = port_from_log(log_path, proc, f"connector {name}")
            except AssertionError as exc:
                if proc.poll() is None:  # started but never printed its port
                    proc.kill()
                    proc.wait()
                if name == "simulator":
                    warnings.warn(
                        f"simulator did not start, using the fallback: {exc}", stacklevel=1
                    )
                    continue
                raise
            yield proc, port, name
            return
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def leak_events(now: datetime) -> list[dict[str, Any]]:
    def reading(eid: str, seconds: int, ppm: float) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": eid,
            "source": "urn:test:observability",
            "type": "city.safety.hydrogen.reading",
            "time": (now + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
            "district": "310101",
            "data": {
                "site_id": "S-OBS",
                "sensor_id": "S-OBS-1",
                "h2_ppm": ppm,
                "location": {"lat": 31.23, "lon": 121.47},
            },
        }

    return [reading("obs-1", -30, 4200), reading("obs-2", -20, 4800), reading("obs-3", -10, 5100)]


def values(prom: Prometheus, expr: str) -> list[float]:
    return [float(s["value"][1]) for s in prom.query(expr)]


def test_prometheus_scrapes_the_hub_and_its_rules_fire(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    try:
        binary("prometheus")  # before any process starts: fail fast, with the install command
    except PrometheusMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    hub = Hub(kafka_bootstrap, tmp_path)
    assert hub.run("topics", "create").returncode == 0
    safety = f"{hub.prefix}.events.safety"

    with hub.worker(ONENET_LOG_FORMAT="json") as worker, connector(hub) as (conn, cport, cname):
        wport = port_from_log(hub.workdir / "worker.log", worker, "worker")
        worker_target, connector_target = f"127.0.0.1:{wport}", f"127.0.0.1:{cport}"

        # --- the processes' own endpoints ---------------------------------------------------
        wait_for(
            lambda: http_status(f"http://{worker_target}/readyz") == 200,
            timeout=120,
            what="the worker's /readyz (partitions assigned)",
        )
        assert http_status(f"http://{worker_target}/healthz") == 200
        assert http_status(f"http://{connector_target}/readyz") == 200
        assert http_status(f"http://{connector_target}/healthz") == 200

        events = leak_events(datetime.now(UTC).replace(microsecond=0))
        feed = tmp_path / "leak.jsonl"
        feed.write_text("".join(json.dumps(e) + "\n" for e in events))
        published = hub.run("publish", str(feed))
        assert published.returncode == 0, published.stderr

        # --- Prometheus -------------------------------------------------------------------
        targets = tmp_path / "targets"
        targets.mkdir()
        write_targets(targets / "workers.json", [worker_target], deployment="test")
        write_targets(targets / "connectors.json", [connector_target], deployment="test")
        scrape = [
            {
                "job_name": job,
                "file_sd_configs": [{"files": [str(targets / f"{kind}.json")]}],
            }
            for job, kind in (("onenet-worker", "workers"), ("onenet-connector", "connectors"))
        ]
        rule_files = copy_rules(tmp_path / "rules", for_="2s")
        with running_prometheus(
            tmp_path / "prometheus", scrape_configs=scrape, rule_files=rule_files
        ) as prom:
            run_scenario(prom, hub, worker, safety, cname, worker_target, events)
        assert conn.poll() is None, "the connector died during the test"


def run_scenario(
    prom: Prometheus,
    hub: Hub,
    worker: subprocess.Popen[bytes],
    safety: str,
    cname: str,
    worker_target: str,
    events: list[dict[str, Any]],
) -> None:
    w, c = 'job="onenet-worker"', 'job="onenet-connector"'

    # the series arrive
    wait_for(lambda: values(prom, f"up{{{w}}}") == [1.0], timeout=30, what="worker up")
    wait_for(lambda: values(prom, f"up{{{c}}}") == [1.0], timeout=30, what="connector up")
    for expr in (
        f'onenet_events_consumed_total{{{w}, topic="{safety}"}}',
        f'onenet_connector_events_published_total{{{c}, connector="{cname}"}}',
        f'onenet_connector_last_publish_timestamp_seconds{{{c}, connector="{cname}"}}',
        f"onenet_event_processing_seconds_bucket{{{w}}}",
        f'onenet_alert_changes_total{{{w}, rule="hydrogen-leak", kind="firing"}}',
        f'onenet_event_to_alert_seconds_bucket{{{w}, rule="hydrogen-leak"}}',
        f"onenet_build_info{{{w}}}",
    ):
        wait_for(lambda e=expr: prom.query(e), timeout=60, what=expr)  # type: ignore[misc]
    wait_for(
        lambda: len(prom.query(f'onenet_consumer_lag_messages{{{w}, topic="{safety}"}}')) == 3,
        timeout=60,
        what="lag of the 3 safety partitions",
    )
    assert values(prom, f"onenet_process_ready{{{w}}}") == [1.0]
    assert values(prom, f"onenet_process_ready{{{c}}}") == [1.0]

    # recording rules evaluate (rate() needs two scrapes inside its window)
    for expr in (
        f'onenet:events_consumed:rate5m{{topic="{safety}"}} > 0',
        f'onenet:connector_events_published:rate5m{{connector="{cname}"}} > 0',
        f'onenet:consumer_lag:sum{{topic="{safety}"}}',
        'onenet:event_to_alert_seconds:p99_5m{rule="hydrogen-leak"}',
        "onenet:event_processing_seconds:p99_5m",
        f'onenet:connector_last_publish_age:seconds{{connector="{cname}"}} < 60',
    ):
        wait_for(lambda e=expr: prom.query(e), timeout=60, what=expr)  # type: ignore[misc]
    for rule in prom.rules():
        assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"

    # every Grafana panel's query is PromQL this Prometheus accepts (no Grafana here to ask)
    grafana_vars = {"$__rate_interval": "1m", "$__range": "5m", "$job": "onenet-worker"}
    for where, expr in dashboard_expressions():
        for var, value in grafana_vars.items():
            expr = expr.replace(var, value)
        try:
            prom.query(expr)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"dashboard {where}: {expr}: {exc.read().decode()}") from None
    assert not [a for a in prom.alerts() if a["labels"]["alertname"] == "OneNetWorkerDown"]

    # one event traced from its id to the alert, in the worker's JSON log
    lines = [line for line in hub.log("worker").splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is JSON
    fired = [
        e
        for e in entries
        if e["logger"] == "onenet.worker" and e["msg"] == "alert firing"
        if e.get("rule") == "hydrogen-leak" and events[0]["id"] in e.get("evidence", [])
    ]
    assert fired, "no 'alert firing' log line with the published event as evidence"
    assert fired[0]["alert_id"]
    assert fired[0]["component"] == "worker"

    # the worker dies hard: OneNetWorkerDown goes pending, then firing
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    seen: list[str] = []

    def worker_down_firing() -> bool:
        for alert in prom.alerts():
            if alert["labels"]["alertname"] == "OneNetWorkerDown":
                assert alert["labels"]["instance"] == worker_target
                assert alert["labels"]["severity"] == "critical"
                if not seen or seen[-1] != alert["state"]:
                    seen.append(alert["state"])
        return bool(seen) and seen[-1] == "firing"

    wait_for(worker_down_firing, timeout=60, what="OneNetWorkerDown firing", every=0.2)
    assert values(prom, f"up{{{w}}}") == [0.0]
    assert "firing" in seen, seen
