"""``schemas/README.md``: generated like the schemas, so its file list cannot go stale."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.events.types import EVENT_TYPES
from hub.schemas.layout import (
    ALERT_FILE,
    ASYNCAPI_FILE,
    COMMAND_FILE,
    DEADLETTER_FILE,
    ENVELOPE_FILE,
    GENERATED,
    KEY_OF_DOMAIN,
    event_file,
)
from hub.topics import Topics


def readme(docs: Mapping[str, dict[str, Any]]) -> str:
    topics = Topics()
    rows = []
    for event_type in sorted(EVENT_TYPES):
        domain = EVENT_TYPES[event_type].domain
        key = KEY_OF_DOMAIN[domain].split(":")[0]
        rows.append(
            f"| [`{event_file(event_type)}`]({event_file(event_type)}) | `{event_type}` "
            f"| `{topics.events(domain)}` | {key} |"
        )
    rows.append(
        f"| [`{ALERT_FILE}`]({ALERT_FILE}) | `city.alert.*` | `{topics.alerts}` | data.alert_id |"
    )
    rows.append(
        f"| [`{COMMAND_FILE}`]({COMMAND_FILE}) | a command on an alert (plain JSON) "
        f"| `{topics.commands}` | alert_id |"
    )
    rows.append(
        f"| [`{ENVELOPE_FILE}`]({ENVELOPE_FILE}) | any v1 event, before its type is known | | |"
    )
    rows.append(
        f"| [`{DEADLETTER_FILE}`]({DEADLETTER_FILE}) | headers of a dead-letter record "
        f"| `{topics.deadletter}` | the refused record's own |"
    )
    rows.append(
        f"| [`{ASYNCAPI_FILE}`]({ASYNCAPI_FILE}) | AsyncAPI 3.0: server, channels, keys, "
        "headers, messages, operations | every contract topic | |"
    )
    return f"""<!-- {GENERATED} -->
# schemas/: contract v1, machine-readable

Everything in this folder is generated from the pydantic models in `hub/events/` and
`hub/alerts/` by `onenet schemas export`. Do not edit it by hand: change the models, run
`onenet schemas export`, and commit the result with the change. The catalogue in words is
[docs/events.md](../docs/events.md).

| file | describes | topic | Kafka key |
|---|---|---|---|
{chr(10).join(rows)}

## The JSON Schemas

- Draft 2020-12, one self-contained file per message (its own `$defs`): a validator needs no
  registry and nothing is fetched from the network.
- Each event-type schema is the whole structured-mode CloudEvent: envelope attributes, `type`
  fixed to the event type, and the typed `data`. In binary mode the same `data` schema is the
  record value (`#/$defs/<Model>`), and the attributes travel as `ce_*` headers
  (`{ASYNCAPI_FILE}`, `components.schemas.binaryHeaders`).
- Each `$id` is `https://onenet.example/schemas/` followed by the file's path here, such as
  `{docs[ENVELOPE_FILE]["$id"]}`: the domain is reserved and never
  resolves, and an id maps to a file by a prefix swap.
- Patterns are ECMA-262 regular expressions, as JSON Schema requires (the models' Python-only
  `(?i)` flag is rewritten), so validators in any language accept them.
- An event schema is never stricter than the hub: what the hub accepts, the schema accepts.
  The hub checks a few things a schema cannot (calendar validity of times, the count of unknown
  fields when optional ones are absent, header byte limits); see docs/events.md.
- `alert.json` and `alert-command.json` describe what the hub writes and reads on the alert
  topics.

## Commands

```sh
onenet schemas export                      # regenerate this folder (prints what changed)
onenet schemas check                       # exit 1 if this folder differs from the models
onenet schemas compat --git-ref origin/main   # exit 1 on a breaking change since that ref
onenet schemas compat OLD_DIR [NEW_DIR]    # the same against a folder (e.g. the last release)
```

`tests/test_schemas.py` runs the drift check, so a model change without a regenerated folder
fails the tests. What counts as a breaking change, and how a v2 would be introduced, is in
docs/events.md ("Versioning and compatibility").

Validating an event in Python:

```python
import json, jsonschema
schema = json.load(open("schemas/v1/city.safety.hydrogen.reading.json"))
jsonschema.Draft202012Validator(schema).validate(event)
```
"""
