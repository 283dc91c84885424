"""A department's mapping function: `module:function` turning one record into an event.

The function takes the record as a dict (a JSONL object, or a CSV row as {column: text}) and
returns a `Draft`, a ready CloudEvent dict, or None to skip the record. It raises
`MappingError` for a record it cannot map; any other exception is a bug in the mapping, and the
record is dead-lettered with the exception so one bad row does not stop a whole replay.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from connectors.sdk.item import Draft, MappingError

log = logging.getLogger("onenet.connector.replay")

Mapped = Draft | Mapping[str, Any] | None
MappingFunction = Callable[[dict[str, Any]], Mapped]


def load_mapping(spec: str) -> MappingFunction:
    """Import `package.module:function` (dotted attributes allowed); raises ValueError."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"{spec!r} is not module:function, e.g. mydept.mapping:to_event")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"{module_name!r} has no {attribute!r}") from None
    if not callable(target):
        raise ValueError(f"{spec} is not a function")
    func: MappingFunction = target
    return func


def describe(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or "?"
    return f"{module}:{getattr(func, '__qualname__', repr(func))}"


class SafeMapping:
    """Calls the mapping so that whatever goes wrong for one record stays with that record."""

    def __init__(self, func: MappingFunction) -> None:
        self.func = func
        self.name = describe(func)
        self._logged_crash = False

    def __call__(self, record: dict[str, Any]) -> Mapped:
        try:
            result = self.func(record)
        except MappingError:
            raise
        except Exception as exc:
            if not self._logged_crash:  # the traceback once; the dead letters say the rest
                log.exception("mapping %s failed on a record", self.name)
                self._logged_crash = True
            raise MappingError(
                f"{self.name} raised {type(exc).__name__}: {exc}", reason="mapping-crashed"
            ) from None
        if result is None or isinstance(result, Draft | Mapping):
            return result
        raise MappingError(
            f"{self.name} returned {type(result).__name__}; return a Draft, a CloudEvent dict "
            "or None",
            reason="mapping-crashed",
        )
