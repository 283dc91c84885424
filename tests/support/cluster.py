"""A three-node jar cluster for fault tests, and the hub pointed at it.

One cluster per test module (it takes ~10 s and three JVMs); each test leaves every node
running again, so the next one starts from a whole cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hub.broker import BrokerError, LocalCluster
from tests.support.hubproc import Hub

NODES = 3


@contextmanager
def running_cluster(state_dir: Path) -> Iterator[LocalCluster]:
    cluster = LocalCluster(state_dir, nodes=NODES, min_insync=2)
    try:
        cluster.start(timeout=240)
    except BrokerError as exc:
        cluster.stop()
        pytest.fail(f"the three-node cluster did not start: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def all_nodes_back(cluster: LocalCluster) -> Iterator[None]:
    """Whatever the test killed is started again when it ends, pass or fail."""
    try:
        yield
    finally:
        for node_id in cluster.nodes:
            if node_id not in cluster.running():
                cluster.restart(node_id, timeout=180)


class ClusterHub(Hub):
    """A hub whose topics, the workers' own included, are replicated to every node."""

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(**{"ONENET_REPLICATION_FACTOR": str(NODES), **extra})


def cluster_hub(cluster: LocalCluster, workdir: Path) -> ClusterHub:
    hub = ClusterHub(cluster.bootstrap, workdir)
    created = hub.run("topics", "create")
    assert created.returncode == 0, created.stderr
    return hub
