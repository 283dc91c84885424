"""Helpers for Kafka records as Faust hands them over."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def header_list(headers: Any) -> list[tuple[str, bytes]]:
    """Faust passes headers as a list of pairs or a mapping, depending on the path: normalise."""
    if not headers:
        return []
    items: Iterable[tuple[Any, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    out: list[tuple[str, bytes]] = []
    for k, v in items:
        name = k.decode() if isinstance(k, bytes) else str(k)
        value = v if isinstance(v, bytes) else str(v).encode()
        out.append((name, value))
    return out
