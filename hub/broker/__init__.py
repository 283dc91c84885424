"""A real single-node Kafka (KRaft) from the official jars, for machines without Docker.

The CLI (`onenet broker ...`) lives in `hub.broker.cli`; importing this package stays cheap.
"""

from hub.broker.local import BrokerError, BrokerStatus, LocalBroker, StartResult

__all__ = ["BrokerError", "BrokerStatus", "LocalBroker", "StartResult"]
