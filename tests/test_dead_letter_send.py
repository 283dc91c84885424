"""Every dead letter goes through `send_dead_letter`: a send that fails is logged and counted,
and the agent that asked goes on (the worker's and the lifecycle agent's alike)."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import KafkaTimeoutError

from hub import metrics
from hub.events import read_deadletter
from hub.stream.records import send_dead_letter


def record() -> Any:
    message = SimpleNamespace(topic="onenet.events.safety", partition=2, offset=41, headers=[])
    return SimpleNamespace(message=message, key=b"CHEM-07", value=b"{not json")


class Topic:
    """Where the dead letters go: keeps what it was given, or refuses like a broker that
    does not answer."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[dict[str, Any]] = []

    async def send(self, **kw: Any) -> None:
        if self.fail:
            raise KafkaTimeoutError("no broker answered")
        self.sent.append(kw)


def errors(stage: str) -> float:
    return metrics.DEADLETTER_SEND_ERRORS.labels(stage)._value.get()


def test_a_dead_letter_is_sent_with_its_reason_and_origin() -> None:
    topic = Topic()
    ok = asyncio.run(
        send_dead_letter(topic, record(), "invalid-json", "line 1", stage="worker", rule="r")
    )
    assert ok
    (sent,) = topic.sent
    assert sent["key"] == b"CHEM-07"
    assert sent["value"] == b"{not json"
    headers = read_deadletter(sent["headers"])
    assert headers["reason"] == "invalid-json"
    assert headers["source_topic"] == "onenet.events.safety"
    assert headers["offset"] == "41"


@pytest.mark.parametrize("stage", ["worker", "lifecycle"])
def test_a_dead_letter_that_cannot_be_sent_is_logged_and_counted(
    stage: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = errors(stage)
    with caplog.at_level(logging.ERROR, logger="onenet.deadletter"):
        ok = asyncio.run(
            send_dead_letter(Topic(fail=True), record(), "late-event", "x", stage=stage)
        )
    assert not ok  # returned, not raised: the agent goes on
    assert errors(stage) == before + 1
    assert f"could not dead-letter a record from {stage} (late-event: x)" in caplog.text
    assert "KafkaTimeoutError" in caplog.text
