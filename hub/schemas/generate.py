"""Build the JSON Schemas of contract v1 from the pydantic models (`export` renders them as
the files of the ``schemas/`` folder).

Identifiers: each schema's ``$id`` is ``https://onenet.example/schemas/v1/<name>.json``. It is
an absolute URI, because JSON Schema 2020-12 resolves references against ``$id`` and a URN has
no path to resolve a relative reference against; the host is under ``.example`` (reserved by
RFC 2606), so no tool can ever fetch anything from it and no one else can own it; and the path
mirrors the repository layout (``schemas/v1/<name>.json``), so mapping an id to a checked-in
file is a prefix swap. Nothing here touches the network: every schema is self-contained (its
own ``$defs``), so it validates without a registry.

Where a model enforces a rule in Python that pydantic cannot describe (the RFC 3339 zone
requirement, the limits on unknown fields and extension attributes, ``district`` being required
when a service request has no location), this module adds the JSON Schema equivalent. The rule
for every such addition: an event schema may be looser than the hub's validation, never
stricter, so an event that passes the hub never fails a schema check. The alert and command
schemas describe what the hub itself writes and reads on the alert topics.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from hub.alerts.cloudevent import ALERT_SOURCE
from hub.alerts.lifecycle import LIFECYCLE_SOURCE, Command
from hub.alerts.model import ALERT_EVENT_TYPES, Alert
from hub.events.deadletter import (
    MAX_DETAIL_BYTES,
    MAX_RECORD_BYTES,
    ORIGINAL_SHA256_HEADER,
    ORIGINAL_SIZE_HEADER,
    RULE_HEADER,
    TRUNCATED_BYTES,
)
from hub.events.deadletter import PREFIX as DLQ_PREFIX
from hub.events.encode import CONTENT_TYPE_STRUCTURED

# Private names on purpose: the schema must mirror exactly the limits the validators apply.
from hub.events.envelope import _EXTENSION_NAME, _INT32, MAX_EXTENSION_TEXT, CloudEvent
from hub.events.errors import Reason
from hub.events.fields import _EXTRA_NAME, MAX_EXTRA_FIELDS, MAX_EXTRA_TEXT
from hub.events.types import EVENT_TYPES, EventData, Location
from hub.schemas.examples import EVENT_EXAMPLES, alert_example, command_example
from hub.schemas.layout import (
    ALERT_FILE,
    COMMAND_FILE,
    DEADLETTER_FILE,
    DIALECT,
    ENVELOPE_FILE,
    GENERATED,
    KEY_OF_DOMAIN,
    RFC3339_PATTERN,
    event_file,
    schema_id,
)
from hub.topics import Topics

#: Dead-letter reasons besides :class:`hub.events.errors.Reason`: the correlation worker's own
#: refusal, and the lifecycle agent's refusals of alert commands (``hub.alerts.lifecycle``).
WORKER_REASONS = ("late-event", "processing-error")
COMMAND_REASONS = (
    "invalid-command",
    "unknown-alert",
    "forbidden",
    "already-acknowledged",
    "already-resolved",
    "note-required",
    "department-required",
    "not-needed",
)
DEADLETTER_REASONS = (*(r.value for r in Reason), *WORKER_REASONS, *COMMAND_REASONS)

_TOPICS = Topics()


class EventJsonSchema(GenerateJsonSchema):
    """pydantic's generator plus the input rules the event models check in Python validators."""

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        # Every datetime of the event models is an Rfc3339Time; pydantic sees only `datetime`.
        out = super().datetime_schema(schema)
        out["pattern"] = RFC3339_PATTERN
        return out

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        out = super().model_schema(schema)
        cls = schema["cls"]
        if issubclass(cls, EventData | Location):
            _limit_extra_fields(out, cls)
        elif issubclass(cls, CloudEvent):
            _limit_extensions(out)
        return out


def _limit_extra_fields(out: JsonSchemaValue, cls: type[BaseModel]) -> None:
    """Mirror ``check_extra_fields``: unknown data fields are small named scalars."""
    names = f"^{_EXTRA_NAME.pattern}$"
    _check_declared_names(out, names, cls.__name__)
    out["additionalProperties"] = {
        "type": ["string", "number", "boolean", "null"],
        "maxLength": MAX_EXTRA_TEXT,
    }
    out["propertyNames"] = {"pattern": names}
    # Declared fields plus the extras limit: an upper bound, looser when optional ones are absent.
    out["maxProperties"] = len(out.get("properties", {})) + MAX_EXTRA_FIELDS


