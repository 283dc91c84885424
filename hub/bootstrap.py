"""Which Kafka to talk to: the configured cluster, else the local jar broker if it runs."""

from __future__ import annotations

from hub.errors import UserError
from hub.settings import Settings


def resolve_bootstrap(settings: Settings) -> str:
    if settings.kafka_bootstrap_servers:
        return settings.kafka_bootstrap_servers
    from hub.broker.local import LocalBroker

    status = LocalBroker(settings).status()
    if status.running and status.bootstrap:
        return status.bootstrap
    raise UserError(
        "no Kafka broker configured and the local broker is not running",
        hint="start one with `onenet broker start`, or set KAFKA_BOOTSTRAP_SERVERS=host:port",
    )
