"""kafka-python clients configured the way the hub needs them, and topic administration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    NotEnoughReplicasAfterAppendError,
    NotEnoughReplicasError,
)

from hub.errors import UserError
from hub.kafka_security import client_options
from hub.settings import Settings
from hub.topics import Topics

TOPIC_EXISTS = 36
TOPIC_AUTHORIZATION_FAILED = 29

DAY_MS = 24 * 3600 * 1000
# How long a producer keeps retrying one record before it reports the send as failed.
DELIVERY_TIMEOUT_MS = 30000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)


def contract_topics(
    settings: Settings, *, partitions: int | None = None, replication_factor: int | None = None
) -> list[TopicSpec]:
    """The contract v1 topics plus the worker's internal ones (co-partitioned with the data)."""
    p = partitions or settings.partitions
    rf = replication_factor or settings.replication_factor
    t = Topics(settings.topic_prefix)
    week = {"retention.ms": str(7 * DAY_MS)}
    specs = [TopicSpec(t.events(d), p, rf, week) for d in ("safety", "security", "service")]
    specs += [
        # Alerts and commands are the event-sourced record of every alert: keep them long.
        TopicSpec(t.alerts, p, rf, {"retention.ms": str(90 * DAY_MS)}),
        TopicSpec(t.commands, p, rf, {"retention.ms": str(90 * DAY_MS)}),
        TopicSpec(t.deadletter, p, rf, {"retention.ms": str(30 * DAY_MS)}),
        # Reference data: the newest record of each site is kept for ever, a tombstone deletes.
        TopicSpec(t.sites, 1, rf, {"cleanup.policy": "compact"}),
        TopicSpec(f"{settings.app_id}-ticks", p, rf, {"retention.ms": str(DAY_MS)}),
        TopicSpec(f"{settings.app_id}-rekey", p, rf, week),
    ]
    return specs


def _connect_error(bootstrap: str, exc: Exception) -> UserError:
    return UserError(
        f"cannot reach Kafka at {bootstrap}: {exc}",
        hint="check KAFKA_BOOTSTRAP_SERVERS, or start the local broker with `onenet broker start`",
    )


def admin(bootstrap: str, settings: Settings | None = None) -> Any:
    """An admin client with the security options of `settings` (default: the process's)."""
    options = client_options(settings)
    try:
        return KafkaAdminClient(
            bootstrap_servers=bootstrap.split(","),
            client_id="onenet-admin",
            request_timeout_ms=15000,
            **options,
        )
    except (KafkaError, OSError) as exc:
        raise _connect_error(bootstrap, exc) from None


def producer(bootstrap: str, settings: Settings | None = None, **overrides: Any) -> Any:
    """A durable producer: acks from all replicas, idempotent retries, batched and compressed."""
    config: dict[str, Any] = {
        **client_options(settings),
        "bootstrap_servers": bootstrap.split(","),
        "client_id": "onenet-producer",
        "acks": "all",
        "enable_idempotence": True,
        "retries": 2147483647,
        "compression_type": "gzip",
        "linger_ms": 5,
        "batch_size": 64 * 1024,
        "max_in_flight_requests_per_connection": 5,
        "request_timeout_ms": 15000,
        # Retries stop here: long enough to ride out a leader election (a few seconds), short
        # enough that a cluster that cannot take writes is reported instead of waited on.
        "delivery_timeout_ms": DELIVERY_TIMEOUT_MS,
        "max_block_ms": DELIVERY_TIMEOUT_MS,
    }
    config.update(overrides)
    try:
        return KafkaProducer(**config)
    except (KafkaError, OSError) as exc:
        raise _connect_error(bootstrap, exc) from None


def flush_within(producer: Any, seconds: float) -> bool:
    """Flush, but give up after `seconds`: without a controller quorum an idempotent
    producer gets no producer id and its records never expire, so a plain flush never ends."""
    try:
        producer.flush(timeout=seconds)
    except KafkaTimeoutError:
        return False
    return True


