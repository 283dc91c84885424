"""Why an input record was refused, in a form both machines and people can act on.

``reason`` is a stable kebab-case code (dashboards and dead-letter replays group by it);
``detail`` is one line that names the field, the offending value and the fix.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from hub.events.fields import PATTERN_HINTS


class Reason(StrEnum):
    """Every code ``EventRejected.reason`` can take; part of the dead-letter contract."""

    EMPTY = "empty"
    TOO_LARGE = "too-large"
    INVALID_ENCODING = "invalid-encoding"
    INVALID_JSON = "invalid-json"
    NOT_AN_OBJECT = "not-an-object"
    TOO_DEEP = "too-deep"
    INVALID_ENVELOPE = "invalid-envelope"
    UNKNOWN_TYPE = "unknown-type"
    INVALID_DATA = "invalid-data"
    MISSING_DISTRICT = "missing-district"
    TIME_OUT_OF_RANGE = "time-out-of-range"


class EventRejected(Exception):
    """An input record is not a valid v1 event; it belongs on the dead-letter topic."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"

    @classmethod
    def from_validation(
        cls, reason: str, exc: ValidationError, *, prefix: str = ""
    ) -> EventRejected:
        return cls(reason, describe_validation_error(exc, prefix=prefix))


MAX_LISTED_ERRORS = 3
_MAX_INPUT_REPR = 40


def describe_validation_error(exc: ValidationError, *, prefix: str = "") -> str:
    """One line naming the first few failing fields by path, e.g. ``data.h2_ppm: must be >= 0
    (got -3)``; the rest are counted, not listed, to keep dead-letter headers small."""
    errors = exc.errors(include_url=False)
    parts = [_describe_one(error, prefix) for error in errors[:MAX_LISTED_ERRORS]]
    if len(errors) > MAX_LISTED_ERRORS:
        parts.append(f"(+{len(errors) - MAX_LISTED_ERRORS} more)")
    return "; ".join(parts)


def _describe_one(error: Any, prefix: str) -> str:
    path = _path(prefix, error["loc"])
    message = _message(error["type"], error.get("ctx") or {}, error["msg"])
    if error["type"] != "missing":
        value = error["input"]
        if value is None or isinstance(value, str | int | float | bool):
            message = f"{message} (got {_short_repr(value)})"
        elif error["type"] != "value_error":  # model-level checks name the culprit themselves
            message = f"{message} (got {_json_kind(value)})"
    return f"{path}: {message}" if path else message


def _path(prefix: str, loc: tuple[int | str, ...]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else part
    return out


def _message(kind: str, ctx: dict[str, Any], fallback: str) -> str:
    match kind:
        case "missing":
            return "is required"
        case "greater_than_equal":
            return f"must be >= {_num(ctx['ge'])}"
        case "greater_than":
            return f"must be > {_num(ctx['gt'])}"
        case "less_than_equal":
            return f"must be <= {_num(ctx['le'])}"
        case "less_than":
            return f"must be < {_num(ctx['lt'])}"
        case "finite_number":
            return "must be a finite number"
        case "float_type" | "int_type":
            return "must be a number"
        case "string_type":
            return "must be a string"
        case "bool_type":
            return "must be true or false"
        case "dict_type" | "model_type" | "model_attributes_type":
            return "must be an object"
        case "string_too_short":
            return "must not be empty"
        case "string_too_long":
            return f"must be at most {ctx['max_length']} characters"
        case "string_pattern_mismatch":
            return PATTERN_HINTS.get(ctx["pattern"], f"must match {ctx['pattern']}")
        case "literal_error":
            expected = str(ctx["expected"])
            return f"must be one of {expected}" if " or " in expected else f"must be {expected}"
        case "value_error":
            return fallback.removeprefix("Value error, ")
        case _:
            return fallback[:1].lower() + fallback[1:]


def _num(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_INPUT_REPR else text[: _MAX_INPUT_REPR - 1] + "…"


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__
