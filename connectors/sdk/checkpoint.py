"""A connector's resume point and recent event ids, in one JSON file written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson


class CheckpointStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            # A torn write cannot happen (rename is atomic), so this is a hand edit: say so.
            raise ValueError(
                f"checkpoint {self.path} is not valid JSON; fix or delete it"
            ) from None
        return data if isinstance(data, dict) else {}

    def save(self, state: dict[str, Any]) -> None:
        """Write to a temporary file and rename it over the old one: never a half-written file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ckpt-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(orjson.dumps(state))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def reset(self) -> None:
        self.path.unlink(missing_ok=True)
