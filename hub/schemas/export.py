"""Render every generated file of the ``schemas/`` folder as text: the JSON Schemas, the
AsyncAPI document and the README, from the builders in `generate`, `asyncapi` and `readme`.

Output is deterministic (sorted keys, two-space indent, one trailing newline), because the drift
check compares bytes.
"""

from __future__ import annotations

import json
from typing import Any

from hub.schemas.asyncapi import asyncapi_document, dump_yaml
from hub.schemas.generate import schema_documents
from hub.schemas.layout import ASYNCAPI_FILE, README_FILE
from hub.schemas.readme import readme


def dump_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_files() -> dict[str, str]:
    """Every generated file of the schemas folder: relative path -> exact text."""
    docs = schema_documents()
    files = {path: dump_json(doc) for path, doc in docs.items()}
    files[ASYNCAPI_FILE] = dump_yaml(asyncapi_document(docs))
    files[README_FILE] = readme(docs)
    return dict(sorted(files.items()))
