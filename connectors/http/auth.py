"""Bearer tokens of the HTTP ingest, kept as SHA-256 hashes and scoped to source prefixes.

The tokens file never holds a token, so reading it (a backup, a config repo) grants nothing;
each token may publish only under its department's `source` prefixes, so one department
cannot publish as another. The file is re-read when it changes: adding a department needs no
restart. Shape (TOML; JSON is the same structure)::

    [tokens.151570d6d0c956e6825adae4bd4e93d59e2b213b7f9ccfe0e76e6bda9e4a1bee]
    name = "energy-bureau"                 # shown in logs and dead letters
    sources = ["urn:dept:energy:"]         # end prefixes with ':' or '/'

A bare list is fine too: ``"<hash>" = ["urn:dept:energy:"]``. Make a new token and its hash
with ``python -m connectors.http new``; hash one you have
with ``python -m connectors.http hash`` (reads it from standard input; the same as
``printf %s TOKEN | sha256sum``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import UserError

log = logging.getLogger("onenet.connector.http")

_HASH = re.compile(r"^[0-9a-f]{64}$")
RELOAD_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class Grant:
    """What one token may do: publish events whose `source` starts with one of `sources`."""

    name: str
    sources: tuple[str, ...]

    def allows(self, source: str) -> bool:
        return source.startswith(self.sources)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_tokens(path: Path) -> dict[str, Grant]:
    """Parse a tokens file; every problem is a UserError naming the entry."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(
            f"cannot read the tokens file {path}: {exc.strerror or exc}",
            hint="pass --tokens-file with a TOML or JSON file of token hashes",
        ) from None
    try:
        document: Any = (
            json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw.decode())
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(
            f"the tokens file {path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: "
            f"{exc}",
            hint="see `onenet connector run http --help` for its shape",
        ) from None
    if isinstance(document, dict) and isinstance(document.get("tokens"), dict):
        document = document["tokens"]
    if not isinstance(document, dict) or not document:
        raise UserError(
            f"the tokens file {path} lists no tokens",
            hint='add [tokens.<sha256 hex>] with sources = ["urn:dept:..."]',
        )
    return {_key(path, key): _grant(path, key, value) for key, value in document.items()}


def _key(path: Path, key: str) -> str:
    lowered = key.strip().lower()
    if not _HASH.match(lowered):
        raise UserError(
            f"{path}: {key[:16]!r}… is not a SHA-256 hex digest (64 hex digits)",
            hint="store hashes, never tokens: echo TOKEN | python -m connectors.http hash",
        )
    return lowered


def _grant(path: Path, key: str, value: Any) -> Grant:
    name = key[:8]
    sources = value
    if isinstance(value, dict):
        name = str(value.get("name") or name)
        sources = value.get("sources")
    if (
        not isinstance(sources, list)
        or not sources
        or not all(isinstance(s, str) and s for s in sources)
    ):
        raise UserError(
            f"{path}: token {name!r} needs sources = a non-empty list of source prefixes",
            hint='e.g. sources = ["urn:dept:energy:"]',
        )
    return Grant(name, tuple(sources))


class IngestTokens:
    """The grants of a tokens file, re-read when the file changes (checked once a second)."""

    def __init__(self, path: Path, *, reload_every: float = RELOAD_EVERY_S) -> None:
        self.path = path
        self.reload_every = reload_every
        self._grants = load_tokens(path)
        self._stamp = self._stat()
        self._checked = time.monotonic()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def __len__(self) -> int:
        return len(self._grants)

    def lookup(self, token: str) -> Grant | None:
        self._maybe_reload()
        return self._grants.get(hash_token(token))

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.reload_every:
            return
        self._checked = now
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._grants = load_tokens(self.path)
        except UserError as exc:  # keep serving with the grants that were valid
            log.error("kept the previous tokens: %s", exc.message)
        else:
            log.info("reloaded %d tokens from %s", len(self._grants), self.path)


def main(argv: list[str]) -> int:
    """`python -m connectors.http new|hash TOKEN`: make tokens without storing them."""
    if argv[:1] == ["new"]:
        token = secrets.token_urlsafe(32)
        print(f"token (give it to the department, store it nowhere else): {token}")
        print(f"hash (put it in the tokens file): {hash_token(token)}")
        return 0
    if argv[:1] == ["hash"] and len(argv) <= 2:
        # From standard input by default, so the token stays out of shell history.
        token = argv[1] if len(argv) == 2 else sys.stdin.readline().strip()
        print(hash_token(token))
        return 0
    print("usage: python -m connectors.http new | hash [TOKEN]", file=sys.stderr)
    return 2
