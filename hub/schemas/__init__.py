"""Machine-readable contract v1: JSON Schemas and an AsyncAPI document generated from the
pydantic models, a drift check, and a backward-compatibility checker.

The models in :mod:`hub.events` and :mod:`hub.alerts` stay the single source of truth; the
files under ``schemas/`` are derived from them so that other departments' systems (in any
language) can validate and generate code without reading Python.
"""

from hub.schemas.compat import SchemaChange, compare_schemas, compare_sets
from hub.schemas.export import render_files

__all__ = ["SchemaChange", "compare_schemas", "compare_sets", "render_files"]
