"""Durations and distances as rule files write them: "90s", "10m", "24h", "500m", "1.5km"."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_DURATION = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)\s*)+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DISTANCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|km)\s*$")


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and _DURATION.match(value):
        seconds = sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART.findall(value))
        return timedelta(seconds=seconds)
    raise ValueError(f"must be a duration such as 90s, 10m, 24h, 3d or 1h30m (got {value!r})")


def format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_distance(value: Any) -> float:
    """Metres."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str):
        m = _DISTANCE.match(value)
        if m:
            return float(m.group(1)) * (1000.0 if m.group(2) == "km" else 1.0)
    raise ValueError(f"must be a distance such as 300m or 1.5km (got {value!r})")


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
Distance = Annotated[float, BeforeValidator(parse_distance)]
