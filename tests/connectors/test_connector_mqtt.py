"""The MQTT connector against a real Mosquitto and a real Kafka, on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from connectors.mqtt import MqttConnector, MqttOptions, default_client_id
from connectors.mqtt.payload import FieldMap, MqttMessage, map_json
from connectors.mqtt.session import site_from_topic
from connectors.sdk.item import Item, MappingError, SendOutcome
from connectors.sdk.runner import Runner
from hub.errors import UserError
from hub.events import read_deadletter
from hub.kafka import producer
from hub.topics import Topics
from tests.support.hubproc import ONENET, Hub
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "mqtt") as running:
        yield running


def reading(sensor: str, ppm: float, **extra: Any) -> bytes:
    body = {"sensor_id": sensor, "ppm": ppm, "ts": "2024-05-01T08:30:00+08:00"}
    body.update(lat=31.23, lon=121.47)
    body.update(extra)
    return orjson.dumps(body)


def publish(port: int, messages: list[tuple[str, bytes]], qos: int = 1) -> None:
    client = Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=qos).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


class Running:
    """One in-process connector run: its own runner, started and stopped inside the test loop."""

    def __init__(self, hub: Hub, tmp_path: Path, **options: Any) -> None:
        self.connector = MqttConnector(MqttOptions(**options))
        self.runner = Runner(
            self.connector,
            producer=producer(hub.bootstrap),
            topics=Topics(hub.prefix),
            checkpoint_path=tmp_path / "ck.json",
            source="urn:onenet:connector:mqtt:test",
            checkpoint_interval=0.5,
        )
        self.task: asyncio.Task[dict[str, int]] | None = None

    async def __aenter__(self) -> Running:
        self.task = asyncio.create_task(self.runner.run(install_signals=False))
        await until(self.subscribed, "the connector subscribed")
        return self

    def subscribed(self) -> bool:
        session = self.connector.session
        return session is not None and session.subscribed.is_set()

    async def __aexit__(self, *exc: object) -> None:
        if self.task is not None and not self.task.done():
            await self.stop()

    async def stop(self) -> dict[str, int]:
        assert self.task is not None
        self.runner.stopping.set()
        try:
            return await asyncio.wait_for(self.task, timeout=30)
        finally:
            self.runner.producer.close(timeout=5)


async def until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


async def in_thread(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(call, *args, **kwargs)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout=150))


def values(records: list[Any]) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in records]


# --- pure mapping --------------------------------------------------------------------------------


def test_site_comes_from_the_plus_segment_of_the_matching_filter() -> None:
    filters = ("plants/#", "stations/+/h2", "$share/g/zone/+/+/h2")
    assert site_from_topic(filters[1:], "stations/S-7/h2") == "S-7"
    assert site_from_topic(filters[2:], "zone/Z1/S9/h2") == "Z1"
    assert site_from_topic(filters, "plants/a/b") is None  # no '+': the payload must name it


def test_json_mapping_reads_configured_fields_and_epoch_millis() -> None:
    fields = FieldMap(ppm="m.h2", sensor_id="dev", time="t")
    payload = orjson.dumps({"dev": "D1", "m": {"h2": 12}, "t": 1714523400000, "lat": 1, "lon": 2})
    draft = map_json(MqttMessage("stations/S1/h2", payload, "S1"), fields, district="310101")
    assert draft.data == {
        "site_id": "S1",
        "sensor_id": "D1",
        "h2_ppm": 12,
        "location": {"lat": 1, "lon": 2},
    }
    assert str(draft.time) == "2024-05-01 00:30:00+00:00"
    assert draft.district == "310101"
    again = map_json(MqttMessage("stations/S1/h2", payload, "S1"), fields)
    assert again.id == draft.id  # a redelivery is the same event
    with pytest.raises(MappingError) as missing:
        map_json(MqttMessage("x", b'{"dev": "D1"}', None), fields)
    assert missing.value.reason == "missing-field"
    assert "m.h2" in missing.value.detail
    assert "site_id" in missing.value.detail


def test_a_custom_mapping_function_is_loaded_and_its_failures_are_dead_letter_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gateway_shape.py").write_text(
        "from connectors.sdk.item import Draft\n"
        "def to_reading(message):\n"
        "    if message.payload == b'skip':\n"
        "        return None\n"
        "    sensor, ppm = message.payload.decode().split(';')\n"
        "    data = {'site_id': message.site_id, 'sensor_id': sensor, 'h2_ppm': float(ppm),\n"
        "            'location': {'lat': 1.0, 'lon': 2.0}}\n"
        "    return Draft(type='city.safety.hydrogen.reading', data=data)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    connector = MqttConnector(MqttOptions(mapping="gateway_shape:to_reading"))
    draft = connector._map(MqttMessage("stations/S1/h2", b"D1;12.5", "S1"))
    assert draft is not None
    assert draft.data["h2_ppm"] == 12.5
    assert connector._map(MqttMessage("stations/S1/h2", b"skip", "S1")) is None
    with pytest.raises(MappingError) as failed:
        connector._map(MqttMessage("stations/S1/h2", b"no separator", "S1"))
    assert failed.value.reason == "mapping-failed"
    assert "ValueError" in failed.value.detail
    with pytest.raises(UserError, match="cannot import"):
        MqttConnector(MqttOptions(mapping="no_such_module_here:f"))


def test_default_client_id_is_per_instance() -> None:
    assert default_client_id("urn:onenet:connector:mqtt:north") == "onenet-mqtt-north"
    assert default_client_id("urn:x:y") != default_client_id("urn:x:z")


# --- against Mosquitto and Kafka --------------------------------------------------------------


def test_qos1_readings_reach_kafka_keyed_by_site_and_bad_ones_are_dead_lettered(
    broker: Mosquitto, hub: Hub, tmp_path: Path
) -> None:
    topics = Topics(hub.prefix)

    async def scenario() -> None:
        async with Running(hub, tmp_path, port=broker.port, district="310101") as running:
            await in_thread(
                publish,
                broker.port,
                [
                    ("stations/S1/h2", reading("S1-A", 120.5)),
                    ("stations/S2/h2", reading("S2-A", 4100, pressure_mpa=35.0)),
                    ("stations/S1/h2", b"not json at all"),
                    ("stations/S1/h2", orjson.dumps({"sensor_id": "S1-B", "lat": 1, "lon": 2})),
                    ("stations/S3/h2", reading("S3-A", -5)),
                    ("stations/S1/h2", reading("S1-A", 130.0, ts="2024-05-01T08:31:00Z")),
                ],
            )
            good = await in_thread(hub.read_topic, topics.safety, min_records=3, timeout=30)
            dead = await in_thread(hub.read_topic, topics.deadletter, min_records=3, timeout=30)
            counts = await running.stop()
        assert counts["published"] == 3
        assert counts["rejected"] == 3

        assert [r.key for r in good] == [b"S1", b"S2", b"S1"]
        events = values(good)
        assert {e["type"] for e in events} == {"city.safety.hydrogen.reading"}
        assert events[0]["data"] == {
            "site_id": "S1",
            "sensor_id": "S1-A",
            "h2_ppm": 120.5,
            "location": {"lat": 31.23, "lon": 121.47},
        }
        assert events[0]["time"] == "2024-05-01T08:30:00+08:00"
        assert events[0]["district"] == "310101"
        assert events[0]["source"] == "urn:onenet:connector:mqtt:test"
        assert events[1]["data"]["pressure_mpa"] == 35.0
        assert events[2]["data"]["h2_ppm"] == 130.0

        letters = [(read_deadletter(r.headers), r.value) for r in dead]
        by_reason = {h["reason"]: (h, raw) for h, raw in letters}
        assert set(by_reason) == {"invalid-json", "missing-field", "invalid-data"}
        assert by_reason["invalid-json"][1] == b"not json at all"
        assert "ppm" in by_reason["missing-field"][0]["detail"]
        assert "h2_ppm: must be >= 0" in by_reason["invalid-data"][0]["detail"]
        assert {h["origin"] for h, _ in letters} == {"stations/S1/h2", "stations/S3/h2"}
        assert {h["connector"] for h, _ in letters} == {"mqtt"}

    run(scenario)


def test_broker_restart_reconnects_and_later_messages_arrive(
    broker: Mosquitto, hub: Hub, tmp_path: Path
) -> None:
    topics = Topics(hub.prefix)

    async def scenario() -> None:
        options = {"port": broker.port, "reconnect_min": 1, "reconnect_max": 2}
        async with Running(hub, tmp_path, **options) as running:
            await in_thread(publish, broker.port, [("stations/S1/h2", reading("before", 1))])
            await in_thread(hub.read_topic, topics.safety, min_records=1, timeout=30)
            session = running.connector.session
            assert session is not None

            await in_thread(broker.stop)
            await until(lambda: not session.connected.is_set(), "the connector saw the loss")
            await asyncio.sleep(1.5)  # a reconnect attempt or two fails while the broker is down
            assert running.task is not None
            assert not running.task.done()
            await in_thread(broker.start)
            await until(lambda: session.connections >= 2, "the connector reconnected", 30)
            await until(running.subscribed, "the connector re-subscribed")

            await in_thread(
                publish,
                broker.port,
                [("stations/S2/h2", reading("after-1", 2)), ("stations/S3/h2", reading("a2", 3))],
            )
            records = await in_thread(hub.read_topic, topics.safety, min_records=3, timeout=30)
        assert [e["data"]["sensor_id"] for e in values(records)] == ["before", "after-1", "a2"]

    run(scenario)


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_messages_published_while_down_arrive_after_restart(
    broker: Mosquitto, hub: Hub, tmp_path: Path, protocol: str
) -> None:
    """The persistent session: the broker queues QoS 1 messages for the stopped connector."""
    topics = Topics(hub.prefix)

    async def scenario() -> None:
        async with Running(hub, tmp_path, port=broker.port, protocol=protocol):
            pass  # first run creates the session and its subscription, then stops cleanly
        await in_thread(
            publish,
            broker.port,
            [(f"stations/S{i}/h2", reading(f"queued-{i}", 10 + i)) for i in range(3)],
        )
        async with Running(hub, tmp_path, port=broker.port, protocol=protocol):
            records = await in_thread(hub.read_topic, topics.safety, min_records=3, timeout=30)
        assert sorted(e["data"]["sensor_id"] for e in values(records)) == [
            "queued-0",
            "queued-1",
            "queued-2",
        ]
        assert [r.key for r in records] == [b"S0", b"S1", b"S2"]

    run(scenario)


def test_credentials_come_from_the_environment_and_a_refusal_is_a_user_error(
    hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_PW", "s3cret")
    with Mosquitto(tmp_path / "auth", users={"gateway": "s3cret"}) as secured:

        async def scenario() -> None:
            options = {"port": secured.port, "username": "gateway", "password_env": "GATEWAY_PW"}
            async with Running(hub, tmp_path / "good", **options):
                pass  # subscribed with the password from the environment

            monkeypatch.setenv("GATEWAY_PW", "wrong")
            refused = Running(hub, tmp_path / "bad", **options)
            with pytest.raises(UserError, match="refused the connection"):
                await asyncio.wait_for(refused.runner.run(install_signals=False), timeout=30)
            refused.runner.producer.close(timeout=5)

        run(scenario)


class HoldingSink:
    """A real sink in front of the runner that never finishes sending one payload: a crash
    between receipt and the Kafka ack, frozen in place."""

    def __init__(self, inner: Runner, hold: bytes) -> None:
        self.inner = inner
        self.hold = hold
        self.resume_from = inner.resume_from
        self.stopping = inner.stopping

    async def send(self, item: Item) -> SendOutcome:
        if item.raw == self.hold:
            await asyncio.Event().wait()
        return await self.inner.send(item)

    async def submit(self, item: Item) -> SendOutcome:
        return await self.inner.submit(item)

    async def reject(self, raw: bytes, reason: str, detail: str, **where: Any) -> None:
        await self.inner.reject(raw, reason, detail, **where)

    async def checkpoint(self) -> None:
        await self.inner.checkpoint()


def test_puback_waits_for_kafka_so_an_unsent_message_is_redelivered(
    broker: Mosquitto, hub: Hub, tmp_path: Path
) -> None:
    topics = Topics(hub.prefix)
    held = reading("held", 2)

    async def scenario() -> None:
        first = Running(hub, tmp_path / "first", port=broker.port, client_id="ack-test")
        sink = HoldingSink(first.runner, held)
        task = asyncio.create_task(first.connector.run(sink))
        await until(first.subscribed, "the connector subscribed")
        await in_thread(
            publish, broker.port, [("stations/S1/h2", reading("sent", 1)), ("stations/S1/h2", held)]
        )
        await in_thread(hub.read_topic, topics.safety, min_records=1, timeout=30)
        await asyncio.sleep(0.5)  # the held message is now inside the sink, unacknowledged
        task.cancel()  # the crash: no Kafka ack for "held", so no PUBACK either
        with pytest.raises(asyncio.CancelledError):
            await task
        first.runner.producer.close(timeout=5)

        second = Running(hub, tmp_path / "second", port=broker.port, client_id="ack-test")
        async with second:
            records = await in_thread(hub.read_topic, topics.safety, min_records=2, timeout=30)
            counts = await second.stop()
        assert [e["data"]["sensor_id"] for e in values(records)] == ["sent", "held"]
        # "sent" was acknowledged after its Kafka ack, so the broker did not redeliver it.
        assert counts["published"] == 1
        assert counts["duplicate"] == 0

    run(scenario)


def test_cli_runs_until_sigterm_and_exits_cleanly(broker: Mosquitto, hub: Hub) -> None:
    """The real `onenet connector run mqtt`: options generated from the model, graceful stop."""
    log_path = hub.workdir / "mqtt-cli.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                ONENET,
                "connector",
                "run",
                "mqtt",
                "--port",
                str(broker.port),
                "--topic",
                "plants/+/gas",
                "--topic",
                "stations/+/h2",
                "--instance",
                "cli",
            ],
            env=hub.env(),
            cwd=hub.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "onenet-mqtt-cli" not in broker.log() or "(new session)" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        publish(broker.port, [("plants/P9/gas", reading("P9-1", 7))])
        records = hub.read_topic(Topics(hub.prefix).safety, min_records=1, timeout=30)
        assert [r.key for r in records] == [b"P9"]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=30)
    output = log_path.read_text()
    assert code == 0, output
    assert "mqtt: published 1, duplicates 0, rejected 0" in output
