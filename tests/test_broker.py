"""The local jar broker, with real `java` processes: no mocks, each test owns its state dir.

These tests start their own brokers in temporary state folders, so they neither need nor
disturb the session `kafka_bootstrap` broker.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from typer.testing import CliRunner

from hub.broker import BrokerError, LocalBroker
from hub.broker.cli import app
from hub.errors import UserError

pytestmark = pytest.mark.integration

runner = CliRunner()


def cli(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command in a child process: detaching and stdout-only output matter here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONENET_", "KAFKA_"))}
    env["ONENET_STATE_DIR"] = str(state_dir)
    return subprocess.run(
        [sys.executable, "-m", "hub.broker.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )


def java_pids(config: Path) -> list[int]:
    """Every process on the machine running a Kafka broker with this config file."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kafka.Kafka" in args and str(config).encode() in args:
            pids.append(int(proc.name))
    return pids


def admin(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)


def create_topic(bootstrap: str, name: str) -> None:
    client = admin(bootstrap)
    try:
        client.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
        client.wait_for_topics([name], timeout_ms=15000)
    finally:
        client.close()


def describe(bootstrap: str) -> tuple[str, list[str]]:
    """(cluster id, topic names): what must survive a restart."""
    client = admin(bootstrap)
    try:
        return client.describe_cluster()["cluster_id"], client.list_topics()
    finally:
        client.close()


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """One broker for the read-only tests, started the way users do: by the CLI."""
    state_dir = tmp_path_factory.mktemp("broker-cli")
    done = cli(state_dir, "start")
    assert done.returncode == 0, done.stderr
    try:
        lines = done.stdout.splitlines()
        assert len(lines) == 1, f"stdout must be only the address, got {done.stdout!r}"
        assert "started at" in done.stderr
        yield state_dir, lines[0]
    finally:
        stopped = cli(state_dir, "stop")
        assert stopped.returncode == 0, stopped.stderr


def test_start_prints_a_bootstrap_that_serves_messages(started: tuple[Path, str]) -> None:
    _, bootstrap = started
    host, _, port = bootstrap.rpartition(":")
    assert host == "127.0.0.1"
    assert int(port) > 0
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send(topic, key=b"k", value=b"hello city").get(timeout=15)
    finally:
        producer.close()

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        received: list[Any] = []
        deadline = time.monotonic() + 15
        while not received and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                received.extend(records)
    finally:
        consumer.close()
    assert [(r.key, r.value) for r in received] == [(b"k", b"hello city")]


def test_second_start_returns_the_running_broker(started: tuple[Path, str]) -> None:
    state_dir, bootstrap = started
    broker = LocalBroker(state_dir=state_dir)
    status = broker.status()
    assert status.running
    assert status.bootstrap == bootstrap

    again = broker.ensure_running(timeout=10)
    assert (again.bootstrap, again.pid, again.already_running) == (bootstrap, status.pid, True)

    done = cli(state_dir, "start")
    assert done.returncode == 0, done.stderr
    assert done.stdout == bootstrap + "\n"
    assert f"already running at {bootstrap} (pid {status.pid})" in done.stderr
    assert java_pids(broker.config_file) == [status.pid]


def test_status_command_reports_running(started: tuple[Path, str]) -> None:
    state_dir, bootstrap = started
    result = runner.invoke(app, ["status", "--json"], env={"ONENET_STATE_DIR": str(state_dir)})
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["running"] is True
    assert report["bootstrap"] == bootstrap
    assert report["pid"] in java_pids(LocalBroker(state_dir=state_dir).config_file)


def test_stop_then_restart_keeps_cluster_address_and_topics(tmp_path: Path) -> None:
    broker = LocalBroker(state_dir=tmp_path, port=0)
    before = runner.invoke(app, ["status"], env={"ONENET_STATE_DIR": str(tmp_path)})
    assert before.exit_code == 3
    assert "not running" in before.stdout
    assert broker.stop() is False

    try:
        bootstrap = broker.start()
        create_topic(bootstrap, "kept-across-restarts")
        cluster_id, _ = describe(bootstrap)
        pid = broker.status().pid
        assert pid is not None

        assert broker.stop() is True
        after = broker.status()
        assert (after.running, after.pid, after.bootstrap) == (False, None, None)
        assert not Path(f"/proc/{pid}").exists(), "stopped broker must be gone (not a zombie)"
        assert broker.stop() is False

        again = broker.start()
        assert again == bootstrap, "a restarted broker keeps its address when the port is free"
        cluster_again, topics = describe(again)
        assert cluster_again == cluster_id
        assert "kept-across-restarts" in topics
    finally:
        broker.stop()


def test_stale_or_foreign_pid_is_never_signalled(tmp_path: Path) -> None:
    broker = LocalBroker(state_dir=tmp_path)
    broker.home.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    for pid in (dead.pid, os.getpid()):  # gone, and alive but not a broker (this pytest)
        broker.state_file.write_text(json.dumps({"pid": pid, "bootstrap": "127.0.0.1:1"}))
        assert broker.status().running is False
        assert broker.stop() is False
        assert json.loads(broker.state_file.read_text())["pid"] is None


def test_missing_jars_says_make_jars(tmp_path: Path) -> None:
    broker = LocalBroker(state_dir=tmp_path, lib_dir=tmp_path / "no-jars")
    with pytest.raises(BrokerError, match="make jars") as caught:
        broker.start()
    # One exception root: `onenet` prints the hint of any UserError on a line of its own.
    assert isinstance(caught.value, UserError)
    assert caught.value.message == f"the Kafka jars are missing from {tmp_path / 'no-jars'}"
    assert caught.value.hint is not None
    assert "make jars" in caught.value.hint


def test_missing_java_is_one_clear_line(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {"PATH": str(empty_bin), "JAVA_HOME": None, "ONENET_STATE_DIR": str(tmp_path)}
    result = runner.invoke(app, ["start"], env=env)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error: `java` was not found" in result.stderr
    assert "apt-get install -y openjdk-17-jre-headless" in result.stderr
    assert "Traceback" not in result.output


def test_explicit_busy_port_is_refused(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BrokerError, match=rf"port {port} .* in use"):
            LocalBroker(state_dir=tmp_path, port=port).start()


def test_broker_dying_at_start_shows_its_log(tmp_path: Path) -> None:
    broker = LocalBroker(state_dir=tmp_path)
    broker.data_dir.mkdir(parents=True)
    # Data from another node: Kafka refuses to start, as it would after a bad copy.
    (broker.data_dir / "meta.properties").write_text(
        "version=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\nnode.id=7\n"
    )
    with pytest.raises(BrokerError) as caught:
        broker.start(timeout=60)
    message = str(caught.value)
    assert "exited" in message
    assert "Stored node id 7" in message
    assert f"delete {broker.home}" in message
    assert broker.status().running is False
    assert java_pids(broker.config_file) == []


def test_timeout_stops_the_half_started_broker(tmp_path: Path) -> None:
    broker = LocalBroker(state_dir=tmp_path)
    with pytest.raises(BrokerError, match=r"did not answer .* within"):
        broker.start(timeout=0.5)
    assert broker.status().running is False
    assert java_pids(broker.config_file) == []
