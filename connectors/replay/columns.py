"""CSV columns to events without Python: `--type`, `--column FIELD=COLUMN`, `--set FIELD=VALUE`.

A CSV cell is always text, and the contract's models are strict ("4200" is not a number to
them), so each value is converted to what the event type's model declares for its field:
numbers for `data.h2_ppm` or `data.location.lat`, text for ids. An empty cell leaves the field
out, so optional fields may stay blank and a blank required one is reported by name.
"""

from __future__ import annotations

import logging
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from connectors.sdk.item import Draft, MappingError
from hub.errors import UserError
from hub.events import EVENT_TYPES

log = logging.getLogger("onenet.connector.replay")

Kind = Literal["number", "integer", "boolean", "text", "object", "extra"]

ENVELOPE_FIELDS = ("time", "id", "type", "district", "subject", "source")
_FIELD = re.compile(r"^(?:time|id|type|district|subject|source|data(?:\.[A-Za-z_][A-Za-z0-9_]*)+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
_TRUE = frozenset({"true", "yes", "1", "y"})
_FALSE = frozenset({"false", "no", "0", "n"})


def parse_pairs(pairs: Sequence[str], *, right: str) -> dict[str, str]:
    """`FIELD=VALUE` pairs as a dict; raises ValueError naming the bad pair."""
    out: dict[str, str] = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        field = field.strip()
        if not sep or not field:
            raise ValueError(f"{pair!r} is not FIELD={right}, e.g. data.h2_ppm=ppm")
        if not _FIELD.match(field):
            raise ValueError(
                f"{field!r} is not an event field: use time, id, type, district, subject, "
                "source or data.NAME (data.location.lat for nested ones)"
            )
        if field in out:
            raise ValueError(f"{field} is given twice")
        out[field] = value if right == "VALUE" else value.strip()
    return out


def parse_timezone(text: str) -> tzinfo:
    """`Z`, `UTC`, `+08:00` or an IANA name such as `Asia/Shanghai`; raises ValueError."""
    if text.upper() in ("Z", "UTC"):
        return UTC
    match = _OFFSET.match(text)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        offset = timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        return timezone(sign * offset)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {text!r}; use +08:00, Z or a name such as Asia/Shanghai"
        ) from None


