"""One persistent MQTT session: paho's network thread on one side, an asyncio queue on the other.

paho reconnects by itself with backoff; this class re-subscribes on every connect, hands each
message to the event loop, and sends its PUBACK only when the connector says the record is safe
in Kafka (`manual_ack`). A message received on an earlier connection is never acknowledged on
a later one: its packet id may by then belong to another message, and the broker redelivers it
anyway (the redelivery is then dropped as a duplicate).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage, topic_matches_sub
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger("onenet.connector.mqtt")

# CONNACK codes that retrying cannot fix: wrong protocol, client id, credentials, permissions.
FATAL_CONNECT_CODES = {0x84, 0x85, 0x86, 0x87, 0x8C}


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    connection: int


@dataclass(frozen=True, slots=True)
class SessionConfig:
    host: str
    port: int
    topics: tuple[str, ...]
    qos: int
    client_id: str
    mqtt5: bool
    session_expiry: int
    keepalive: int
    reconnect_min: int
    reconnect_max: int
    username: str | None = None
    password: str | None = None


def site_from_topic(filters: tuple[str, ...], topic: str) -> str | None:
    """The topic segment matched by the first `+` of the first filter that matches."""
    levels = topic.split("/")
    for raw in filters:
        pattern = _without_share(raw)
        if not topic_matches_sub(pattern, topic):
            continue
        parts = pattern.split("/")
        if "+" in parts:
            return levels[parts.index("+")] or None
        return None
    return None


def _without_share(pattern: str) -> str:
    # `$share/GROUP/filter`: several instances split one stream; match on the filter part.
    if pattern.startswith("$share/"):
        return pattern.split("/", 2)[2] if pattern.count("/") >= 2 else pattern
    return pattern


class MqttSession:
    def __init__(self, config: SessionConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self.loop = loop
        self.queue: asyncio.Queue[Received] = asyncio.Queue()
        #: resolves with a message when the broker refuses us for good (credentials, ACL)
        self.fatal: asyncio.Future[str] = loop.create_future()
        self.connected = asyncio.Event()
        #: set once the broker granted every subscription on the current connection
        self.subscribed = asyncio.Event()
        #: how many times a connection was accepted; a message is acknowledged on its own only
        self.connections = 0
        version = MQTTProtocolVersion.MQTTv5 if config.mqtt5 else MQTTProtocolVersion.MQTTv311
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=version,
            clean_session=None if config.mqtt5 else False,
            manual_ack=True,
            reconnect_on_failure=True,
        )
        if config.username:
            self.client.username_pw_set(config.username, config.password)
        self.client.reconnect_delay_set(config.reconnect_min, config.reconnect_max)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def start(self) -> None:
        """Connect in the background: a broker that is down at start is retried, not fatal."""
        props: Properties | None = None
        if self.config.mqtt5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.config.session_expiry
            self.client.connect_async(
                self.config.host,
                self.config.port,
                self.config.keepalive,
                clean_start=False,
                properties=props,
            )
        else:
            self.client.connect_async(self.config.host, self.config.port, self.config.keepalive)
        self.client.loop_start()

    def ack(self, message: Received) -> None:
        if message.qos and message.connection == self.connections:
            self.client.ack(message.mid, message.qos)

    def stop(self) -> None:
        """Disconnect cleanly; the broker keeps the session (and queues for it) until expiry."""
        self.client.disconnect()
        self.client.loop_stop()

    # --- paho's network thread ----------------------------------------------------------------

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            text = f"broker {self.config.host}:{self.config.port} refused the connection: {reason}"
            if reason.value in FATAL_CONNECT_CODES:
                self._fail(text)
            else:
                log.warning("%s; retrying", text)
            return
        self.connections += 1
        log.info(
            "connected to %s:%s as %s (%s session)",
            self.config.host,
            self.config.port,
            self.config.client_id,
            "resumed" if flags.session_present else "new",
        )
        client.subscribe([(topic, self.config.qos) for topic in self.config.topics])
        self.loop.call_soon_threadsafe(self.connected.set)

    def _on_disconnect(
        self,
        client: Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.loop.call_soon_threadsafe(self.connected.clear)
        self.loop.call_soon_threadsafe(self.subscribed.clear)
        if reason.is_failure:
            log.warning("lost the broker (%s); reconnecting with backoff", reason)

    def _on_subscribe(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [
            topic
            for topic, reason in zip(self.config.topics, reasons, strict=False)
            if reason.is_failure
        ]
        if refused:
            self._fail(f"broker refused the subscription to {', '.join(refused)}")
        else:
            self.loop.call_soon_threadsafe(self.subscribed.set)

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        received = Received(
            topic=message.topic,
            payload=bytes(message.payload),
            qos=message.qos,
            retain=bool(message.retain),
            mid=message.mid,
            connection=self.connections,
        )
        self.loop.call_soon_threadsafe(self.queue.put_nowait, received)

    def _fail(self, text: str) -> None:
        def settle() -> None:
            if not self.fatal.done():
                self.fatal.set_result(text)

        self.loop.call_soon_threadsafe(settle)
