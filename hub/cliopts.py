"""Options every `onenet` command shares, spelled once: `--log-level`.

`--log-level LEVEL` may stand anywhere on an `onenet` command line (`onenet worker
--log-level debug`, `onenet --log-level debug rules check`, `onenet connector run NAME
--log-level warning`): the entry point takes it out before the commands parse the rest
(`take_log_level`), so no command can spell it differently. Commands that start a server or a
worker read it with `log_level()`; the CLI's error handler reads it to decide whether an
unexpected exception shows its traceback (only at `debug`).
"""

from __future__ import annotations

from typing import Any

from hub.errors import UserError

LEVELS = ("debug", "info", "warning", "error")
DEFAULT_LEVEL = "info"
HELP = "debug, info, warning or error (default info); debug also shows tracebacks."
EPILOG = f"Every onenet command also takes --log-level: {HELP}"

_state = {"level": DEFAULT_LEVEL}


def log_level() -> str:
    return _state["level"]


def set_log_level(level: str) -> None:
    _state["level"] = level


def take_log_level(argv: list[str]) -> list[str]:
    """`argv` without its `--log-level` options; the last one given becomes `log_level()`.

    Raises a usage error (exit 2) for a missing or unknown level. Arguments after `--` are
    left alone.
    """
    rest: list[str] = []
    chosen: str | None = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg == "--log-level" or arg.startswith("--log-level="):
            if "=" in arg:
                value: str | None = arg.partition("=")[2]
            else:
                value = argv[i + 1] if i + 1 < len(argv) else None
                i += 1
            chosen = _checked(value)
        else:
            rest.append(arg)
        i += 1
    set_log_level(chosen or DEFAULT_LEVEL)
    return rest


def _checked(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in LEVELS:
        raise UserError(
            f"--log-level needs one of {', '.join(LEVELS)}"
            + (f", not {value!r}" if value is not None else ""),
            hint="e.g. --log-level debug",
            exit_code=2,
        )
    return value.lower()


def add_epilog(command: Any) -> None:
    """Say in every command's --help that it takes `--log-level` too."""
    if getattr(command, "epilog", "missing") is None:
        command.epilog = EPILOG
    for sub in getattr(command, "commands", {}).values():
        add_epilog(sub)
