"""Structured logs: one JSON object per line, so a log pipeline can index by event or alert id.

Fields: `ts` (RFC 3339, UTC, milliseconds), `level`, `logger`, `msg` (the formatted message),
then every `extra=` field the call passed (event_id, alert_id, rule, connector, source,
evidence, ...), then `exc` with the traceback when there is one. Values that JSON cannot hold
are written as their `str()`, so a log call never fails because of what it carries.
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

from hub.events.fields import format_rfc3339

ENV_FORMAT = "ONENET_LOG_FORMAT"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(message)s"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName"}


def rfc3339(created: float) -> str:
    """`2025-01-31T12:00:00.123Z`: sortable, unambiguous, what log stores parse natively."""
    return format_rfc3339(datetime.fromtimestamp(created, UTC), timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON; `static` fields go on every line (e.g. connector)."""

    def __init__(self, static: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.static = dict(static or {})

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": rfc3339(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in self.static.items():
            entry.setdefault(key, value)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return jsonlib.dumps(entry, default=str, ensure_ascii=False)


def log_format_from_env() -> bool:
    """True when `ONENET_LOG_FORMAT=json` asks for JSON lines (the default is text)."""
    return os.environ.get(ENV_FORMAT, "").strip().lower() == "json"


def configure_logging(
    level: str = "info",
    json: bool = False,
    *,
    static: Mapping[str, Any] | None = None,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Install one stderr handler on the root logger, JSON or text; returns the handler.

    It replaces plain stream handlers (a previous call's, `basicConfig`'s) so no line is
    written twice, and leaves other handlers alone (files, test capture).
    `static` fields (`{"connector": "replay"}`) are added to every JSON line, so each line of
    a process says where it came from without every call passing it.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(static) if json else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        if type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(json)  # a bare warning line would break a JSON log stream
    return handler
