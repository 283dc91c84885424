"""Shared fixtures. Helpers live in tests/support/; keep this file to wiring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.kafka import TopicSpec, ensure_topics
from hub.topics import Topics
from tests.support.hubproc import Hub
from tests.support.kafka import KafkaUnavailable, kafka_for_tests

# --- Kafka ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Kafka for the whole session: KAFKA_BOOTSTRAP_SERVERS, a container, or the jar broker.

    Fails (never skips) when none can be had: a skipped integration suite looks green.
    """
    try:
        with kafka_for_tests(tmp_path_factory.mktemp("kafka")) as bootstrap:
            yield bootstrap
    except KafkaUnavailable as exc:
        pytest.fail(f"no Kafka broker for integration tests: {exc}", pytrace=False)


@pytest.fixture
def hub(kafka_bootstrap: str, tmp_path: Path) -> Hub:
    """An isolated hub on the session broker: its own topic prefix, topics of one partition.

    Test modules that need other partition counts define their own `hub`.
    """
    made = Hub(kafka_bootstrap, tmp_path)
    ensure_topics(kafka_bootstrap, [TopicSpec(t, 1, 1) for t in Topics(made.prefix).all()])
    return made


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the broker is an integration test, so `-m "not integration"` skips it.

    tryfirst: the marker must be on the item before pytest's own `-m` deselection runs.
    """
    for item in items:
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
