"""Which Kafka to talk to: the configured cluster, else the local jar broker if it runs.

Before any Kafka client starts, the address is checked with a plain TCP connection
and one ApiVersions request, the first thing every Kafka client sends
(`ONENET_KAFKA_CONNECT_TIMEOUT_S`): a client library facing a broker that is not there
retries for a minute and ends in a stack trace, where a person needs one line saying which
address did not answer and how to start a broker.
"""

from __future__ import annotations

import socket
import struct
import time

from hub.errors import UserError
from hub.settings import Settings


def resolve_bootstrap(settings: Settings, *, check: bool = True) -> str:
    """The bootstrap servers to use; with `check`, one of them must accept a TCP connection."""
    if settings.kafka_bootstrap_servers:
        bootstrap = settings.kafka_bootstrap_servers
        local = False
    else:
        from hub.broker.local import LocalBroker

        status = LocalBroker(settings).status()
        if not (status.running and status.bootstrap):
            raise UserError(
                "no Kafka broker configured and the local broker is not running",
                hint="start one with `onenet broker start`, "
                "or set KAFKA_BOOTSTRAP_SERVERS=host:port",
            )
        bootstrap = status.bootstrap
        local = True
    if check:
        check_reachable(
            bootstrap,
            settings.kafka_connect_timeout_s,
            local=local,
            probe=settings.kafka_security_protocol == "PLAINTEXT",
        )
    return bootstrap


def addresses(bootstrap: str) -> list[tuple[str, int]]:
    """(host, port) of each `host:port` in a bootstrap list (`[v6]:port` and `SCHEME://` too)."""
    found: list[tuple[str, int]] = []
    for item in bootstrap.split(","):
        entry = item.strip().rpartition("://")[2]
        if not entry:
            continue
        host, sep, port = entry.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise UserError(
                f"bad Kafka bootstrap address {entry!r}",
                hint="KAFKA_BOOTSTRAP_SERVERS takes host:port[,host:port...]",
                exit_code=2,
            )
        found.append((host.strip("[]"), int(port)))
    return found


# ApiVersions (key 18) v0, correlation id 1, client id "onenet-check": the request every
# Kafka client sends first, which any broker version answers.
_CLIENT = b"onenet-check"
_API_VERSIONS = struct.pack(">hhih", 18, 0, 1, len(_CLIENT)) + _CLIENT
_PROBE = struct.pack(">i", len(_API_VERSIONS)) + _API_VERSIONS


def _answers_as_kafka(sock: socket.socket) -> bool:
    """True when the peer answers an ApiVersions request with a response to it."""
    sock.sendall(_PROBE)
    head = b""
    while len(head) < 8:
        chunk = sock.recv(8 - len(head))
        if not chunk:
            return False
        head += chunk
    size, correlation = (int(v) for v in struct.unpack(">ii", head))
    return size >= 4 and correlation == 1


def check_reachable(
    bootstrap: str, timeout_s: float, *, local: bool = False, probe: bool = True
) -> None:
    """Return when one bootstrap address accepts a TCP connection and answers as Kafka.

    `timeout_s` bounds the whole check, over every address. Without `probe` (a TLS
    listener, where plaintext bytes are not Kafka's to answer) the TCP connection suffices
    and the client library reports TLS and authentication problems itself.
    """
    deadline = time.monotonic() + timeout_s
    problems: list[str] = []
    for host, port in addresses(bootstrap):
        left = max(0.05, deadline - time.monotonic())
        try:
            with socket.create_connection((host, port), timeout=left) as sock:
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                if not probe or _answers_as_kafka(sock):
                    return
                problems.append("it accepts connections but does not answer as Kafka")
        except TimeoutError:
            problems.append(f"no answer within {timeout_s:g} s")
        except OSError as exc:
            problems.append(exc.strerror or str(exc))
    why = "; ".join(dict.fromkeys(problems)) or "no address given"
    if local:
        hint = (
            "the local broker's pid file says it runs but it does not answer: "
            "`onenet broker stop` then `onenet broker start`"
        )
    else:
        hint = (
            "start a local broker with `onenet broker start` and unset KAFKA_BOOTSTRAP_SERVERS, "
            "or fix the address; ONENET_KAFKA_CONNECT_TIMEOUT_S sets how long to wait"
        )
    raise UserError(f"cannot reach the Kafka broker at {bootstrap} ({why})", hint=hint)