def parse_time(text: str, tz: tzinfo | None) -> datetime:
    """RFC 3339 / ISO 8601 (a space for `T` is fine), or epoch seconds (milliseconds if huge).

    A time without an offset takes `tz`; without `tz` it is refused, because guessing the zone
    of a department's export would shift every event by hours.
    """
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        seconds = float(text)
        if seconds > 1e11:  # after year 5138 as seconds: these are milliseconds
            seconds /= 1000
        return datetime.fromtimestamp(seconds, UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("is not a time such as 2024-05-01T08:30:00+08:00") from None
    if parsed.tzinfo is None:
        if tz is None:
            raise ValueError("has no zone offset; add one or pass --timezone (e.g. +08:00)")
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


@cache
def field_kind(event_type: str, field: str) -> Kind:
    """What `data.a.b` of `event_type` holds, from its pydantic model ("extra" if unknown)."""
    model: Any = EVENT_TYPES.get(event_type)
    parts = field.split(".")[1:]
    for i, part in enumerate(parts):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return "extra"
        info = model.model_fields.get(part)
        if info is None:
            return "extra"
        annotation = _unwrap(info.annotation)
        if i < len(parts) - 1:
            model = annotation
            continue
        if isinstance(annotation, type):
            if issubclass(annotation, BaseModel):
                return "object"
            if issubclass(annotation, bool):
                return "boolean"
            if issubclass(annotation, int):
                return "integer"
            if issubclass(annotation, float):
                return "number"
        return "text"
    return "extra"


def convert(text: str, kind: Kind) -> Any:
    """A cell as the kind of value its field takes; raises ValueError saying why not."""
    value = text.strip()
    if kind in ("number", "integer"):
        try:
            number: int | float = int(value) if _INTEGER.match(value) else float(value)
        except ValueError:
            raise ValueError("is not a number") from None
        if isinstance(number, float):
            if not math.isfinite(number):
                raise ValueError("is not a finite number")
            if kind == "integer":
                if not number.is_integer():
                    raise ValueError("is not a whole number")
                number = int(number)
        return number
    if kind == "boolean":
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("is not true or false")
    return text


class ColumnMapping:
    """Builds a Draft from a CSV row: `columns` and `constants` map event fields to text."""

    def __init__(
        self,
        *,
        columns: Mapping[str, str],
        constants: Mapping[str, str],
        event_type: str | None,
        tz: tzinfo | None = None,
    ) -> None:
        clash = sorted(set(columns) & set(constants))
        if clash:
            raise UserError(
                f"{clash[0]} is given both by --column and by --set",
                hint="map each field once",
            )
        self.columns = dict(columns)
        self.constants = dict(constants)
        if event_type is not None:
            if "type" in self.columns or "type" in self.constants:
                raise UserError(
                    "the event type is given twice", hint="use --type or type=..., not both"
                )
            self.constants["type"] = event_type
        if "type" not in self.columns and "type" not in self.constants:
            raise UserError(
                "the CSV rows need an event type",
                hint="pass --type city.safety.hydrogen.reading (or --column type=COLUMN)",
            )
        self.tz = tz
        fields = [*self.columns, *self.constants]
        for field in fields:
            for other in fields:
                if other.startswith(field + "."):
                    raise UserError(
                        f"{field} is mapped as a value and also has {other} mapped inside it",
                        hint="map only the leaves, e.g. data.location.lat and data.location.lon",
                    )
        self.fixed_type = self.constants.get("type") if "type" not in self.columns else None
        if self.fixed_type is not None:
            self._check_fields(self.fixed_type)
            try:
                self._convert(self.constants, self.fixed_type, {})
            except MappingError as exc:
                raise UserError(exc.detail, hint="fix the --set value") from None

    def _check_fields(self, event_type: str) -> None:
        for field in [*self.columns, *self.constants]:
            if not field.startswith("data."):
                continue
            kind = field_kind(event_type, field)
            if kind == "object":
                raise UserError(
                    f"{field} of {event_type} is an object",
                    hint=f"map its parts instead, e.g. {field}.lat=COLUMN and {field}.lon=COLUMN",
                )

    def check_header(self, header: Sequence[str]) -> None:
        """Fail before the first row when the mapping names a column the file lacks."""
        for field in [*self.columns, *self.constants]:
            extra = (
                field.startswith("data.") and field_kind(self.fixed_type or "", field) == "extra"
            )
            if self.fixed_type and extra:
                log.warning(
                    "%s is not a field of %s; it is sent as an extra field", field, self.fixed_type
                )
        missing = [
            f"{field}={column}" for field, column in self.columns.items() if column not in header
        ]
        if missing:
            raise UserError(
                f"the CSV has no column for --column {', '.join(missing)}",
                hint=f"its columns are: {', '.join(header)}",
            )

    def to_draft(self, row: Mapping[str, str]) -> Draft:
        """The row as a Draft; raises MappingError naming the field, column and value."""
        values = {field: row[column] for field, column in self.columns.items()}
        event_type = self.constants.get("type") or values.get("type", "").strip()
        if not event_type:
            raise MappingError(
                f"type: column {self.columns['type']!r} is empty", reason="invalid-data"
            )
        out: dict[str, Any] = {}
        self._convert(self.constants, event_type, out)
        self._convert(values, event_type, out, from_columns=True)
        data: dict[str, Any] = {}
        for field, value in out.items():
            if field.startswith("data."):
                _put(data, field.split(".")[1:], value)
        return Draft(
            type=event_type,
            data=data,
            time=out.get("time"),
            id=out.get("id"),
            district=out.get("district"),
            subject=out.get("subject"),
            source=out.get("source"),
        )

    def _convert(
        self,
        values: Mapping[str, str],
        event_type: str,
        out: dict[str, Any],
        *,
        from_columns: bool = False,
    ) -> None:
        for field, text in values.items():
            if field == "type":
                continue
            where = f"column {self.columns[field]!r}" if from_columns else "--set"
            if not text.strip():
                if field == "time":
                    raise MappingError(f"time: {where} is empty", reason="invalid-data")
                continue  # an empty cell leaves the field out
            try:
                if field == "time":
                    out[field] = parse_time(text, self.tz)
                elif field in ENVELOPE_FIELDS:
                    out[field] = text.strip()
                else:
                    out[field] = convert(text, field_kind(event_type, field))
            except ValueError as exc:
                raise MappingError(
                    f"{field}: {where} value {_short(text)} {exc}", reason="invalid-data"
                ) from None


def _put(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:39] + "…")
