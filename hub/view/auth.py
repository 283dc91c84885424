"""Who is asking, and what they may see: bearer tokens, roles, and the page's session cookie.

Tokens are configured in a TOML file that stores only their SHA-256 hashes, so a leaked file
grants nothing::

    [tokens.<sha256 hex of the token>]
    name = "ops-centre"
    role = "operator"          # operator | viewer | department:<name>

`onenet view --hash-token TOKEN` prints such an entry. The file is re-read when it changes, so
revoking a token needs no restart. The page cannot send a bearer header on an EventSource, so
`POST /api/session` trades a token for a signed, HttpOnly, SameSite=Strict cookie that names the
token's hash; every request re-checks that hash against the file (revocation ends sessions
too). State-changing requests authenticated by cookie must carry the `X-OneNet-CSRF` header or
an `Origin` equal to the view's configured public URL (`ONENET_VIEW_PUBLIC_URL`), which a
cross-site form cannot forge. The request's `Host` header is never trusted for this: behind a
proxy, or via DNS rebinding, it is whatever the client says.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from hub.alerts.lifecycle import may_act
from hub.alerts.model import Alert
from hub.errors import UserError

SESSION_COOKIE = "onenet_session"
CSRF_HEADER = "x-onenet-csrf"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` as browsers send it in `Origin`; None for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


DEFAULT_SESSION_TTL_S = 12 * 3600
_ROLE = re.compile(r"^(operator|viewer|department:[A-Za-z0-9][A-Za-z0-9._-]{0,63})$")
_HASH = re.compile(r"^[0-9a-f]{64}$")
MIN_TOKEN_LENGTH = 16


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_entry(token: str, *, name: str, role: str) -> str:
    """A tokens-file entry for a token (for `onenet view --hash-token`)."""
    if not _ROLE.match(role):
        raise UserError(f"invalid role {role!r}", hint="use operator, viewer or department:<name>")
    return f'[tokens.{hash_token(token)}]\nname = "{name}"\nrole = "{role}"\n'


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str
    token_hash: str

    @property
    def department(self) -> str | None:
        return (
            self.role.removeprefix("department:") if self.role.startswith("department:") else None
        )

    @property
    def can_act(self) -> bool:
        return self.role != "viewer"

    def sees(self, alert: Alert) -> bool:
        """Operators and viewers see every alert; a department only those routed to it."""
        if self.role in ("operator", "viewer"):
            return True
        return may_act(self.role, alert)


class TokenStore:
    """The tokens file, re-read when its modification time or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._entries: list[Principal] = []
        self._load()

    def _load(self) -> None:
        try:
            st = self.path.stat()
        except OSError as exc:
            raise UserError(
                f"cannot read the tokens file {self.path}: {exc.strerror}",
                hint="create it with entries printed by `onenet view --hash-token TOKEN`",
            ) from None
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        try:
            doc = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            if self._stamp is not None:
                return  # keep the last good file while someone is editing it
            raise UserError(f"invalid tokens file {self.path}: {exc}") from None
        entries = []
        for digest, entry in (doc.get("tokens") or {}).items():
            name = entry.get("name") if isinstance(entry, dict) else None
            role = entry.get("role") if isinstance(entry, dict) else None
            if not (
                _HASH.match(str(digest))
                and isinstance(name, str)
                and 0 < len(name) <= 128
                and isinstance(role, str)
            ):
                raise UserError(
                    f"invalid entry tokens.{digest} in {self.path}",
                    hint="each entry is [tokens.<sha256 hex>] with name and role",
                )
            if not _ROLE.match(role):
                raise UserError(
                    f"invalid role {role!r} for {name!r} in {self.path}",
                    hint="use operator, viewer or department:<name>",
                )
            entries.append(Principal(name=name, role=role, token_hash=str(digest)))
        self._entries = entries
        self._stamp = stamp

    def refresh(self) -> None:
        # the file vanished or broke after start: keep serving the last good one
        with contextlib.suppress(UserError):
            self._load()

    def _by_hash(self, digest: str) -> Principal | None:
        found = None
        for p in self._entries:  # compare against every entry: time does not tell which matched
            if hmac.compare_digest(p.token_hash, digest):
                found = p
        return found

    def authenticate(self, token: str) -> Principal | None:
        self.refresh()
        return self._by_hash(hash_token(token))

    def by_hash(self, digest: str) -> Principal | None:
        self.refresh()
        return self._by_hash(digest)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Signed session cookies: `<token hash>.<expiry>.<hmac>`; a per-process key by default."""

    def __init__(self, secret: bytes | None = None, ttl_s: int = DEFAULT_SESSION_TTL_S) -> None:
        self._key = secret or secrets.token_bytes(32)
        self.ttl_s = ttl_s

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, principal: Principal, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.ttl_s)
        payload = f"{principal.token_hash}.{expires}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, value: str, now: float | None = None) -> str | None:
        """The token hash the cookie names, if it is genuine and not expired."""
        parts = value.split(".")
        if len(parts) != 3 or not _HASH.match(parts[0]) or not parts[1].isdigit():
            return None
        payload = f"{parts[0]}.{parts[1]}"
        try:
            genuine = hmac.compare_digest(_unb64(parts[2]), _unb64(self._sign(payload)))
        except ValueError:
            return None
        if not genuine or int(parts[1]) < (now if now is not None else time.time()):
            return None
        return parts[0]
