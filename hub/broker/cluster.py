"""Several local KRaft nodes from the same jars, replicated as production runs them.

A single broker cannot show what a lost leader does to acknowledged writes, so fault tests
start three `LocalBroker`s, each both controller and broker, sharing one cluster id and one
static controller quorum. The ports are chosen once and kept in `<state_dir>/cluster/`, so a
node killed with `kill -9` comes back at the same address the others expect.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hub.broker.local import (
    HOST,
    BrokerError,
    ClusterNode,
    LocalBroker,
    _atomic_write,
    _free_port,
    _quiet_kafka_logs,
    _random_kafka_uuid,
)
from hub.settings import Settings

DEFAULT_HEAP_MB = 384


class LocalCluster:
    """`nodes` brokers with replication `nodes`, `min.insync.replicas` of `min_insync`."""

    def __init__(
        self,
        state_dir: Path | str,
        *,
        nodes: int = 3,
        min_insync: int = 2,
        heap_mb: int = DEFAULT_HEAP_MB,
        lib_dir: Path | str | None = None,
    ) -> None:
        if nodes < 2:
            raise BrokerError(f"a cluster needs at least 2 nodes, not {nodes}")
        if not 1 <= min_insync <= nodes:
            raise BrokerError(f"min.insync.replicas {min_insync} must be within 1..{nodes}")
        self.home = Path(state_dir).resolve() / "cluster"
        self.size = nodes
        self.min_insync = min_insync
        layout = self._layout()
        voters = ",".join(f"{n}@{HOST}:{p['controller']}" for n, p in layout["ports"].items())
        overrides = self._overrides(voters)
        settings = Settings()
        self.nodes: dict[int, LocalBroker] = {
            int(n): LocalBroker(
                settings,
                state_dir=self.home,
                lib_dir=lib_dir,
                heap_mb=heap_mb,
                port=p["broker"],
                node=ClusterNode(
                    node_id=int(n),
                    folder=f"node-{n}",
                    controller_port=p["controller"],
                    cluster_id=layout["cluster_id"],
                    overrides=overrides,
                ),
            )
            for n, p in layout["ports"].items()
        }
        self.bootstrap = ",".join(f"{HOST}:{p['broker']}" for p in layout["ports"].values())

    def _overrides(self, voters: str) -> dict[str, str]:
        """What makes the nodes one durable cluster: every topic on every node, no unclean
        leader, internal topics replicated like the data."""
        rf, isr = str(self.size), str(self.min_insync)
        return {
            "controller.quorum.voters": voters,
            "default.replication.factor": rf,
            "min.insync.replicas": isr,
            "unclean.leader.election.enable": "false",
            "offsets.topic.replication.factor": rf,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": isr,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": isr,
            # A killed node is fenced (and leaders move) after this; the default is 9 s.
            "broker.session.timeout.ms": "6000",
            "broker.heartbeat.interval.ms": "1000",
            # Followers of a dead leader drop out of the ISR sooner than the 30 s default.
            "replica.lag.time.max.ms": "10000",
        }

    def _layout(self) -> dict[str, Any]:
        """Ports and cluster id, chosen on first use and then kept: the quorum is static."""
        path = self.home / "cluster.json"
        try:
            layout: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            if len(layout["ports"]) == self.size:
                return layout
        except (OSError, ValueError, KeyError):
            pass
        used: set[int] = {0}
        ports: dict[str, dict[str, int]] = {}
        for n in range(1, self.size + 1):
            broker = _free_port(avoid=used)
            used.add(broker)
            controller = _free_port(avoid=used)
            used.add(controller)
            ports[str(n)] = {"broker": broker, "controller": controller}
        layout = {"cluster_id": _random_kafka_uuid(), "ports": ports}
        self.home.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, json.dumps(layout, indent=2) + "\n")
        return layout

    def start(self, timeout: float = 180.0) -> str:
        """Start every node at once (none is ready before a quorum is up); the bootstrap."""
        with ThreadPoolExecutor(max_workers=self.size) as pool:
            futures = [pool.submit(node.start, timeout) for node in self.nodes.values()]
            for future in futures:
                future.result()
        return self.bootstrap

    def stop(self) -> None:
        """All at once: a node left alone without a quorum waits its whole timeout to stop."""
        with ThreadPoolExecutor(max_workers=self.size) as pool:
            list(pool.map(lambda node: node.stop(), self.nodes.values()))

    def kill(self, node_id: int) -> None:
        """`kill -9` one node."""
        if not self.nodes[node_id].kill():
            raise BrokerError(f"node {node_id} was not running")

    def restart(self, node_id: int, timeout: float = 120.0) -> None:
        self.nodes[node_id].start(timeout)

    def running(self) -> list[int]:
        return [n for n, node in self.nodes.items() if node.status().running]

    def partitions(self, topic: str) -> list[dict[str, Any]]:
        """The topic's partitions as a running node sees them (leader, replicas, isr)."""
        from kafka import KafkaAdminClient

        alive = [b for n in self.nodes.values() if (b := n.status().bootstrap) is not None]
        if not alive:
            raise BrokerError("no node of the cluster is running")
        with _quiet_kafka_logs():
            admin = KafkaAdminClient(
                bootstrap_servers=alive, client_id="onenet-cluster", request_timeout_ms=10000
            )
            try:
                described = admin.describe_topics([topic])
            finally:
                admin.close()
        return sorted(
            (
                {
                    "partition": int(p["partition_index"]),
                    "leader": int(p["leader_id"]),
                    "replicas": list(p["replica_nodes"]),
                    "isr": list(p["isr_nodes"]),
                }
                for p in described[0]["partitions"]
            ),
            key=lambda p: p["partition"],
        )

    def leader(self, topic: str, partition: int = 0) -> int:
        """The node leading `topic`'s `partition`; -1 while it has none."""
        for part in self.partitions(topic):
            if part["partition"] == partition:
                return int(part["leader"])
        raise BrokerError(f"{topic} has no partition {partition}")

    def wait_leader(self, topic: str, partition: int, *, not_on: int, timeout: float = 60.0) -> int:
        """Until a node other than `not_on` leads the partition (after a kill); that node."""
        deadline = time.monotonic() + timeout
        while True:
            for part in self._partitions_or_empty(topic):
                if part["partition"] == partition and part["leader"] not in (-1, not_on):
                    return int(part["leader"])
            if time.monotonic() > deadline:
                raise BrokerError(f"{topic}/{partition} got no new leader in {timeout:.0f} s")
            time.sleep(0.2)

    def wait_in_sync(self, topics: list[str], timeout: float = 120.0) -> None:
        """Until every partition of `topics` has a live leader and all nodes in its ISR."""
        deadline = time.monotonic() + timeout
        while True:
            lagging = [
                f"{t}/{p['partition']}"
                for t in topics
                for p in self._partitions_or_empty(t)
                if p["leader"] < 0 or len(p["isr"]) < self.size
            ]
            if not lagging and all(self._partitions_or_empty(t) for t in topics):
                return
            if time.monotonic() > deadline:
                raise BrokerError(f"not all replicas in sync after {timeout:.0f} s: {lagging}")
            time.sleep(0.5)

    def _partitions_or_empty(self, topic: str) -> list[dict[str, Any]]:
        try:
            return self.partitions(topic)
        except Exception:  # a node is restarting: ask again on the next round
            return []
