"""Which fields an event type has: what rule filters and alert templates may name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import BaseModel

from hub.events import EVENT_TYPES

#: what every fact answers besides its data (`Fact.get`)
ENVELOPE_PATHS = frozenset({"district", "type"})


def data_fields(event_type: str) -> frozenset[str] | None:
    """Top-level data fields of a contract type; None for a type the hub does not define."""
    model = EVENT_TYPES.get(event_type)
    return None if model is None else frozenset(model.model_fields)


def filter_paths(event_type: str) -> frozenset[str] | None:
    """Paths a `where` condition can test: data fields, `location.lat`/`.lon`, envelope."""
    model = EVENT_TYPES.get(event_type)
    if model is None:
        return None
    paths = set(ENVELOPE_PATHS)
    for name, info in model.model_fields.items():
        paths.add(name)
        nested = info.annotation
        for candidate in getattr(nested, "__args__", (nested,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                paths.update(f"{name}.{sub}" for sub in candidate.model_fields)
    return frozenset(paths)


def fields_of(types: Iterable[str]) -> set[str] | None:
    """Data fields of any of `types`; None when one of them is not a contract type."""
    out: set[str] = set()
    for t in types:
        fields = data_fields(t)
        if fields is None:
            return None
        out |= fields
    return out - {"location"}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""