def _limit_extensions(out: JsonSchemaValue) -> None:
    """Mirror ``check_extensions``: CloudEvents extension names and attribute types.

    The hub drops null attributes before it checks names, so a badly named attribute is fine
    when null: named ones get the value rules (``patternProperties``), any other undeclared
    name only null. The pattern leaves out the declared ``data``, the one attribute whose value
    the extension rules would refuse. The count limit is left out for the same null-dropping
    reason: a ``maxProperties`` would reject documents the hub accepts.
    """
    if _EXTENSION_NAME.pattern != "[a-z0-9]{1,20}":
        raise ValueError("the extension name rule changed; update _limit_extensions")
    _check_declared_names(out, f"^{_EXTENSION_NAME.pattern}$", "CloudEvent")
    value = {
        "type": ["string", "integer", "boolean", "null"],
        "maxLength": MAX_EXTENSION_TEXT,
        "minimum": -_INT32,
        "maximum": _INT32 - 1,
    }
    # Declared attributes that the value rules would refuse must stay out of the pattern. (The
    # strings without a maxLength, specversion, time and district, are bounded by their
    # const or pattern.)
    clash = [
        name
        for name, schema in out["properties"].items()
        if _types_of(schema) - {"string", "integer", "boolean", "null"}
        or _max_length(schema) > MAX_EXTENSION_TEXT
    ]
    if clash != ["data"]:
        raise ValueError(f"declared attributes {clash} clash with the extension value rules")
    out["patternProperties"] = {names_except("data", 20): value}
    out["additionalProperties"] = {"type": "null"}


def _types_of(schema: dict[str, Any]) -> set[str]:
    branches = schema.get("anyOf", [schema])
    return {str(b.get("type")) for b in branches}


def _max_length(schema: dict[str, Any]) -> int:
    branches = schema.get("anyOf", [schema])
    return max(int(b.get("maxLength", 0)) for b in branches)


_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def names_except(word: str, longest: int) -> str:
    """A pattern for names of 1-``longest`` lowercase letters or digits other than ``word``.

    Written without lookahead, which the regex engines of Go and Rust validators lack: names of
    another length, or of the same length that first differ from ``word`` at position i.
    """
    any_char = "[a-z0-9]"
    n = len(word)
    parts = []
    if n > 1:
        parts.append(f"{any_char}{{1,{n - 1}}}")
    if n < longest:
        parts.append(f"{any_char}{{{n + 1},{longest}}}")
    for i, char in enumerate(word):
        rest = n - i - 1
        tail = f"{any_char}{{{rest}}}" if rest > 1 else any_char * rest
        parts.append(word[:i] + _class_without(char) + tail)
    return "^(?:" + "|".join(parts) + ")$"


def _class_without(char: str) -> str:
    members = [c for c in _ALPHABET if c != char]
    runs: list[list[str]] = []
    for c in members:
        if runs and ord(c) == ord(runs[-1][-1]) + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    return "[" + "".join(r[0] if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs) + "]"


def _check_declared_names(out: JsonSchemaValue, pattern: str, owner: str) -> None:
    # propertyNames constrains declared properties too; a declared one must never fail it.
    bad = [name for name in out.get("properties", {}) if not re.search(pattern, name)]
    if bad:
        raise ValueError(f"{owner}: declared fields {bad} do not match {pattern}")


def _model_schema(model: type[BaseModel], generator: type[GenerateJsonSchema]) -> dict[str, Any]:
    return model.model_json_schema(schema_generator=generator, ref_template="#/$defs/{model}")


def _envelope(description: str) -> dict[str, Any]:
    schema = _model_schema(CloudEvent, EventJsonSchema)
    assert "$defs" not in schema, "the envelope is expected to need no definitions"
    schema.pop("title", None)
    schema["description"] = description
    return schema


def _finish(name: str, title: str, body: dict[str, Any]) -> dict[str, Any]:
    doc = {**body, "$schema": DIALECT, "$id": schema_id(name), "$comment": GENERATED}
    doc["title"] = title
    converted: dict[str, Any] = _ecma_patterns(doc)
    return converted


def requires_district_without_location(model: type[EventData]) -> bool:
    """Whether the model overrides ``requires_district`` (the service request opening does:
    without a location it needs the envelope's district); the tests pin the condition."""
    return model.requires_district is not EventData.requires_district


