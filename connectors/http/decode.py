"""A request body as candidate events, per the CloudEvents HTTP binding's three modes.

Structured (`application/cloudevents+json`, one event), batched
(`application/cloudevents-batch+json`, a JSON array) and binary (`ce-*` headers, the body is
`data`). The mode follows the content type first, as the binding says; only then do `ce-*`
headers mean binary mode. Candidates are not validated here: the runner does that, so HTTP
input is held to exactly the rules of every other connector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

import orjson

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
_JSON_TYPES = ("application/json", "text/json")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One event of a request: `raw` is what a dead letter keeps, `source` what it claims."""

    index: int
    raw: bytes
    source: str | None
    problem: tuple[str, str] | None = None


class RequestRefused(Exception):
    """The request as a whole cannot be taken; `status` and a reason code say why."""

    def __init__(self, status: int, reason: str, detail: str, *, dead_letter: bool = False):
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        #: whether the body is bad input worth keeping (not a protocol mistake such as 415)
        self.dead_letter = dead_letter


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_binary(headers: Sequence[tuple[str, str]]) -> bool:
    return any(name.lower() == "ce-specversion" for name, _ in headers)


Mode = Literal["structured", "batch", "binary"]


def mode_of(content_type: str | None, headers: Sequence[tuple[str, str]]) -> Mode:
    """Which mode a request is in, from its headers alone; RequestRefused (415) if none."""
    kind = media_type(content_type)
    if kind == STRUCTURED:
        return "structured"
    if kind == BATCH:
        return "batch"
    if is_binary(headers):
        if not (kind in _JSON_TYPES or kind.endswith("+json")):
            raise RequestRefused(
                415,
                "unsupported-media-type",
                f"binary-mode data must be JSON (Content-Type: application/json), "
                f"got {kind or '(none)'!r}",
            )
        return "binary"
    raise RequestRefused(
        415,
        "unsupported-media-type",
        f"content type {kind or '(none)'!r} is not accepted; send {STRUCTURED} (one event), "
        f"{BATCH} (a JSON array), or binary mode (ce-* headers with a JSON body)",
    )


def decode(
    mode: Mode,
    content_type: str | None,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    max_batch: int,
) -> list[Candidate]:
    """Split a request into candidates, or raise RequestRefused for the whole of it."""
    if mode == "structured":
        return [Candidate(0, body, _source_of(body))]
    if mode == "batch":
        return _batch(body, max_batch)
    return [_binary(content_type or "", headers, body)]


def _source_of(raw: bytes) -> str | None:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    source = document.get("source") if isinstance(document, dict) else None
    return source if isinstance(source, str) else None


def _batch(body: bytes, max_batch: int) -> list[Candidate]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRefused(
            400, "invalid-json", f"the batch is not valid JSON: {exc}", dead_letter=True
        ) from None
    if not isinstance(document, list):
        raise RequestRefused(
            400,
            "invalid-batch",
            f"a batch must be a JSON array of events, got {type(document).__name__}",
            dead_letter=True,
        )
    if not document:
        raise RequestRefused(422, "empty-batch", "the batch is empty; send at least one event")
    if len(document) > max_batch:
        raise RequestRefused(
            422,
            "batch-too-large",
            f"the batch has {len(document)} events, over the limit of {max_batch}; "
            "split it into smaller batches",
        )
    out = []
    for index, item in enumerate(document):
        source = item.get("source") if isinstance(item, dict) else None
        out.append(
            Candidate(index, orjson.dumps(item), source if isinstance(source, str) else None)
        )
    return out


def _binary(content_type: str, headers: Sequence[tuple[str, str]], body: bytes) -> Candidate:
    attributes: dict[str, Any] = {}
    duplicate: str | None = None
    for name, value in headers:
        lowered = name.lower()
        if not lowered.startswith("ce-") or len(lowered) == 3:
            continue
        attribute = lowered[3:]
        if attribute in attributes:
            duplicate = name
        # The HTTP binding percent-encodes what a header value cannot carry as is.
        attributes[attribute] = unquote(value)
    attributes["datacontenttype"] = content_type
    source = attributes.get("source")
    if duplicate is not None:
        return Candidate(
            0,
            body,
            source,
            ("invalid-envelope", f"header {duplicate!r} appears twice; send it once"),
        )
    if not body:
        return Candidate(
            0, body, source, ("empty", "binary mode needs the event's data as the body")
        )
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return Candidate(0, body, source, ("invalid-json", f"the body is not valid JSON: {exc}"))
    # As a structured event, so a dead letter of it can be fixed and re-published as is.
    return Candidate(0, orjson.dumps({**attributes, "data": data}), source)
