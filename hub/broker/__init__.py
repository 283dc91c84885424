"""A real Kafka (KRaft) from the official jars, for machines without Docker: one node, or a
replicated cluster of several for fault tests.

The CLI (`onenet broker ...`) lives in `hub.broker.cli`; importing this package stays cheap.
"""

from hub.broker.cluster import LocalCluster
from hub.broker.local import BrokerError, BrokerStatus, LocalBroker, StartResult

__all__ = ["BrokerError", "BrokerStatus", "LocalBroker", "LocalCluster", "StartResult"]
