"""Errors a user can fix: the CLI prints them as one message with a hint, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message
