"""The control view's settings: the hub's `Settings` plus `ONENET_VIEW_*` entries.

A subclass rather than new fields in `hub.settings`, so the view's knobs live with the view
and every other setting (broker, topic prefix, TOML file) resolves exactly as for the worker.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hub.settings import Settings


class ViewSettings(Settings):
    view_tokens_file: Path = Field(
        default=Path("view-tokens.toml"),
        description="TOML file of sha256(token) -> name and role (see docs/control-view.md).",
    )
    view_session_secret: str | None = Field(
        default=None,
        min_length=16,
        description="Key that signs session cookies; empty: a random key per process "
        "(sessions then end when the view restarts).",
    )
    view_session_ttl_s: int = Field(default=12 * 3600, ge=60, le=30 * 86400)
    view_secure_cookie: bool = Field(
        default=False, description="Mark the session cookie Secure (serve behind HTTPS)."
    )
    view_sla_window_days: float = Field(default=30.0, gt=0, le=366)
    view_sla_deadline_hours: float = Field(default=72.0, gt=0, le=24 * 60)
    view_sla_target_percent: float = Field(
        default=90.0,
        gt=0,
        le=100,
        description="Red list at or above this compliance, black list below it.",
    )
    view_evidence_capacity: int = Field(default=100_000, ge=100, le=5_000_000)
    view_ring_size: int = Field(default=10_000, ge=10, le=1_000_000)
    view_public_url: str | None = Field(
        default=None,
        description="URL people open the view at (https://ops.city.example); a cookie-signed "
        "change is accepted with an Origin of this URL. `onenet view` defaults it to its address.",
    )
    view_cap_sender: str = Field(default="onenet-hub@city.invalid", min_length=3, max_length=200)
    view_max_body_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        le=1 << 30,
        description="Largest request body; larger ones are refused with 413 before being read.",
    )
