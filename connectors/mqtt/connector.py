"""Hydrogen station sensors over MQTT -> `city.safety.hydrogen.reading` events.

Delivery is at-least-once end to end: a QoS 1 message is acknowledged to the broker (PUBACK)
only after Kafka acknowledged its event or its dead letter, and the session is persistent, so
messages published while the connector is down or reconnecting wait in the broker. What is
redelivered after a crash carries the same event id (a hash of topic and bytes) and is dropped
as a duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connectors.mqtt.payload import FieldMap, MqttMessage, map_json
from connectors.mqtt.session import MqttSession, Received, SessionConfig, site_from_topic
from connectors.sdk.base import Connector
from connectors.sdk.item import Item, MappingError
from connectors.sdk.mapping import Mapped, SafeMapping, require_mapping
from connectors.sdk.sink import Sink
from hub.errors import UserError

log = logging.getLogger("onenet.connector.mqtt")

_SOURCE_PREFIX = "urn:onenet:connector:"
_CLIENT_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class MqttOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="MQTT broker host.")
    port: int = Field(1883, ge=1, le=65535, description="MQTT broker port.")
    topic: list[str] = Field(
        default_factory=lambda: ["stations/+/h2"],
        min_length=1,
        description="Topic filter to subscribe to (repeatable); the segment matched by the first "
        "'+' is the site id. '$share/GROUP/filter' splits the load over several instances.",
    )
    qos: int = Field(1, ge=0, le=2, description="Subscription QoS; 1 or 2 for no loss.")
    client_id: str | None = Field(
        None,
        description="MQTT client id; the default is derived from --instance, so a restart "
        "resumes the same persistent session.",
    )
    protocol: Literal["5", "3.1.1"] = Field("5", description="MQTT protocol version.")
    session_expiry: int = Field(
        86400,
        ge=0,
        description="Seconds the broker keeps the session and its queued messages while the "
        "connector is away (MQTT 5; 3.1.1 sessions last until the broker's own limit).",
    )
    keepalive: int = Field(30, ge=5, le=65535, description="Keep-alive seconds.")
    reconnect_min: int = Field(1, ge=1, description="First reconnect delay, seconds.")
    reconnect_max: int = Field(60, ge=1, description="Longest reconnect delay, seconds.")
    username: str | None = Field(None, description="Username, if the broker wants one.")
    password_env: str = Field(
        "ONENET_MQTT_PASSWORD",
        description="Environment variable holding the password (kept off the command line).",
    )
    sensor_field: str = Field("sensor_id", description="Payload field of the sensor id.")
    ppm_field: str = Field("ppm", description="Payload field of the H2 concentration, ppm.")
    time_field: str = Field(
        "ts", description="Payload field of the reading time (RFC 3339 or epoch s/ms)."
    )
    lat_field: str = Field("lat", description="Payload field of the latitude (WGS84).")
    lon_field: str = Field("lon", description="Payload field of the longitude (WGS84).")
    pressure_field: str = Field(
        "pressure_mpa", description="Payload field of the optional pressure, MPa."
    )
    site_field: str = Field(
        "site_id", description="Payload field of the site id, used when the topic has no '+'."
    )
    district: str | None = Field(None, description="District code put on every event.")
    mapping: str | None = Field(
        None,
        description="module:function taking a connectors.mqtt.payload.MqttMessage and returning "
        "a Draft (or None to skip), for payloads the field options cannot describe.",
    )
    max_in_flight: int = Field(
        100, ge=1, le=10000, description="Messages being published to Kafka at once."
    )
    max_payload_bytes: int = Field(
        65536, ge=256, description="Larger payloads are dead-lettered (first bytes only)."
    )


def default_client_id(source: str | None) -> str:
    """`onenet-mqtt-INSTANCE` from the runner's source, so each instance has its own session."""
    if source and source.startswith(_SOURCE_PREFIX):
        return "onenet-" + _CLIENT_ID_UNSAFE.sub("-", source.removeprefix(_SOURCE_PREFIX))[:100]
    digest = hashlib.sha256((source or "default").encode()).hexdigest()[:12]
    return f"onenet-mqtt-{digest}"


