"""Broker faults on a three-node cluster (replication 3, min.insync.replicas 2, no unclean
leader election): what was acknowledged survives, what cannot be made durable is refused."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from hub.broker import LocalCluster
from tests.support.cluster import ClusterHub, all_nodes_back, cluster_hub, running_cluster
from tests.support.hubproc import ONENET
from tests.support.readings import reading

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster")) as made:
        yield made


def write_events(path: Path, events: list[dict[str, object]]) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    return path


def replay_checkpoint(hub: ClusterHub) -> Path:
    """Where `onenet connector run replay` keeps its default instance's checkpoint."""
    return hub.workdir / "state" / "connectors" / "replay-default.json"


def ids_on(hub: ClusterHub, topic: str, count: int) -> list[str]:
    records = hub.read_topic(f"{hub.prefix}.{topic}", min_records=count, timeout=120)
    return [orjson.loads(r.value)["id"] for r in records]


def test_with_two_of_three_nodes_down_ingest_refuses_and_keeps_its_checkpoint(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    hub = cluster_hub(cluster, tmp_path)
    events = [reading(f"down-{i}", f"S-DOWN-{i % 4}", -60 + i, 100) for i in range(20)]
    file = write_events(tmp_path / "down.jsonl", events)
    checkpoint = replay_checkpoint(hub)
    with all_nodes_back(cluster):
        _survivor, *others = sorted(cluster.nodes)
        for node_id in others:
            cluster.kill(node_id)
        started = time.monotonic()
        done = hub.run("publish", str(file), timeout=180)
        took = time.monotonic() - started
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert "published 0 of 20 events" in done.stderr
        assert "20 not sent" in done.stderr
        assert "min.insync.replicas" in done.stderr
        assert "NOT_ENOUGH_REPLICAS" in done.stderr
        assert took < 120, f"refusing took {took:.0f} s"

        replayed = hub.run("connector", "run", "replay", "--file", str(file), timeout=180)
        assert replayed.returncode == 1, replayed.stderr
        assert "Traceback" not in replayed.stderr
        assert "the checkpoint stayed before them" in replayed.stderr
        saved = json.loads(checkpoint.read_text()) if checkpoint.exists() else {}
        assert not saved.get("position"), f"checkpoint advanced past unacknowledged lines: {saved}"
    cluster.wait_in_sync([f"{hub.prefix}.events.safety"])
    again = hub.run("connector", "run", "replay", "--file", str(file), timeout=180)
    assert again.returncode == 0, again.stderr
    assert sorted(set(ids_on(hub, "events.safety", 20))) == sorted(e["id"] for e in events)


def test_a_connector_killed_mid_run_resumes_from_its_checkpoint_with_no_gap(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    hub = cluster_hub(cluster, tmp_path)
    events = [reading(f"resume-{i}", f"S-RES-{i % 7}", -3600 + i, 100) for i in range(3000)]
    file, checkpoint = write_events(tmp_path / "resume.jsonl", events), replay_checkpoint(hub)
    # Original pace at a high speed keeps the run going long enough to be killed mid-file.
    args = [ONENET, "connector", "run", "replay", "--file", str(file)]
    args += ["--pace", "original", "--speed", "200"]
    log = (tmp_path / "replay.log").open("wb")
    proc = subprocess.Popen(args, env=hub.env(), cwd=tmp_path, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while not checkpoint.exists() or not json.loads(checkpoint.read_text()).get("position"):
            assert proc.poll() is None, (tmp_path / "replay.log").read_text()
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    before = len(ids_on(hub, "events.safety", 1))
    assert 0 < before < len(events), "the kill must land mid-file"
    again = hub.run("connector", "run", "replay", "--file", str(file), timeout=300)
    assert again.returncode == 0, again.stderr
    records = hub.read_topic(f"{hub.prefix}.events.safety", min_records=len(events), timeout=120)
    ids = [orjson.loads(r.value)["id"] for r in records]
    assert set(ids) == {e["id"] for e in events}, "every line of the file is on the topic"
    # A line sent twice (after the kill, before the checkpoint) is the very same CloudEvent.
    by_id: dict[str, set[bytes]] = {}
    for r in records:
        by_id.setdefault(orjson.loads(r.value)["id"], set()).add(r.value)
    assert all(len(values) == 1 for values in by_id.values())


def batch(n: int) -> tuple[list[dict[str, object]], list[str]]:
    """Background readings plus five planted leaks (three readings >= 4000 ppm in 60 s)."""
    planted = [f"S-KILL-{n:02d}-{i}" for i in range(5)]
    events = [
        reading(f"b{n}-noise-{i}", f"S-CALM-{i % 30}", -300 + i % 240, 150) for i in range(200)
    ]
    for site in planted:
        events += [reading(f"{site}-{k}", site, -50 + 20 * k, 4500) for k in range(3)]
    return events, planted


def assert_published(publisher: subprocess.Popen[str]) -> None:
    """Every line of the publish was acknowledged (exit 0 means none was left unsent)."""
    _, err = publisher.communicate(timeout=180)
    assert publisher.returncode == 0, err


def test_leader_kills_while_publishing_and_correlating_lose_no_acknowledged_event(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    hub = cluster_hub(cluster, tmp_path)
    safety, alerts = f"{hub.prefix}.events.safety", f"{hub.prefix}.alerts"
    sent: list[str] = []
    planted: list[str] = []
    kills: list[tuple[str, int]] = []
    with all_nodes_back(cluster), hub.worker("w1", ONENET_WORKER_SESSION_TIMEOUT_S="8") as worker:
        # Faults start once the worker has its partitions, not while it is still starting.
        assigned = re.compile(rf"{re.escape(safety)}\s*\|\s*\{{[0-9, -]+\}}")
        deadline = time.monotonic() + 180
        while not assigned.search(hub.log("w1")):
            assert worker.poll() is None, hub.log("w1")[-3000:]
            assert time.monotonic() < deadline, "the worker got no partitions in 180 s"
            time.sleep(0.5)
        publishers: list[subprocess.Popen[str]] = []
        # Kill the leader of an input partition, then of an alert partition, twice, each
        # while a publish is under way, and bring the node back before the next kill.
        for n, topic in enumerate((safety, alerts, safety, alerts)):
            if publishers:
                assert_published(publishers[-1])
            events, sites = batch(n)
            file = write_events(tmp_path / f"batch-{n}.jsonl", events)
            publishers.append(
                subprocess.Popen(
                    [ONENET, "publish", str(file)],
                    env=hub.env(),
                    cwd=tmp_path,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            sent += [str(e["id"]) for e in events]
            planted += sites
            leader = cluster.leader(topic, n % 3)
            cluster.kill(leader)
            kills.append((topic, leader))
            cluster.wait_leader(topic, n % 3, not_on=leader)
            cluster.restart(leader)
            cluster.wait_in_sync([safety, alerts])
        assert_published(publishers[-1])
        hub.wait_consumed(safety, timeout=240)
        assert worker.poll() is None, hub.log("w1")[-3000:]
    assert len(kills) == 4
    on_topic = ids_on(hub, "events.safety", len(sent))
    assert set(sent) <= set(on_topic), "an acknowledged event is missing"
    records = hub.read_topic(alerts, min_records=len(planted), timeout=120)
    firing = [json.loads(r.value) for r in records]
    firing = [e for e in firing if e["type"] == "city.alert.firing"]
    by_site: dict[str, set[str]] = {}
    for e in firing:
        by_site.setdefault(e["data"]["key"], set()).add(e["data"]["alert_id"])
    assert sorted(by_site) == sorted(planted), "every planted leak fired, nothing else did"
    assert all(len(ids) == 1 for ids in by_site.values()), "each fired exactly once"
