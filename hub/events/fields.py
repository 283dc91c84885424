"""Constrained field types shared by the envelope and the event data models.

Every bound here exists so that one malformed or hostile record cannot inflate state stores,
alert text or dead-letter headers downstream; patterns run in pydantic-core (Rust regex), so
validation stays off the Python interpreter in the hot loop.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, StringConstraints

from hub.clock import utcnow

# Identifiers: printable, no control characters, no leading/trailing white space, because
# they become Kafka keys, table keys and alert ids where " s1" and "s1" must not differ.
ID_PATTERN = r"^[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$"
# Free text may span lines but carries no other control characters (terminals, logs, CAP).
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# URI-references must be percent-encoded, so white space and controls are never legal.
URI_REF_PATTERN = r"^[^\s\x00-\x1f\x7f-\x9f]+$"
URI_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f-\x9f]+$"
TYPE_PATTERN = r"^[a-z0-9]+(\.[a-z0-9-]+)+$"
DISTRICT_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
JSON_MEDIA_PATTERN = r"(?i)^application/(?:[a-z0-9.+-]+\+)?json\s*(?:;.*)?$"

#: Human wording for each pattern, used when turning validation errors into dead-letter details.
PATTERN_HINTS: dict[str, str] = {
    ID_PATTERN: "must be printable, without control characters or leading/trailing spaces",
    TEXT_PATTERN: "must not contain control characters (tab and newline are fine)",
    URI_REF_PATTERN: "must be a URI-reference without spaces or control characters",
    URI_PATTERN: "must be an absolute URI such as https://example.org/schema.json",
    TYPE_PATTERN: "must be reverse-DNS style lowercase, such as city.safety.hydrogen.reading",
    DISTRICT_PATTERN: "must be an administrative code of 1-32 letters, digits, '_' or '-'",
    JSON_MEDIA_PATTERN: "must be a JSON media type such as application/json",
}

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=ID_PATTERN)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=TEXT_PATTERN)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=TEXT_PATTERN)]

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?P<zone>[Zz]|[+-]\d{2}:\d{2})?"
)


def parse_rfc3339(value: object) -> datetime:
    """Parse an RFC 3339 time into an aware UTC datetime.

    Naive times are refused because a sensor's local clock without an offset cannot be placed
    on the hub's event-time axis; windows and deadlines would silently shift by hours.
    """
    if isinstance(value, str):
        match = _RFC3339.fullmatch(value)
        if match is None:
            raise ValueError("must be an RFC 3339 time such as 2024-05-01T08:30:00+08:00")
        if match.group("zone") is None:
            raise ValueError("has no zone offset; append Z or +hh:mm")
        try:
            parsed = datetime.fromisoformat(value.upper())
        except ValueError as exc:
            raise ValueError(f"is not a valid time ({exc})") from None
    elif isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError("has no zone offset; use an aware datetime")
        parsed = value
    else:
        raise ValueError("must be an RFC 3339 time string")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


def format_rfc3339(value: datetime, *, timespec: str = "auto") -> str:
    """UTC with a ``Z`` suffix: one spelling per instant keeps the encoding canonical.

    `timespec` is `datetime.isoformat`'s: "auto" for events, "milliseconds" for log lines.
    """
    return value.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


Rfc3339Time = Annotated[
    datetime,
    BeforeValidator(parse_rfc3339),
    PlainSerializer(format_rfc3339, return_type=str, when_used="json"),
]

_EXTRA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
MAX_EXTRA_FIELDS = 16
MAX_EXTRA_TEXT = 256
_INT64 = 2**63


def check_extra_fields(extra: dict[str, Any] | None) -> None:
    """Admit unknown data fields only as small named scalars.

    Forward compatibility: a v1.x producer may add a field before every consumer knows it,
    and rejecting it would dead-letter good events. Keeping extras scalar and small means
    they can never smuggle nested payloads into state stores, alert evidence or the canonical
    encoding, and the round trip through orjson stays exact.
    """
    if not extra:
        return
    if len(extra) > MAX_EXTRA_FIELDS:
        raise ValueError(
            f"at most {MAX_EXTRA_FIELDS} unknown fields are allowed (got {len(extra)})"
        )
    for name, value in extra.items():
        if not _EXTRA_NAME.fullmatch(name):
            raise ValueError(
                f"unknown field {name[:40]!r}: names must be letters, digits or '_', "
                "start with a letter, at most 64 characters"
            )
        _check_scalar(name, value)


def _check_scalar(name: str, value: object) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise ValueError(f"unknown field {name!r}: integer out of 64-bit range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"unknown field {name!r}: must be a finite number")
    elif isinstance(value, str):
        if len(value) > MAX_EXTRA_TEXT:
            raise ValueError(
                f"unknown field {name!r}: text longer than {MAX_EXTRA_TEXT} characters"
            )
    else:
        raise ValueError(
            f"unknown field {name!r}: only scalars (string, number, boolean, null) are allowed "
            f"(got {type(value).__name__})"
        )


# --- time range and saturating time arithmetic ----------------------------------------------

#: The accepted range of every time an event carries, unless settings say otherwise: no city
#: system of record predates 2000, and a bound far short of year 9999 keeps every window,
#: deadline and watermark computed from an accepted time representable.
DEFAULT_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
#: The ends of what an aware datetime can represent: where saturating arithmetic stops.
TIME_MIN = datetime.min.replace(tzinfo=UTC)
TIME_MAX = datetime.max.replace(tzinfo=UTC)


def shift(value: datetime, delta: timedelta) -> datetime:
    """``value + delta``, saturated at the ends of what datetime can represent.

    Windows, deadlines and watermarks add rule durations to event times; an overflow there
    would stop the agent, while a saturated time still orders correctly against every other.
    """
    try:
        return value + delta
    except OverflowError:
        return TIME_MAX if delta > timedelta(0) else TIME_MIN


@dataclass(frozen=True)
class TimeRange:
    """The one range every time an event carries must fall in (``earliest <= t < latest``);
    optionally, an event's own time no further ahead of the wall clock than ``max_ahead``.

    The absolute bounds make a record's fate the same whenever it is parsed (a replay of the
    dead-letter topic decides as the first attempt did); ``max_ahead`` bounds clock skew, so
    one device with a wrong clock cannot carry a partition's watermark into the future. It
    does not apply to deadlines such as ``due_by``, which lie ahead by nature.
    """

    earliest: datetime = DEFAULT_EARLIEST
    latest: datetime = DEFAULT_LATEST
    max_ahead: timedelta | None = None

    def problem(
        self, value: datetime, *, now: datetime | None = None, happened: bool = True
    ) -> str | None:
        """Why ``value`` is outside the range, or None when it is inside; ``happened`` says
        it is when something occurred (so cannot be ahead of the clock), not a deadline."""
        if value < self.earliest:
            return f"is before the earliest accepted time {format_rfc3339(self.earliest)}"
        if value >= self.latest:
            return f"is not before the latest accepted time {format_rfc3339(self.latest)}"
        if self.max_ahead is not None and happened:
            limit = shift(now if now is not None else utcnow(), self.max_ahead)
            if value > limit:
                return (
                    f"is more than {self.max_ahead.total_seconds():g} s ahead of the "
                    f"hub's clock ({format_rfc3339(limit)})"
                )
        return None


DEFAULT_TIME_RANGE = TimeRange()
