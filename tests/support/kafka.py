"""Where integration tests get their Kafka: a given cluster, a container, or the jar broker.

The order follows docs/design: `KAFKA_BOOTSTRAP_SERVERS` when set (CI with a service, a dev's
own cluster), else a testcontainers Kafka when a Docker engine answers, else the local jar
broker from `hub.broker`. `ONENET_TEST_KAFKA=env|container|local` forces one source, so a dev
with Docker can still exercise the jar broker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hub.broker import BrokerError, LocalBroker

# testcontainers' KafkaContainer drives the Confluent image's start scripts, so it needs a
# cp-kafka image; apache/kafka images lack /etc/confluent/docker/* and would not start.
CONTAINER_IMAGE = os.environ.get("ONENET_TEST_KAFKA_IMAGE", "confluentinc/cp-kafka:7.6.0")


class KafkaUnavailable(Exception):
    """No broker could be had; the message says why and what to do."""


def docker_problem() -> str | None:
    """None when a Docker engine answers; otherwise why not (asked quickly, never hangs)."""
    try:
        import docker  # type: ignore[import-untyped,unused-ignore]

        client = docker.from_env(timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@contextmanager
def kafka_for_tests(state_dir: Path) -> Iterator[str]:
    """Yield a bootstrap address for the whole session; clean up what we started."""
    forced = os.environ.get("ONENET_TEST_KAFKA", "").strip().lower()
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if given and forced in ("", "env"):
        yield given
        return
    if forced == "env":
        raise KafkaUnavailable("ONENET_TEST_KAFKA=env but KAFKA_BOOTSTRAP_SERVERS is not set")
    if forced in ("", "container"):
        problem = docker_problem()
        if problem is None:
            with _container() as bootstrap:
                yield bootstrap
            return
        if forced == "container":
            raise KafkaUnavailable(f"ONENET_TEST_KAFKA=container but Docker: {problem}")
    with _local_broker(state_dir) as bootstrap:
        yield bootstrap


@contextmanager
def _container() -> Iterator[str]:
    from testcontainers.community.kafka import KafkaContainer

    try:
        container = KafkaContainer(CONTAINER_IMAGE).with_kraft().start(timeout=120)
    except Exception as exc:
        raise KafkaUnavailable(
            f"Docker answers but the Kafka container ({CONTAINER_IMAGE}) did not start: {exc}; "
            "set KAFKA_BOOTSTRAP_SERVERS, or ONENET_TEST_KAFKA=local for the jar broker"
        ) from exc
    try:
        yield container.get_bootstrap_server()
    finally:
        container.stop()


@contextmanager
def _local_broker(state_dir: Path) -> Iterator[str]:
    broker = LocalBroker(state_dir=state_dir, port=0)
    try:
        bootstrap = broker.start(timeout=120)
    except BrokerError as exc:
        raise KafkaUnavailable(
            f"no KAFKA_BOOTSTRAP_SERVERS, no Docker engine, and the local jar broker failed: {exc}"
        ) from exc
    try:
        yield bootstrap
    finally:
        broker.stop()