def event_type_schema(event_type: str) -> dict[str, Any]:
    """A full structured-mode CloudEvent of one type: envelope, ``type`` const, typed data."""
    model = EVENT_TYPES[event_type]
    data = _model_schema(model, EventJsonSchema)
    defs: dict[str, Any] = data.pop("$defs", {})
    defs[model.__name__] = data
    topic = _TOPICS.events(model.domain)
    body = _envelope(
        f"A {event_type} event of contract v1: a CloudEvents 1.0 document in structured mode "
        f"(in binary mode the envelope attributes travel as ce_* headers and the value is "
        f"`data`). Topic {topic}; Kafka key {KEY_OF_DOMAIN[model.domain]}."
    )
    body["properties"]["type"] = {"const": event_type, "title": "Type", "type": "string"}
    body["properties"]["data"] = {"$ref": f"#/$defs/{model.__name__}"}
    body["$defs"] = defs
    if requires_district_without_location(model):
        body["if"] = {"properties": {"data": {"properties": {"location": {"type": "null"}}}}}
        body["then"] = {
            "description": "Without data.location the envelope must carry `district`: the "
            "rules can then only place the event by district.",
            "properties": {"district": {"type": "string"}},
            "required": ["district"],
        }
    body["examples"] = [EVENT_EXAMPLES[event_type]]
    return _finish(event_type, event_type, body)


def envelope_schema() -> dict[str, Any]:
    """The bare envelope: what every v1 event satisfies before its ``type`` is looked up."""
    body = _envelope(
        "The CloudEvents 1.0 envelope of every contract v1 event (structured mode), with the "
        "hub's required `time` and its `district` extension. `data` is checked by the schema "
        "of the event's `type`."
    )
    body["examples"] = [EVENT_EXAMPLES["city.safety.hydrogen.reading"]]
    return _finish("envelope", "CloudEvent envelope", body)


def alert_schema() -> dict[str, Any]:
    """An alert state change on the alerts topic (the hub produces it; consumers validate it)."""
    data = _model_schema(Alert, GenerateJsonSchema)
    defs: dict[str, Any] = data.pop("$defs", {})
    defs["Alert"] = data
    body = _envelope(
        f"An alert state change of contract v1 on {_TOPICS.alerts}, keyed by alert_id: a "
        "CloudEvents 1.0 document in structured mode whose `subject` and key are the alert_id "
        "and whose `data` is the alert as it now stands. `source` says who changed it: "
        f"{ALERT_SOURCE} (the rules) or {LIFECYCLE_SOURCE} (people's commands, timers)."
    )
    body["properties"]["type"] = {
        "enum": list(ALERT_EVENT_TYPES.values()),
        "title": "Type",
        "type": "string",
    }
    body["properties"]["data"] = {"$ref": "#/$defs/Alert"}
    body["$defs"] = defs
    body["examples"] = [alert_example()]
    return _finish("alert", "city.alert.*", body)


def alert_command_schema() -> dict[str, Any]:
    """A command on the commands topic: plain JSON (not a CloudEvent), as the lifecycle agent
    reads it."""
    body = _model_schema(Command, GenerateJsonSchema)
    body.pop("title", None)
    body["description"] = (
        f"A command on {_TOPICS.commands}, keyed by alert_id: plain JSON, not a CloudEvent. "
        "People send acknowledge, resolve (with a note), comment (with a note) and assign (with "
        "a department); the hub itself sends escalate-unacknowledged. A command the lifecycle "
        f"agent refuses goes to {_TOPICS.deadletter} with the reason."
    )
    body["examples"] = [command_example()]
    return _finish("alert-command", "alert command", body)


