"""A secured local broker for a test module: its own CA, SCRAM users and enforced ACLs."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hub.broker.secure import SecuredBroker, make_tls

ADMIN = "admin"
WORKERS = "onenet-worker"
VIEW = "onenet-view"
DEPARTMENTS = {"safety": "dept-safety", "security": "dept-security", "service": "dept-service"}


@dataclass(frozen=True)
class Secured:
    broker: SecuredBroker
    bootstrap: str

    def env(self, user: str) -> dict[str, str]:
        return self.broker.client_env(user)

    @property
    def passwords(self) -> list[str]:
        return list(self.broker.users.values())


@contextmanager
def secured_broker(folder: Path) -> Iterator[Secured]:
    """Start it (a fresh format with random passwords); stop it when the module is done."""
    users = {u: secrets.token_hex(16) for u in (ADMIN, WORKERS, VIEW, *DEPARTMENTS.values())}
    broker = SecuredBroker(
        state_dir=folder / "state", tls=make_tls(folder / "tls"), users=users, port=0
    )
    bootstrap = broker.start(timeout=180)
    try:
        yield Secured(broker, bootstrap)
    finally:
        broker.stop()
