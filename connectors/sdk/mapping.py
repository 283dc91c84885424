"""A department's mapping function: `module:function` turning one record into an event.

The function takes a record (a JSONL object or a CSV row as {column: text} for `replay`, an
`MqttMessage` for `mqtt`) and returns a `Draft`, a ready CloudEvent dict, or None to skip the
record. It raises `MappingError` for a record it cannot map; any other exception is a bug in
the mapping, and the record is dead-lettered with the exception so one bad record does not
stop a whole run.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import orjson

from connectors.sdk.item import Draft, MappingError
from hub.errors import UserError

log = logging.getLogger("onenet.connector.mapping")

Mapped = Draft | Mapping[str, Any] | None
RecordT = TypeVar("RecordT")
MappingFunction = Callable[[dict[str, Any]], Mapped]


def load_mapping(spec: str) -> Callable[[Any], Mapped]:
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
    func: Callable[[Any], Mapped] = target
    return func


def require_mapping(spec: str, *, option: str = "--mapping") -> Callable[[Any], Mapped]:
    """`load_mapping` for a command-line option: a typo is a user error, not a traceback."""
    try:
        return load_mapping(spec)
    except ValueError as exc:
        raise UserError(
            f"{option}: {exc}",
            hint="install the package that provides it, or put its folder on PYTHONPATH",
        ) from None


def json_object(raw: bytes, *, what: str = "a record") -> dict[str, Any]:
    """`raw` as a JSON object for a mapping, or a `MappingError` with the dead-letter reason."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MappingError(f"{what} is not valid JSON: {exc}", reason="invalid-json") from None
    if not isinstance(value, dict):
        raise MappingError(
            f"{what} must be a JSON object, got {type(value).__name__}", reason="not-an-object"
        )
    return value


def describe(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or "?"
    return f"{module}:{getattr(func, '__qualname__', repr(func))}"


class SafeMapping(Generic[RecordT]):
    """Calls the mapping so that whatever goes wrong for one record stays with that record.

    `crash_reason` is the dead-letter reason of a mapping that raised something other than
    `MappingError` or returned something other than a Draft, a dict or None.
    """

    def __init__(
        self, func: Callable[[RecordT], Mapped], *, crash_reason: str = "mapping-crashed"
    ) -> None:
        self.func = func
        self.name = describe(func)
        self.crash_reason = crash_reason
        self._logged_crash = False

    def __call__(self, record: RecordT) -> Mapped:
        try:
            result = self.func(record)
        except MappingError:
            raise
        except Exception as exc:
            if not self._logged_crash:  # the traceback once; the dead letters say the rest
                log.exception("mapping %s failed on a record", self.name)
                self._logged_crash = True
            raise MappingError(
                f"{self.name} raised {type(exc).__name__}: {exc}", reason=self.crash_reason
            ) from None
        if result is None or isinstance(result, Draft | Mapping):
            return result
        raise MappingError(
            f"{self.name} returned {type(result).__name__}; return a Draft, a CloudEvent dict "
            "or None",
            reason=self.crash_reason,
        )