class MqttConnector(Connector[MqttOptions]):
    """Subscribe to sensor gateways' MQTT topics and publish their hydrogen readings."""

    name = "mqtt"
    summary = "MQTT sensor gateways -> hydrogen readings (persistent session, acks after Kafka)"
    Options = MqttOptions

    def __init__(self, options: MqttOptions) -> None:
        super().__init__(options)
        self.fields = FieldMap(
            sensor_id=options.sensor_field,
            ppm=options.ppm_field,
            time=options.time_field,
            lat=options.lat_field,
            lon=options.lon_field,
            pressure=options.pressure_field,
            site_id=options.site_field,
        )
        #: the live session while `run` runs (for tests and diagnostics)
        self.session: MqttSession | None = None
        self.custom: SafeMapping[MqttMessage] | None = (
            SafeMapping(require_mapping(options.mapping), crash_reason="mapping-failed")
            if options.mapping
            else None
        )

    def session_config(self, source: str | None) -> SessionConfig:
        o = self.options
        if o.reconnect_max < o.reconnect_min:
            raise UserError(
                "--reconnect-max is below --reconnect-min", hint="raise --reconnect-max"
            )
        return SessionConfig(
            host=o.host,
            port=o.port,
            topics=tuple(o.topic),
            qos=o.qos,
            client_id=o.client_id or default_client_id(source),
            mqtt5=o.protocol == "5",
            session_expiry=o.session_expiry,
            keepalive=o.keepalive,
            reconnect_min=o.reconnect_min,
            reconnect_max=o.reconnect_max,
            username=o.username,
            password=os.environ.get(o.password_env) if o.username else None,
        )

    async def run(self, sink: Sink) -> None:
        # The Sink protocol does not name the source; the runner has it, an in-memory sink may not.
        config = self.session_config(getattr(sink, "source", None))
        session = self.session = MqttSession(config, asyncio.get_running_loop())
        window = asyncio.Semaphore(self.options.max_in_flight)
        in_order: asyncio.Queue[tuple[asyncio.Task[None], Received] | None] = asyncio.Queue()
        acker = asyncio.create_task(self._ack_in_order(session, in_order, window))
        session.start()
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not sink.stopping.is_set():
                message = await self._next(session, sink, window, acker)
                if message is None:
                    break
                # Tasks start in creation order, so records reach the producer in arrival order.
                task = asyncio.create_task(self._handle(sink, message))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                in_order.put_nowait((task, message))
            in_order.put_nowait(None)
            await acker  # drain: everything taken is published and acknowledged before we leave
        finally:
            # Cancelled (the runner's grace period ran out) or a send failed: what is still in
            # flight stays unacknowledged, and the broker redelivers it to the next session.
            pending = [acker, *in_flight]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await asyncio.to_thread(session.stop)
        if session.fatal.done():
            raise UserError(
                session.fatal.result(),
                hint="check --username, the password variable, --client-id and the broker's ACL",
            )

    async def _next(
        self, session: MqttSession, sink: Sink, window: asyncio.Semaphore, acker: asyncio.Task[None]
    ) -> Received | None:
        """A free in-flight slot and the next message; None when stopping, refused for good, or
        a send failed (the acker ended). A message taken meanwhile is left unacknowledged, so
        the broker redelivers it to the next session."""
        stop = asyncio.create_task(sink.stopping.wait())
        guards: set[asyncio.Future[Any]] = {stop, session.fatal, acker}
        try:
            for step in (window.acquire, session.queue.get):
                task = asyncio.create_task(step())
                await asyncio.wait({task, *guards}, return_when=asyncio.FIRST_COMPLETED)
                if not task.done():
                    task.cancel()
                    return None
                result = task.result()
                if any(guard.done() for guard in guards):
                    return None
            assert isinstance(result, Received)
            return result
        finally:
            stop.cancel()

    async def _ack_in_order(
        self,
        session: MqttSession,
        in_order: asyncio.Queue[tuple[asyncio.Task[None], Received] | None],
        window: asyncio.Semaphore,
    ) -> None:
        """PUBACK each message once its record is in Kafka, in arrival order as MQTT requires."""
        while (entry := await in_order.get()) is not None:
            task, message = entry
            await task  # a failed send raises here and leaves the message unacknowledged
            session.ack(message)
            window.release()

    async def _handle(self, sink: Sink, message: Received) -> None:
        origin = message.topic
        payload = message.payload
        if len(payload) > self.options.max_payload_bytes:
            await sink.reject(
                payload[: self.options.max_payload_bytes],
                "too-large",
                f"payload of {len(payload)} bytes exceeds --max-payload-bytes "
                f"{self.options.max_payload_bytes}; only the first bytes are kept here",
                origin=origin,
            )
            return
        mqtt_message = MqttMessage(
            topic=message.topic,
            payload=payload,
            site_id=site_from_topic(tuple(self.options.topic), message.topic),
            qos=message.qos,
            retain=message.retain,
        )
        try:
            draft = self._map(mqtt_message)
        except MappingError as exc:
            await sink.reject(payload, exc.reason, exc.detail, origin=origin)
            return
        if draft is None:
            return
        await sink.send(Item(payload=draft, origin=origin, raw=payload))

    def _map(self, message: MqttMessage) -> Mapped:
        if self.custom is None:
            return map_json(message, self.fields, district=self.options.district)
        return self.custom(message)
