"""People's actions, checked against the read model and sent as Commands to the lifecycle agent.

The lifecycle agent in the worker is the authority (it decides every command again against its
own state); the check here only lets the page answer at once: 404 for an alert the caller does
not know *or may not see* (the two are indistinguishable, so ids cannot be probed), 403 when
the caller may see but not act, 409 with the `Rejected` reason when the command cannot apply.
Sending waits for the broker's acknowledgement, in a thread because kafka-python blocks.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from hub.alerts.lifecycle import Action, Command, Rejected, decide, may_act
from hub.alerts.model import AlertChange
from hub.clock import utcnow
from hub.kafka import producer as make_producer
from hub.settings import Settings
from hub.topics import Topics
from hub.view.auth import Principal
from hub.view.readmodel import ReadModel

SEND_TIMEOUT_S = 15.0


class NotVisible(Exception):
    """Unknown, or not the caller's to see: answered as 404 either way."""


class NotAllowed(Exception):
    """Visible, but the caller's role may not act on it: 403."""


class CommandSender:
    def __init__(self, bootstrap: str, topics: Topics, settings: Settings | None = None) -> None:
        self.topic = topics.commands
        self._producer: Any = make_producer(bootstrap, settings, client_id="onenet-view")

    def _send_blocking(self, cmd: Command) -> None:
        future = self._producer.send(
            self.topic, key=cmd.alert_id.encode(), value=cmd.model_dump_json().encode()
        )
        future.get(timeout=SEND_TIMEOUT_S)

    async def send(self, cmd: Command) -> None:
        await asyncio.to_thread(self._send_blocking, cmd)

    def close(self) -> None:
        self._producer.close(timeout=5)


def prepare(
    model: ReadModel,
    principal: Principal,
    alert_id: str,
    action: Action,
    *,
    note: str | None = None,
    department: str | None = None,
    now: datetime | None = None,
) -> tuple[Command, AlertChange]:
    """The command a person's action becomes, and the change it should cause.

    Raises NotVisible, NotAllowed, or Rejected (from `decide`) with the reason to show.
    """
    current = model.alerts.get(alert_id)
    if current is None or not principal.sees(current):
        raise NotVisible(alert_id)
    if not principal.can_act or not may_act(principal.role, current):
        raise NotAllowed(f"{principal.role} may read but not act on alerts")
    at = now or utcnow()
    cmd = Command(
        command_id=uuid.uuid4().hex,
        alert_id=alert_id,
        action=action,
        actor=principal.name,
        scope=principal.role,
        at=at,
        note=note,
        department=department,
    )
    change = decide(current, cmd, now=at)
    return cmd, change


__all__ = ["CommandSender", "NotAllowed", "NotVisible", "Rejected", "prepare"]
