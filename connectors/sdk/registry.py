"""Connectors are found through the `onenet.connectors` entry-point group, built-in or not.

A third-party package plugs in by declaring, in its own pyproject.toml:

    [project.entry-points."onenet.connectors"]
    parking = "citypark.connector:ParkingConnector"

The target is a `Connector` subclass, or a mapping function `record -> Draft | None`, which
runs over the records of a JSONL or CSV file: the connector registered as `MAPPING_HOST` (the
`replay` connector) builds the class for it, found like any other connector, so the SDK
imports no connector.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from connectors.sdk.base import Connector
from hub.errors import UserError

GROUP = "onenet.connectors"
BUILTIN_DIST = "onenet-hub"
#: the connector whose `for_mapping` turns a bare mapping function into a connector
MAPPING_HOST = "replay"


@dataclass(frozen=True)
class Registered:
    name: str
    target: str
    distribution: str

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DIST


def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return found


def available() -> list[Registered]:
    return [
        Registered(name, ep.value, ep.dist.name if ep.dist else "?")
        for name, ep in sorted(_entry_points().items())
    ]


def load(name: str) -> type[Connector[Any]]:
    eps = _entry_points()
    ep = eps.get(name)
    if ep is None:
        known = ", ".join(sorted(eps)) or "none"
        raise UserError(
            f"no connector named {name!r} (installed: {known})",
            hint="see `onenet connector list`; a plug-in registers under the "
            f"'{GROUP}' entry-point group",
        )
    try:
        target: Any = ep.load()
    except Exception as exc:  # a broken plug-in must name itself, not crash the CLI
        raise UserError(
            f"connector {name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}",
            hint="reinstall the package that provides it",
        ) from None
    if inspect.isclass(target) and issubclass(target, Connector):
        return target
    if callable(target):
        host = load(MAPPING_HOST) if name != MAPPING_HOST else None
        if host is None:
            raise UserError(
                f"connector {name!r} names a function, but {name!r} must be a Connector",
                hint=f"the '{MAPPING_HOST}' entry point turns mapping functions into connectors",
            )
        return host.for_mapping(name, target)
    raise UserError(
        f"connector {name!r} points at {ep.value}, which is neither a Connector nor a function",
        hint="the entry point must name a Connector subclass or a mapping function",
    )