def deadletter_headers_schema() -> dict[str, Any]:
    """The headers of a dead-letter record, as a JSON object of UTF-8 header values."""
    codes = ", ".join(DEADLETTER_REASONS)
    count = {"pattern": "^[0-9]+$", "type": "string"}
    body: dict[str, Any] = {
        "description": (
            f"Headers of a record on {_TOPICS.deadletter}. The key and value are the refused "
            "record's own, byte for byte; its original headers are kept (minus stale "
            f"{DLQ_PREFIX}* ones from an earlier trip) and the hub adds these {DLQ_PREFIX}* "
            "headers, each a UTF-8 string."
        ),
        "type": "object",
        "properties": {
            f"{DLQ_PREFIX}reason": {
                "description": (
                    f"Stable kebab-case code. The hub's: {codes}. Connectors may add their "
                    "own codes (such as mapping-failed), so consumers must accept unknown ones."
                ),
                "examples": list(DEADLETTER_REASONS),
                "maxLength": 64,
                "pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$",
                "type": "string",
            },
            f"{DLQ_PREFIX}detail": {
                "description": (
                    "One line naming the field, the offending value and the fix; at most "
                    f"{MAX_DETAIL_BYTES} UTF-8 bytes."
                ),
                "type": "string",
            },
            f"{DLQ_PREFIX}source_topic": {
                "description": "The topic the record was read from (absent for records a "
                "producer refused before sending).",
                "type": "string",
            },
            f"{DLQ_PREFIX}partition": {**count, "description": "Its partition, in decimal."},
            f"{DLQ_PREFIX}offset": {**count, "description": "Its offset, in decimal."},
            f"{DLQ_PREFIX}connector": {
                "description": "Who refused it before it reached a topic: a connector's "
                "name, or publish:<file>:<line> for `onenet publish`.",
                "type": "string",
            },
            f"{DLQ_PREFIX}time": {
                "description": "When it was refused (RFC 3339, UTC).",
                "pattern": RFC3339_PATTERN,
                "type": "string",
            },
            RULE_HEADER: {
                "description": "The correlation rule that refused it (late-event, "
                "processing-error).",
                "type": "string",
            },
            ORIGINAL_SIZE_HEADER: {
                **count,
                "description": f"Only on a truncated copy: a record over {MAX_RECORD_BYTES} "
                f"bytes is dead-lettered as its first {TRUNCATED_BYTES} bytes, and this is "
                "the original value's size in bytes.",
            },
            ORIGINAL_SHA256_HEADER: {
                "description": "Only on a truncated copy: the SHA-256 of the original "
                "value, in lowercase hex.",
                "pattern": "^[0-9a-f]{64}$",
                "type": "string",
            },
        },
        "required": [f"{DLQ_PREFIX}reason", f"{DLQ_PREFIX}detail", f"{DLQ_PREFIX}time"],
        "additionalProperties": True,
        "examples": [
            {
                "content-type": CONTENT_TYPE_STRUCTURED,
                f"{DLQ_PREFIX}reason": "invalid-data",
                f"{DLQ_PREFIX}detail": "data.h2_ppm: must be >= 0 (got -3.0)",
                f"{DLQ_PREFIX}source_topic": _TOPICS.safety,
                f"{DLQ_PREFIX}partition": "2",
                f"{DLQ_PREFIX}offset": "1187",
                f"{DLQ_PREFIX}time": "2024-05-01T00:30:01Z",
            }
        ],
    }
    return _finish("deadletter-headers", "dead-letter headers", body)


def schema_documents() -> dict[str, dict[str, Any]]:
    """Every JSON Schema file, by path relative to the schemas folder, in a stable order."""
    docs = {event_file(t): event_type_schema(t) for t in sorted(EVENT_TYPES)}
    docs[ENVELOPE_FILE] = envelope_schema()
    docs[ALERT_FILE] = alert_schema()
    docs[COMMAND_FILE] = alert_command_schema()
    docs[DEADLETTER_FILE] = deadletter_headers_schema()
    return docs


# --- patterns every JSON Schema tool understands -------------------------------------------

_INLINE_FLAGS = re.compile(r"\(\?[A-Za-z]")


def ecma_pattern(pattern: str) -> str:
    """Rewrite a leading ``(?i)`` (Python and Rust only) into ECMA-262 character classes.

    JSON Schema patterns are ECMA-262 regular expressions; validators in other languages (ajv,
    for one) refuse the whole schema on an inline flag. Letters become ``[aA]`` and classes gain
    their other-case ranges, which matches the same strings. Other inline flags are refused so
    that a new pattern cannot slip through unconverted.
    """
    caseless = pattern.startswith("(?i)")
    body = pattern[4:] if caseless else pattern
    if _INLINE_FLAGS.search(body):
        raise ValueError(f"pattern {pattern!r}: inline flags other than a leading (?i)")
    if not caseless:
        return pattern
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            out.append(body[i : i + 2])
            i += 2
        elif char == "[":
            end, members = _class_members(body, i + 1)
            # Added members go first, so that a literal "-" stays last and never forms a range.
            out.append("[" + "".join(_other_case(members) + members) + "]")
            i = end + 1
        elif char.isascii() and char.isalpha():
            out.append(f"[{char.lower()}{char.upper()}]")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _class_members(body: str, start: int) -> tuple[int, list[str]]:
    members: list[str] = []
    i = start
    if body[i : i + 1] == "^":
        raise ValueError("negated classes under (?i) are not supported")
    while body[i] != "]":
        token = body[i : i + 2] if body[i] == "\\" else body[i]
        i += len(token)
        if body[i : i + 1] == "-" and body[i + 1 : i + 2] not in ("]", ""):
            upper = body[i + 1 : i + 3] if body[i + 1] == "\\" else body[i + 1]
            token = f"{token}-{upper}"
            i += 1 + len(upper)
        members.append(token)
    return i, members


def _other_case(members: list[str]) -> list[str]:
    extra: list[str] = []
    for member in members:
        if member.startswith("\\"):
            continue
        swapped = member.swapcase()
        letters = [c for c in member if c != "-"]
        if all(c.isascii() and c.isalpha() for c in letters) and swapped not in members:
            extra.append(swapped)
    return extra


def _ecma_patterns(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: ecma_pattern(value)
            if key == "pattern" and isinstance(value, str)
            else _ecma_patterns(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_ecma_patterns(item) for item in node]
    return node