def close_producer(producer: Any, seconds: float = 10.0) -> None:
    """Close even when records are still unacknowledged (they were reported as not sent).

    kafka-python's close raises then and leaves the producer open, so its finaliser would
    raise again at exit; stop its sender here and mark it closed instead.
    """
    try:
        producer.close(timeout=seconds)
    except KafkaTimeoutError:
        sender = getattr(producer, "_sender", None)
        if sender is not None:
            sender.force_close()
        producer._closed = True


def explain_send_failure(exc: BaseException) -> str:
    """Why Kafka did not take a record, and what to do. With acks=all, too few live replicas
    is the usual cause, and the client reports it only as a timeout once its retries ran out."""
    if isinstance(exc, NotEnoughReplicasError | NotEnoughReplicasAfterAppendError):
        why = "NOT_ENOUGH_REPLICAS: fewer in-sync replicas than min.insync.replicas"
    elif isinstance(exc, KafkaTimeoutError):
        why = (
            f"not acknowledged within {DELIVERY_TIMEOUT_MS / 1000:.0f} s: the partition has no "
            "leader, or fewer in-sync replicas than min.insync.replicas (NOT_ENOUGH_REPLICAS)"
        )
    else:
        why = f"{type(exc).__name__}: {exc}"
    return why + "; check that enough brokers are up, then send again (ids de-duplicate)"


def ensure_topics(
    bootstrap: str, specs: list[TopicSpec], settings: Settings | None = None
) -> list[tuple[TopicSpec, bool]]:
    """Create what is missing; report (spec, created). Existing topics are left as they are."""
    client = admin(bootstrap, settings)
    try:
        result = client.create_topics(
            [
                NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.configs)
                for s in specs
            ],
            raise_errors=False,
        )
        outcome: list[tuple[TopicSpec, bool]] = []
        errors = {t["name"]: t for t in result["topics"]}
        for spec in specs:
            entry = errors[spec.name]
            code = entry["error_code"]
            if code == TOPIC_AUTHORIZATION_FAILED and _exists(client, spec.name):
                code = TOPIC_EXISTS  # a client that may not create needs only the topic
            if code == TOPIC_AUTHORIZATION_FAILED:
                raise UserError(
                    f"not allowed to create topic {spec.name} (TopicAuthorizationFailed)",
                    hint="an administrator creates the topics with `onenet topics create` "
                    "(see docs/security.md)",
                )
            if code not in (0, TOPIC_EXISTS):
                raise UserError(
                    f"could not create topic {spec.name}: {entry.get('error_message') or code}",
                    hint="check the partitions and replication factor fit the cluster "
                    "(a single local broker takes --replication-factor 1)",
                )
            outcome.append((spec, code == 0))
        client.wait_for_topics([s.name for s in specs], timeout_ms=30000)
        return outcome
    finally:
        client.close()


def _exists(client: Any, topic: str) -> bool:
    try:
        described = client.describe_topics([topic])
    except KafkaError:
        return False
    return bool(described) and not described[0].get("error_code")


def missing_topic(bootstrap: str, topic: str, settings: Settings | None = None) -> UserError:
    """Why a client sees no partitions of `topic`: it does not exist, or is not ours to see."""
    client = admin(bootstrap, settings)
    try:
        described = client.describe_topics([topic])
    except KafkaError:
        described = []
    finally:
        client.close()
    if described and described[0].get("error_code") == TOPIC_AUTHORIZATION_FAILED:
        return not_authorized(topic)
    return UserError(
        f"topic {topic} does not exist",
        hint="create the hub's topics with `onenet topics create`",
    )


def not_authorized(topic: str) -> UserError:
    return UserError(
        f"not allowed to use topic {topic} (TopicAuthorizationFailed)",
        hint="check ONENET_KAFKA_SASL_USERNAME; its ACLs are listed by "
        "`onenet acl apply --dry-run` (docs/security.md)",
    )


def partition_count(bootstrap: str, topic: str, settings: Settings | None = None) -> int | None:
    client = admin(bootstrap, settings)
    try:
        described = client.describe_topics([topic])
    except KafkaError:
        return None
    finally:
        client.close()
    if not described or described[0].get("error_code"):
        return None
    return len(described[0]["partitions"])
