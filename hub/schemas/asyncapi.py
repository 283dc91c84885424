"""The AsyncAPI 3.0 document of contract v1: Kafka topics, keys, headers and messages.

Payloads reference the generated JSON Schema files (draft 2020-12, declared through a
``schemaFormat``) instead of copying them, so there is one schema per message and the document
stays readable. Topic names are the defaults (prefix ``onenet``); the prefix is a deployment
setting, said once in the channel descriptions rather than made a channel parameter, so code
generators see plain topic names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import yaml

from hub.alerts.model import ALERT_EVENT_TYPES
from hub.events import CONTENT_TYPE_STRUCTURED, parse_structured, to_binary
from hub.events.types import EVENT_TYPES
from hub.kafka import contract_topics
from hub.schemas.examples import EVENT_EXAMPLES, alert_example, command_example
from hub.schemas.layout import (
    ALERT_FILE,
    COMMAND_FILE,
    DEADLETTER_FILE,
    ENVELOPE_FILE,
    GENERATED,
    KEY_OF_DOMAIN,
    RFC3339_PATTERN,
    event_file,
)
from hub.settings import Settings
from hub.topics import DOMAINS, Topics

ASYNCAPI_VERSION = "3.0.0"
CONTRACT_VERSION = "1.0.0"
KAFKA_BINDING = "0.5.0"
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
#: The data field each events topic is keyed by (security is keyed by an H3 cell instead).
KEY_FIELD = {"safety": "site_id", "service": "request_id"}

_TOPICS = Topics()
_CHANNEL_OF_DOMAIN = {d: f"{d}Events" for d in DOMAINS}


def _ref(pointer: str) -> dict[str, str]:
    return {"$ref": pointer}


def _payload(file: str, pointer: str = "") -> dict[str, Any]:
    return {"schemaFormat": SCHEMA_FORMAT, "schema": _ref(f"./{file}{pointer}")}


def _kafka_key(schema: dict[str, Any]) -> dict[str, Any]:
    return {"kafka": {"bindingVersion": KAFKA_BINDING, "key": schema}}


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """A header or key schema from a model property: never null, no pydantic titles."""
    for branch in schema.get("anyOf", ()):
        if branch.get("type") != "null":
            schema = branch
    return {k: v for k, v in schema.items() if k not in ("title", "default")}


def _binary_headers(envelope: dict[str, Any]) -> dict[str, Any]:
    """CloudEvents Kafka binding: one ``ce_<attribute>`` header per attribute, and
    ``datacontenttype`` as ``content-type``; every header value is a UTF-8 string."""
    properties: dict[str, Any] = {}
    for name, schema in envelope["properties"].items():
        if name == "data":
            continue
        header = "content-type" if name == "datacontenttype" else f"ce_{name}"
        plain = _plain(schema)
        if name == "time":
            plain = {"pattern": RFC3339_PATTERN, "type": "string"}
        properties[header] = plain
    return {
        "type": "object",
        "description": (
            "Binary mode: the envelope attributes as headers, the value is `data` alone. "
            "Extension attributes travel as further ce_<name> headers; integer and boolean "
            "ones arrive as strings. Header names are read case-insensitively."
        ),
        "properties": properties,
        "required": [f"ce_{name}" for name in envelope["required"] if name != "data"],
        "additionalProperties": True,
    }


def _structured_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "content-type": {
                "description": (
                    "application/cloudevents+json, optionally with a charset. A record with "
                    "neither this nor a ce_specversion header is read as structured too."
                ),
                "examples": [CONTENT_TYPE_STRUCTURED],
                "type": "string",
            }
        },
    }


def _event_messages(docs: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    messages: dict[str, dict[str, Any]] = {}
    for event_type in sorted(EVENT_TYPES):
        model = EVENT_TYPES[event_type]
        doc = docs[event_file(event_type)]
        data_def = model.__name__
        if model.domain in KEY_FIELD:
            key = _plain(doc["$defs"][data_def]["properties"][KEY_FIELD[model.domain]])
        else:
            key = {"pattern": "^[0-9a-f]{15}$", "type": "string"}
        key["description"] = KEY_OF_DOMAIN[model.domain]
        example = EVENT_EXAMPLES[event_type]
        value, headers = to_binary(parse_structured(orjson.dumps(example)))
        messages[f"{event_type}.structured"] = {
            "name": event_type,
            "title": f"{event_type} (structured mode)",
            "summary": doc["description"],
            "contentType": "application/cloudevents+json",
            "headers": _structured_headers(),
            "payload": _payload(event_file(event_type)),
            "bindings": _kafka_key(key),
            "examples": [
                {
                    "name": "example",
                    "headers": {"content-type": CONTENT_TYPE_STRUCTURED},
                    "payload": example,
                }
            ],
        }
        messages[f"{event_type}.binary"] = {
            "name": event_type,
            "title": f"{event_type} (binary mode)",
            "summary": f"{event_type} with its envelope in ce_* headers; the value is `data`.",
            "contentType": "application/json",
            "headers": {
                "allOf": [
                    _ref("#/components/schemas/binaryHeaders"),
                    {"properties": {"ce_type": {"const": event_type, "type": "string"}}},
                ]
            },
            "payload": _payload(event_file(event_type), f"#/$defs/{data_def}"),
            "bindings": _kafka_key(dict(key)),
            "examples": [
                {
                    "name": "example",
                    "headers": {name: raw.decode() for name, raw in headers},
                    "payload": orjson.loads(value),
                }
            ],
        }
    return messages


def _site_schema() -> dict[str, Any]:
    from hub.reference.model import Site

    schema = Site.model_json_schema()
    schema.pop("title", None)
    return schema


def site_example() -> dict[str, Any]:
    return {
        "id": "H2-ST-03",
        "kind": "hydrogen-station",
        "name_zh": "金州加氢站3号",
        "name_en": "Jinzhou H2 station 3",
        "address": "金州区金马路1号",
        "district": "210213",
        "lat": 39.098,
        "lon": 121.715,
    }


def asyncapi_document(docs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The document as plain data; ``docs`` are the generated JSON Schemas by relative path."""
    topic_configs: dict[str, dict[str, Any]] = {
        spec.name: {
            k: int(v) if k == "retention.ms" else v
            for k, v in spec.configs.items()
            if k in ("retention.ms", "cleanup.policy")
        }
        for spec in contract_topics(Settings.model_construct())  # defaults, never the env
    }
    event_messages = _event_messages(docs)
    alert_key = _plain(docs[ALERT_FILE]["$defs"]["Alert"]["properties"]["alert_id"])
    alert_key["description"] = "data.alert_id: every change of one alert lands in order"
    messages: dict[str, Any] = {
        **event_messages,
        "alert": {
            "name": "city.alert",
            "title": "Alert state change",
            "summary": docs[ALERT_FILE]["description"],
            "contentType": "application/cloudevents+json",
            "payload": _payload(ALERT_FILE),
            "bindings": _kafka_key(alert_key),
            "examples": [{"name": "firing", "payload": alert_example()}],
        },
        "alertCommand": {
            "name": "alert.command",
            "title": "Alert command",
            "summary": docs[COMMAND_FILE]["description"],
            "contentType": "application/json",
            "payload": _payload(COMMAND_FILE),
            "bindings": _kafka_key(dict(alert_key, description="alert_id: the alert it acts on")),
            "examples": [{"name": "acknowledge", "payload": command_example()}],
        },
        "deadLetter": {
            "name": "deadletter",
            "title": "Dead letter",
            "summary": docs[DEADLETTER_FILE]["description"],
            "contentType": "application/octet-stream",
            "headers": _payload(DEADLETTER_FILE),
            "payload": {
                "description": "The refused record's value, byte for byte (it may not even be "
                "UTF-8), so that a fixed record can be replayed as it was."
            },
            "bindings": _kafka_key(
                {"description": "The refused record's key, unchanged (it may be absent)."}
            ),
        },
        "site": {
            "name": "reference.site",
            "title": "Site (reference data, v1.2)",
            "summary": "One site of the gazetteer: what events name by id, in words and on the "
            "map. An empty value (a tombstone) deletes the site.",
            "contentType": "application/json",
            "payload": _site_schema(),
            "bindings": _kafka_key({"type": "string", "description": "The site's id."}),
            "examples": [{"name": "hydrogen-station", "payload": site_example()}],
        },
    }

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    def channel(
        channel_id: str, topic: str, description: str, message_ids: list[str], roles: list[str]
    ) -> None:
        channels[channel_id] = {
            "address": topic,
            "title": topic,
            "description": description
            + " The `onenet` prefix is ONENET_TOPIC_PREFIX and may differ per deployment.",
            "messages": {m: _ref(f"#/components/messages/{m}") for m in message_ids},
            "bindings": {
                "kafka": {
                    "bindingVersion": KAFKA_BINDING,
                    "topic": topic,
                    "topicConfiguration": topic_configs[topic],
                }
            },
        }
        for action, summary in zip(("send", "receive"), roles, strict=True):
            operations[f"{action}{channel_id[0].upper()}{channel_id[1:]}"] = {
                "action": action,
                "channel": _ref(f"#/channels/{channel_id}"),
                "summary": summary,
                "messages": [_ref(f"#/channels/{channel_id}/messages/{m}") for m in message_ids],
            }

    for domain in DOMAINS:
        ids = [m for m in event_messages if EVENT_TYPES[m.rsplit(".", 1)[0]].domain == domain]
        channel(
            _CHANNEL_OF_DOMAIN[domain],
            _TOPICS.events(domain),
            f"Contract v1 {domain} events (CloudEvents, JSON), structured or binary mode. "
            f"Key: {KEY_OF_DOMAIN[domain]}.",
            ids,
            [
                "Connectors and `onenet publish` produce validated events; a record they "
                f"refuse goes to {_TOPICS.deadletter} instead.",
                "Correlation workers (`onenet worker`) consume them; a record they refuse "
                f"goes to {_TOPICS.deadletter} with the reason in its headers.",
            ],
        )
    channel(
        "alerts",
        _TOPICS.alerts,
        "Alert state changes (" + ", ".join(ALERT_EVENT_TYPES.values()) + "), keyed by "
        "alert_id; the event-sourced record of every alert.",
        ["alert"],
        [
            "Correlation workers announce every change of an alert episode, and the lifecycle "
            "agent every change people cause; ids are deterministic, so a change re-sent "
            "after a restart is the same record.",
            "The control view, the lifecycle agent and `onenet alerts tail` follow the alerts.",
        ],
    )
    channel(
        "alertCommands",
        _TOPICS.commands,
        "Commands on alerts (acknowledge, resolve, comment, assign), keyed by alert_id.",
        ["alertCommand"],
        [
            "The control view sends people's commands; the workers' acknowledgement timer "
            "sends escalate-unacknowledged.",
            "The lifecycle agent in the workers applies them, or dead-letters the ones it "
            "refuses with the reason.",
        ],
    )
    channel(
        "deadLetter",
        _TOPICS.deadletter,
        "Refused records: original key and bytes, the reason in onenet_dlq_* headers. Nothing "
        "is dropped silently.",
        ["deadLetter"],
        [
            "Workers, `onenet publish` and connectors dead-letter what they refuse.",
            "Operators' tools read them to fix and replay.",
        ],
    )
    channel(
        "referenceSites",
        _TOPICS.sites,
        "Reference data (contract v1.2): one record per site, keyed by its id, compacted.",
        ["site"],
        [
            "`onenet reference load` validates a CSV or GeoJSON file and sends every site.",
            "Workers and the control view read the whole topic at start, then follow it, to "
            "name sites and districts in alert text.",
        ],
    )

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "OneNet Hub",
            "version": CONTRACT_VERSION,
            "description": (
                "Public contract v1 of the OneNet city-operations hub: department systems' "
                "events in, city-operation alerts out, over Kafka. Envelope: CloudEvents 1.0 "
                f"({ENVELOPE_FILE}); payload schemas are the JSON Schema files beside this "
                "document. " + GENERATED
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "kafka": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "The Kafka cluster (KRaft); set KAFKA_BOOTSTRAP_SERVERS.",
                "variables": {
                    "bootstrap": {
                        "default": "localhost:9092",
                        "description": "host:port of a bootstrap server.",
                    }
                },
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {"binaryHeaders": _binary_headers(docs[ENVELOPE_FILE])},
        },
    }


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors: shared objects (the examples' location) are written out in
    full, so every part of the document reads on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(doc: Mapping[str, Any]) -> str:
    body = yaml.dump(
        dict(doc),
        Dumper=_Dumper,
        sort_keys=True,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return f"# {GENERATED}\n{body}"
