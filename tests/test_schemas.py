"""schemas/: drift from the models, agreement with the hub's validation, the compatibility
checker, the AsyncAPI document, and the `onenet schemas` commands."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field
from typer.testing import CliRunner

from hub.alerts.cloudevent import decode_alert
from hub.alerts.lifecycle import Command
from hub.alerts.model import ALERT_EVENT_TYPES
from hub.errors import UserError
from hub.events import (
    EVENT_TYPES,
    CloudEvent,
    EventRejected,
    HydrogenReading,
    Location,
    deadletter_headers,
    parse_structured,
)
from hub.events.deadletter import MAX_RECORD_BYTES, RULE_HEADER, fit_for_deadletter
from hub.events.fields import JSON_MEDIA_PATTERN, parse_rfc3339
from hub.events.types import ServiceRequestOpened
from hub.schemas import compare_schemas, compare_sets, render_files
from hub.schemas.cli import app as schemas_app
from hub.schemas.examples import EVENT_EXAMPLES, alert_example
from hub.schemas.files import drift, load_dir, parse_all, write
from hub.schemas.generate import (
    DEADLETTER_REASONS,
    ecma_pattern,
    event_type_schema,
    names_except,
    requires_district_without_location,
    schema_documents,
)
from hub.schemas.layout import RFC3339_PATTERN
from hub.topics import Topics
from tests.events.events_samples import DATA, event_doc

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"
Validator = jsonschema.Draft202012Validator


def schema_of(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / "v1" / f"{name}.json").read_text("utf-8"))
    return loaded


def valid(schema: dict[str, Any], instance: Any) -> bool:
    return bool(Validator(schema).is_valid(instance))


def hub_accepts(doc: dict[str, Any]) -> bool:
    try:
        parse_structured(json.dumps(doc).encode())
    except EventRejected:
        return False
    return True


# --- drift ----------------------------------------------------------------------------------


def test_checked_in_files_are_exactly_what_the_models_generate() -> None:
    problems = drift(SCHEMAS, render_files())
    assert problems == [], (
        "schemas/ differs from the models; run `onenet schemas export` and commit:\n"
        + "\n".join(f"{p.state}: {p.path}\n" + "\n".join(p.diff) for p in problems)
    )


def test_generation_is_deterministic() -> None:
    assert render_files() == render_files()
    for name, text in render_files().items():
        assert text.endswith("\n"), name
        assert not text.endswith("\n\n"), name


def test_a_model_change_is_caught_as_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    class Changed(HydrogenReading):
        temperature_c: float | None = None

    monkeypatch.setitem(EVENT_TYPES, "city.safety.hydrogen.reading", Changed)
    problems = drift(SCHEMAS, render_files())
    changed = {p.path for p in problems}
    assert "v1/city.safety.hydrogen.reading.json" in changed
    assert "asyncapi.yaml" in changed  # its binary-mode payload names the data model
    differs = next(p for p in problems if p.path == "v1/city.safety.hydrogen.reading.json")
    assert any("temperature_c" in line for line in differs.diff)


def test_drift_reports_missing_edited_and_stale_files(tmp_path: Path) -> None:
    files = render_files()
    write(tmp_path, files)
    assert drift(tmp_path, files) == []
    (tmp_path / "v1" / "envelope.json").write_text("{}\n")
    (tmp_path / "asyncapi.yaml").unlink()
    stale = tmp_path / "v1" / "city.safety.retired.json"
    stale.write_text(files["v1/envelope.json"])  # carries the generated marker
    own = tmp_path / "v1" / "hand-written.json"
    own.write_text("{}\n")
    states = {p.path: p.state for p in drift(tmp_path, files)}
    assert states == {
        "v1/envelope.json": "differs",
        "asyncapi.yaml": "missing",
        "v1/city.safety.retired.json": "stale",
    }
    written = {p.path: p.state for p in write(tmp_path, files)}
    assert written["v1/city.safety.retired.json"] == "removed"
    assert written["asyncapi.yaml"] == "created"
    assert written["v1/envelope.json"] == "updated"
    assert not stale.exists()
    assert own.exists()
    assert drift(tmp_path, files) == []


# --- the schemas agree with the hub ---------------------------------------------------------


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    for name, doc in schema_documents().items():
        Validator.check_schema(doc)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert doc["$id"] == f"https://onenet.example/schemas/{name}"


@pytest.mark.parametrize("event_type", sorted(DATA))
def test_every_sample_event_validates_against_its_schema(event_type: str) -> None:
    schema = schema_of(event_type)
    doc = event_doc(event_type)
    assert hub_accepts(doc)
    Validator(schema).validate(doc)
    Validator(schema_of("envelope")).validate(doc)
    # Binary mode: the record value is `data` alone, checked by the data definition.
    model = EVENT_TYPES[event_type].__name__
    Validator({"$defs": schema["$defs"], "$ref": f"#/$defs/{model}"}).validate(doc["data"])


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_the_schema_examples_are_accepted_by_the_hub_and_the_schema(event_type: str) -> None:
    schema = schema_of(event_type)
    (example,) = schema["examples"]
    assert example == EVENT_EXAMPLES[event_type]
    assert hub_accepts(example)
    Validator(schema).validate(example)


def test_an_event_of_one_type_fails_the_schema_of_another() -> None:
    doc = event_doc("city.safety.hazard.reported")
    assert not valid(schema_of("city.safety.hydrogen.reading"), doc)


def test_every_line_of_the_city_sample_validates() -> None:
    lines = (REPO / "samples" / "city-sample.jsonl").read_text("utf-8").splitlines()
    checked = 0
    for line in filter(None, lines):
        doc = json.loads(line)
        if hub_accepts(doc):
            Validator(schema_of(doc["type"])).validate(doc)
            checked += 1
    assert checked > 10


def _without(doc: dict[str, Any], *path: str) -> dict[str, Any]:
    target = doc
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return doc


def _with(doc: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


H2 = "city.safety.hydrogen.reading"
OPENED = "city.service.request.opened"

REJECTED: dict[str, tuple[str, dict[str, Any]]] = {
    "negative ppm": (H2, _with(event_doc(H2), -1, "data", "h2_ppm")),
    "ppm beyond the plausible": (H2, _with(event_doc(H2), 1_000_001, "data", "h2_ppm")),
    "ppm as a string": (H2, _with(event_doc(H2), "4200", "data", "h2_ppm")),
    "ppm as a boolean": (H2, _with(event_doc(H2), True, "data", "h2_ppm")),
    "safety event without location": (H2, _without(event_doc(H2), "data", "location")),
    "latitude out of range": (H2, _with(event_doc(H2), 90.5, "data", "location", "lat")),
    "missing site_id": (H2, _without(event_doc(H2), "data", "site_id")),
    "site_id with a leading space": (H2, _with(event_doc(H2), " s1", "data", "site_id")),
    "empty site_id": (H2, _with(event_doc(H2), "", "data", "site_id")),
    "site_id too long": (H2, _with(event_doc(H2), "s" * 129, "data", "site_id")),
    "specversion 0.3": (H2, _with(event_doc(H2), "0.3", "specversion")),
    "missing time": (H2, _without(event_doc(H2), "time")),
    "time without zone": (H2, _with(event_doc(H2), "2024-05-01T08:30:00", "time")),
    "time as a date": (H2, _with(event_doc(H2), "2024-05-01", "time")),
    "hour 24": (H2, _with(event_doc(H2), "2024-05-01T24:00:00Z", "time")),
    "id too long": (H2, _with(event_doc(H2), "e" * 257, "id")),
    "district with a space": (H2, _with(event_doc(H2), "31 01", "district")),
    "non-JSON content type": (H2, _with(event_doc(H2), "text/plain", "datacontenttype")),
    "relative dataschema": (H2, _with(event_doc(H2), "schemas/x.json", "dataschema")),
    "uppercase extension name": (H2, _with(event_doc(H2), "x", "Traceparent")),
    "extension name too long": (H2, _with(event_doc(H2), "x", "a" * 21)),
    "float extension": (H2, _with(event_doc(H2), 1.5, "priority")),
    "object extension": (H2, _with(event_doc(H2), {"a": 1}, "priority")),
    "extension beyond 32 bits": (H2, _with(event_doc(H2), 2**31, "priority")),
    "data_base64": (H2, _with(event_doc(H2), "aGk=", "data_base64")),
    "nested unknown data field": (H2, _with(event_doc(H2), {"a": 1}, "data", "extra")),
    "unknown data field with a dash": (H2, _with(event_doc(H2), 1, "data", "bad-name")),
    "long unknown data text": (H2, _with(event_doc(H2), "x" * 257, "data", "note")),
    "result maybe": (
        "city.safety.inspection.completed",
        _with(event_doc("city.safety.inspection.completed"), "maybe", "data", "result"),
    ),
    "crowd density over 100": (
        "city.security.crowd.density",
        _with(event_doc("city.security.crowd.density"), 101, "data", "persons_per_m2"),
    ),
    "request opened with neither location nor district": (
        OPENED,
        _without(_without(event_doc(OPENED), "data", "location"), "district"),
    ),
    "request opened with a null location and a null district": (
        OPENED,
        _with(_with(event_doc(OPENED), None, "data", "location"), None, "district"),
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_rejected_events_are_rejected_by_the_schema_too(case: str) -> None:
    event_type, doc = REJECTED[case]
    assert not hub_accepts(doc), "the case must be one the hub rejects"
    assert not valid(schema_of(event_type), doc)


#: What the hub refuses and no JSON Schema can: docs/events.md lists these.
LOOSER: dict[str, dict[str, Any]] = {
    "a day the month does not have": _with(event_doc(H2), "2024-02-30T08:30:00Z", "time"),
    "more than 16 unknown data fields while an optional field is absent": _with(
        event_doc(H2),
        {k: v for k, v in DATA[H2].items() if k != "pressure_mpa"}
        | {f"x{i}": i for i in range(17)},
        "data",
    ),
    "an unknown data integer beyond 64 bits": _with(event_doc(H2), 2**63, "data", "big"),
}


@pytest.mark.parametrize("case", sorted(LOOSER))
def test_known_limits_of_the_schema_are_only_ever_looser(case: str) -> None:
    doc = LOOSER[case]
    assert not hub_accepts(doc)
    assert valid(schema_of(doc["type"]), doc)


def test_a_service_request_with_a_location_or_a_district_is_valid_either_way() -> None:
    schema = schema_of(OPENED)
    no_district = _without(event_doc(OPENED), "district")
    no_location = _without(event_doc(OPENED), "data", "location")
    for doc in (no_district, no_location):
        assert hub_accepts(doc)
        Validator(schema).validate(doc)


def test_the_district_condition_matches_the_models() -> None:
    """The schema's if/then assumes `requires_district` means "no location"; pin it."""
    for event_type, model in EVENT_TYPES.items():
        has_condition = "if" in schema_of(event_type)
        assert has_condition == requires_district_without_location(model), event_type
        if has_condition:
            data = {k: v for k, v in DATA[event_type].items() if k != "location"}
            assert model.model_validate(data).requires_district()
            assert not model.model_validate(DATA[event_type]).requires_district()


def test_the_rfc3339_pattern_agrees_with_the_parser() -> None:
    accepted = [
        "2024-05-01T08:30:00Z",
        "2024-05-01t08:30:00z",
        "2024-05-01T08:30:00.123456789+08:00",
        "2024-12-31T23:59:59-23:59",
        "2024-02-29T00:00:00+00:00",
    ]
    refused = [
        "2024-05-01T08:30:00",
        "2024-05-01 08:30:00Z",
        "2024-05-01T08:30Z",
        "2024-13-01T08:30:00Z",
        "2024-05-00T08:30:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T08:60:00Z",
        "2024-05-01T08:30:60Z",
        "2024-05-01T08:30:00+24:00",
        "2024-05-01T08:30:00.1234567890Z",
        "٢٠٢٤-05-01T08:30:00Z",
    ]
    for value in accepted:
        parse_rfc3339(value)
        assert re.search(RFC3339_PATTERN, value), value
    for value in refused:
        with pytest.raises(ValueError, match=r"."):
            parse_rfc3339(value)
        assert not re.search(RFC3339_PATTERN, value), value


def test_every_event_datetime_is_an_rfc3339_time() -> None:
    """The generator gives every datetime of the event models the RFC 3339 pattern; that is
    right only while each of them is validated by parse_rfc3339."""
    from pydantic import BeforeValidator

    seen = []
    for model in (CloudEvent, *EVENT_TYPES.values()):
        for name, field in model.model_fields.items():
            if field.annotation in (datetime, datetime | None):
                checks = [m for m in field.metadata if isinstance(m, BeforeValidator)]
                assert [m.func for m in checks] == [parse_rfc3339], f"{model.__name__}.{name}"
                seen.append(name)
    assert sorted(set(seen)) == ["due_by", "time"]


def test_patterns_are_ecma_262_without_inline_flags() -> None:
    def patterns(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [v for k, v in node.items() if k == "pattern" and isinstance(v, str)]
            return found + [p for v in node.values() for p in patterns(v)]
        if isinstance(node, list):
            return [p for v in node for p in patterns(v)]
        return []

    every = [p for doc in schema_documents().values() for p in patterns(doc)]
    assert every
    assert not [p for p in every if re.search(r"\(\?[A-Za-z]", p)]


def test_the_caseless_media_type_pattern_is_rewritten_faithfully() -> None:
    rewritten = ecma_pattern(JSON_MEDIA_PATTERN)
    assert "(?i)" not in rewritten
    for value in [
        "application/json",
        "APPLICATION/JSON",
        "Application/Vnd.Onenet+JSON; charset=utf-8",
        "application/cloudevents+json",
        "application/json ;q=1",
        "application/jsonp",
        "text/json",
        "application/+json",
        "application/A-B+json",
        "application/x+y+json",
        "application/,+json",
    ]:
        assert bool(re.search(JSON_MEDIA_PATTERN, value)) == bool(re.search(rewritten, value))
    assert ecma_pattern("^[a-z]+$") == "^[a-z]+$"
    with pytest.raises(ValueError, match="inline flags"):
        ecma_pattern("(?i)a(?s).")


def test_extension_names_exclude_only_data_without_lookahead() -> None:
    pattern = names_except("data", 20)
    assert "(?!" not in pattern
    samples = ["data", "dat", "datab", "datb", "dbta", "eata", "0ata", "d", "x" * 20, "x" * 21]
    samples += ["Data", "da_a", "", *(f"{a}{b}t{c}" for a in "dz9" for b in "a0" for c in "ab")]
    for name in samples:
        expected = bool(re.fullmatch("[a-z0-9]{1,20}", name)) and name != "data"
        assert bool(re.search(pattern, name)) == expected, name


def test_a_badly_named_extension_is_fine_when_null() -> None:
    doc = _with(event_doc(H2), None, "Not_An_Extension")
    assert hub_accepts(doc)
    Validator(schema_of(H2)).validate(doc)


_KEYS = ["specversion", "id", "time", "district", "subject", "dataschema", "datacontenttype"]
_DATA_KEYS = ["site_id", "h2_ppm", "pressure_mpa", "location", "new", "bad-name", "data_base64"]
_VALUES: st.SearchStrategy[Any] = st.sampled_from(
    [
        None,
        True,
        0,
        -1,
        1.5,
        90,
        1000,
        1000.5,
        1_000_000,
        2**31,
        2**63,
        "",
        " ",
        "a",
        "a b",
        " a",
        "a\tb",
        "x" * 129,
        "x" * 257,
        "1.0",
        "2024-05-01T08:30:00Z",
        "2024-05-01T08:30:00",
        "APPLICATION/JSON; charset=utf-8",
        "text/plain",
        "urn:x",
        "https://x.example/s.json",
        {},
        [],
        {"lat": 1, "lon": 2},
        {"lat": 1, "lon": 2, "alt": 3},
        {"lat": 91, "lon": 0},
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_schema_never_rejects_what_the_hub_accepts(data: st.DataObject) -> None:
    event_type = data.draw(st.sampled_from(sorted(DATA)))
    doc = event_doc(event_type)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(["envelope", "data", "location"]))
        value = copy.deepcopy(data.draw(_VALUES))  # the pool's objects must not be mutated
        if where == "envelope":
            doc[data.draw(st.sampled_from([*_KEYS, "ext1", "Ext"]))] = value
        elif where == "data":
            doc["data"][data.draw(st.sampled_from(_DATA_KEYS))] = value
        elif isinstance(doc["data"].get("location"), dict):
            doc["data"]["location"][data.draw(st.sampled_from(["lat", "lon", "x"]))] = value
    if hub_accepts(doc):
        Validator(schema_of(event_type)).validate(doc)


_visible = st.characters(categories=("L", "N", "P", "S"))
_ids = st.text(_visible, min_size=1, max_size=130)
_texts = st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=60)


def _number(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low - 1, high + 1, allow_nan=False, allow_infinity=False)


_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "h2_ppm": _number(0, 1_000_000) | st.integers(-1, 10**6 + 1),
    "pressure_mpa": _number(0, 1000) | st.none(),
    "persons_per_m2": _number(0, 100),
    "result": st.sampled_from(["pass", "fail", "PASS"]),
    "due_by": st.datetimes(timezones=st.timezones() | st.none()).map(lambda t: t.isoformat()),
    "location": st.fixed_dictionaries({"lat": _number(-90, 90), "lon": _number(-180, 180)}),
    "hazard": _texts,
    "outcome": _texts | st.none(),
    "category": _texts,
}


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_schema_accepts_the_varied_events_the_hub_accepts(data: st.DataObject) -> None:
    event_type = data.draw(st.sampled_from(sorted(DATA)))
    doc = event_doc(event_type)
    doc["id"] = data.draw(_ids)
    doc["source"] = data.draw(_ids)
    for name in DATA[event_type]:
        doc["data"][name] = data.draw(_FIELDS.get(name, _ids))
    extras = st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True),
        st.none()
        | st.booleans()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=20),
        max_size=3,
    )
    doc["data"] = data.draw(extras) | doc["data"]
    doc |= data.draw(
        st.dictionaries(
            st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True).filter(lambda n: n not in doc),
            st.text(max_size=30) | st.integers(-(2**31), 2**31 - 1) | st.booleans(),
            max_size=3,
        )
    )
    if hub_accepts(doc):
        Validator(schema_of(event_type)).validate(doc)


def test_the_alert_example_is_what_the_hub_emits_and_validates() -> None:
    schema = schema_of("alert")
    example = alert_example()
    assert schema["examples"] == [example]
    kind, alert = decode_alert(orjson.dumps(example))
    assert kind == "city.alert.firing"
    assert alert.alert_id == example["subject"]
    for event_type in ALERT_EVENT_TYPES.values():
        Validator(schema).validate({**example, "type": event_type})
    assert not valid(schema, {**example, "type": "city.alert.bogus"})
    assert not valid(schema, {**example, "data": {**example["data"], "severity": "Huge"}})
    assert not valid(schema, {**example, "data": {**example["data"], "unknown": 1}})


def test_the_command_example_is_what_the_lifecycle_agent_reads() -> None:
    schema = schema_of("alert-command")
    (example,) = schema["examples"]
    assert Command.model_validate_json(json.dumps(example)).alert_id == alert_example()["subject"]
    Validator(schema).validate(example)
    assert not valid(schema, {**example, "action": "delete"})
    assert not valid(schema, {**example, "unknown": 1})
    assert not valid(schema, {k: v for k, v in example.items() if k != "actor"})


def test_every_dead_letter_reason_in_the_code_is_listed() -> None:
    """The codes are plain strings in the worker and the lifecycle; keep the list complete."""
    found: set[str] = set()
    for path in [*(REPO / "hub").rglob("*.py")]:
        text = path.read_text("utf-8")
        found |= set(re.findall(r'Rejected\(\s*"([a-z0-9-]+)"', text))
        found |= set(re.findall(r'reject\(\s*record,\s*"([a-z0-9-]+)"', text))
        if '"late-event"' in text:
            found.add("late-event")
    assert found >= {"late-event", "invalid-command", "unknown-alert"}
    assert found <= set(DEADLETTER_REASONS)


def test_deadletter_headers_match_what_the_hub_writes() -> None:
    schema = schema_of("deadletter-headers")
    headers = deadletter_headers(
        "invalid-data",
        "data.h2_ppm: must be >= 0 (got -3)",
        source_topic="onenet.events.safety",
        partition=2,
        offset=1187,
        connector="mqtt",
        original_headers=[("content-type", b"application/json")],
    )
    headers.append((RULE_HEADER, b"hydrogen-leak"))
    # A record too large for the dead-letter topic is sent truncated, with two more headers.
    _, _, headers = fit_for_deadletter(None, b"x" * (MAX_RECORD_BYTES + 1), headers)
    as_object = {name: value.decode() for name, value in headers}
    Validator(schema).validate(as_object)
    ours = {name for name in as_object if name.startswith("onenet_dlq_")}
    assert ours == set(schema["properties"])
    assert "late-event" in DEADLETTER_REASONS
    for reason in DEADLETTER_REASONS:
        Validator(schema).validate({**as_object, "onenet_dlq_reason": reason})
    assert not valid(schema, {**as_object, "onenet_dlq_reason": "Not A Code"})


# --- compatibility --------------------------------------------------------------------------


def obj(properties: dict[str, Any], required: list[str] | None = None, **more: Any) -> Any:
    return {"type": "object", "properties": properties, "required": required or [], **more}


def reasons(old: Any, new: Any, *, breaking: bool = True) -> list[str]:
    return [f"{c.path}: {c.reason}" for c in compare_schemas(old, new) if c.breaking == breaking]


STR = {"type": "string"}

BREAKING: dict[str, tuple[Any, Any, str]] = {
    "new required field": (
        obj({"a": STR}, ["a"]),
        obj({"a": STR, "b": STR}, ["a", "b"]),
        "b: new required field",
    ),
    "field became required": (
        obj({"a": STR, "b": STR}, ["a"]),
        obj({"a": STR, "b": STR}, ["a", "b"]),
        "b: field became required",
    ),
    "field no longer required": (
        obj({"a": STR}, ["a"]),
        obj({"a": STR}),
        "a: field is no longer required",
    ),
    "removed property": (obj({"a": STR, "b": STR}), obj({"a": STR}), "b: field removed"),
    "type removed from a union": (
        obj({"a": {"anyOf": [STR, {"type": "integer"}]}}),
        obj({"a": STR}),
        "a: type integer is no longer accepted",
    ),
    "null removed": (
        obj({"a": {"anyOf": [STR, {"type": "null"}]}}),
        obj({"a": STR}),
        "a: null is no longer accepted",
    ),
    "number to integer": (
        obj({"a": {"type": "number"}}),
        obj({"a": {"type": "integer"}}),
        "a: type narrowed from number to integer",
    ),
    "type changed": (
        obj({"a": STR}),
        obj({"a": {"type": "integer"}}),
        "a: type string is no longer accepted",
    ),
    "new JSON type": (
        obj({"a": STR}),
        obj({"a": {"type": ["string", "integer"]}}),
        "a: type integer is now accepted",
    ),
    "integer to number": (
        obj({"a": {"type": "integer"}}),
        obj({"a": {"type": "number"}}),
        "a: type number is now accepted",
    ),
    "string to const": (
        obj({"a": STR}),
        obj({"a": {"const": "x", "type": "string"}}),
        "a: narrowed to fixed values",
    ),
    "enum values removed": (
        obj({"a": {"enum": ["x", "y"], "type": "string"}}),
        obj({"a": {"enum": ["x"], "type": "string"}}),
        'a: allowed values removed: "y"',
    ),
    "minimum raised": (
        obj({"a": {"type": "number", "minimum": 0}}),
        obj({"a": {"type": "number", "minimum": 1}}),
        "a: minimum raised from 0 to 1",
    ),
    "maximum lowered": (
        obj({"a": {"type": "number", "maximum": 10}}),
        obj({"a": {"type": "number", "maximum": 9.5}}),
        "a: maximum lowered from 10 to 9.5",
    ),
    "maximum added": (
        obj({"a": {"type": "number"}}),
        obj({"a": {"type": "number", "maximum": 9}}),
        "a: maximum 9 added",
    ),
    "bound made exclusive": (
        obj({"a": {"type": "number", "minimum": 0}}),
        obj({"a": {"type": "number", "exclusiveMinimum": 0}}),
        "a: minimum",
    ),
    "maxLength lowered": (
        obj({"a": {"type": "string", "maxLength": 10}}),
        obj({"a": {"type": "string", "maxLength": 5}}),
        "a: maxLength lowered from 10 to 5",
    ),
    "minLength raised": (
        obj({"a": {"type": "string", "minLength": 0}}),
        obj({"a": {"type": "string", "minLength": 1}}),
        "a: minLength raised from 0 to 1",
    ),
    "pattern added": (
        obj({"a": STR}),
        obj({"a": {"type": "string", "pattern": "^x"}}),
        "a: pattern '^x' added",
    ),
    "pattern changed": (
        obj({"a": {"type": "string", "pattern": "^x"}}),
        obj({"a": {"type": "string", "pattern": "^y"}}),
        "a: pattern changed",
    ),
    "format added": (
        obj({"a": STR}),
        obj({"a": {"type": "string", "format": "date-time"}}),
        "a: format 'date-time' added",
    ),
    "additionalProperties true to false": (
        obj({"a": STR}, additionalProperties=True),
        obj({"a": STR}, additionalProperties=False),
        "(root): additionalProperties true -> false",
    ),
    "unknown fields restricted": (
        obj({"a": STR}),
        obj({"a": STR}, additionalProperties=STR),
        "<unknown fields>: narrowed from any value",
    ),
    "array items narrowed": (
        obj({"a": {"type": "array", "items": STR}}),
        obj({"a": {"type": "array", "items": {"type": "string", "maxLength": 3}}}),
        "a[]: maxLength 3 added",
    ),
    "maxItems added": (
        obj({"a": {"type": "array"}}),
        obj({"a": {"type": "array", "maxItems": 3}}),
        "a: maxItems 3 added",
    ),
    "conditional requirement added": (
        obj({"a": STR}),
        {**obj({"a": STR}), "if": {"required": ["a"]}, "then": {"required": ["b"]}},
        "(root): a conditional requirement",
    ),
    "unknown keyword changed": (
        obj({"a": STR}),
        obj({"a": {"type": "string", "dependentSchemas": {}}}),
        "a: keyword dependentSchemas changed",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKING))
def test_breaking_changes_are_reported_with_path_and_reason(case: str) -> None:
    old, new, expected = BREAKING[case]
    found = reasons(old, new)
    assert any(r.startswith(expected) for r in found), found


COMPATIBLE: dict[str, tuple[Any, Any, str]] = {
    "new optional field": (obj({"a": STR}), obj({"a": STR, "b": STR}), "b: new optional field"),
    "minimum lowered": (
        obj({"a": {"type": "number", "minimum": 1}}),
        obj({"a": {"type": "number", "minimum": 0}}),
        "a: minimum lowered from 1 to 0",
    ),
    "maximum raised": (
        obj({"a": {"type": "number", "maximum": 1}}),
        obj({"a": {"type": "number", "maximum": 2}}),
        "a: maximum raised",
    ),
    "maximum dropped": (
        obj({"a": {"type": "number", "maximum": 1}}),
        obj({"a": {"type": "number"}}),
        "a: maximum 1 dropped",
    ),
    "maxLength raised": (
        obj({"a": {"type": "string", "maxLength": 5}}),
        obj({"a": {"type": "string", "maxLength": 50}}),
        "a: maxLength raised",
    ),
    "enum values added": (
        obj({"a": {"enum": ["x"], "type": "string"}}),
        obj({"a": {"enum": ["x", "y"], "type": "string"}}),
        'a: allowed values added: "y"',
    ),
    "pattern dropped": (
        obj({"a": {"type": "string", "pattern": "^x"}}),
        obj({"a": STR}),
        "a: pattern '^x' dropped",
    ),
    "additionalProperties false to true": (
        obj({"a": STR}, additionalProperties=False),
        obj({"a": STR}),
        "(root): unknown fields are now allowed",
    ),
}


@pytest.mark.parametrize("case", sorted(COMPATIBLE))
def test_compatible_changes_are_not_breaking(case: str) -> None:
    old, new, expected = COMPATIBLE[case]
    assert reasons(old, new) == []
    if expected:
        assert any(r.startswith(expected) for r in reasons(old, new, breaking=False))


def test_documentation_changes_are_no_changes() -> None:
    old = obj({"a": {"type": "string", "title": "A", "description": "one"}})
    new = obj({"a": {"type": "string", "title": "Alpha", "description": "two", "examples": ["x"]}})
    new["$comment"] = "regenerated"
    assert compare_schemas(old, new) == []


def test_every_generated_schema_is_compatible_with_itself() -> None:
    docs = parse_all(render_files())
    assert compare_sets(docs, copy.deepcopy(docs)) == []


def test_a_removed_schema_file_and_a_removed_channel_are_breaking() -> None:
    docs = parse_all(render_files())
    new = copy.deepcopy(docs)
    del new["v1/city.service.request.closed.json"]
    del new["asyncapi.yaml"]["channels"]["deadLetter"]
    del new["asyncapi.yaml"]["channels"]["alerts"]["messages"]["alert"]
    new["v1/city.safety.fire.reported.json"] = new["v1/envelope.json"]
    changes = compare_sets(docs, new)
    breaking = {(c.file, c.path) for c in changes if c.breaking}
    assert breaking == {
        ("v1/city.service.request.closed.json", "(file)"),
        ("asyncapi.yaml", "onenet.deadletter"),
        ("asyncapi.yaml", "onenet.alerts alert"),
    }
    assert ("v1/city.safety.fire.reported.json", "(file)", "new schema", False) in {
        (c.file, c.path, c.reason, c.breaking) for c in changes
    }


# Real pydantic model variants, compared through the same generator as the checked-in files.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="allow")


class V1(_Strict):
    site_id: str
    count: Annotated[int, Field(ge=0, le=100)]
    result: Literal["pass", "fail"]
    note: str | None = None
    location: Location


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def test_pydantic_variants_new_required_and_new_optional_fields() -> None:
    class Required(V1):
        operator: str

    class Optional(V1):
        operator: str | None = None

    assert reasons(_schema(V1), _schema(Required)) == [
        "operator: new required field: existing producers do not send it"
    ]
    assert reasons(_schema(V1), _schema(Optional)) == []
    assert reasons(_schema(V1), _schema(Optional), breaking=False) == [
        "operator: new optional field"
    ]


def test_pydantic_variants_narrowed_and_widened() -> None:
    class Narrow(_Strict):
        site_id: Annotated[str, Field(max_length=10)]
        count: Annotated[int, Field(ge=1, le=100)]
        result: Literal["pass"]
        note: str
        location: Location

    class Wide(_Strict):
        site_id: str
        count: Annotated[int, Field(ge=-5, le=1000)]
        result: Literal["pass", "fail", "n/a"]
        note: str | None = None
        location: Location

    class Closed(V1):
        model_config = ConfigDict(extra="forbid")

    narrowed = reasons(_schema(V1), _schema(Narrow))
    assert "site_id: maxLength 10 added" in narrowed
    assert "count: minimum raised from 0 to 1" in narrowed
    assert 'result: allowed values removed: "fail"' in narrowed
    assert "note: null is no longer accepted (the field was nullable)" in narrowed
    assert "note: new required field: existing producers do not send it" not in narrowed
    assert any(r.startswith("note: field became required") for r in narrowed)
    assert reasons(_schema(V1), _schema(Wide)) == []
    assert len(reasons(_schema(V1), _schema(Wide), breaking=False)) == 3
    assert reasons(_schema(V1), _schema(Closed)) == [
        "(root): additionalProperties true -> false: unknown fields are refused"
    ]


def test_changes_behind_refs_and_optional_refs_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bound narrowed inside `$defs/Location`, reached through `anyOf [$ref, null]`."""
    old = event_type_schema(OPENED)

    class NarrowLocation(Location):
        lat: Annotated[float, Field(ge=0, le=90, allow_inf_nan=False)]

    class Opened(ServiceRequestOpened):
        location: NarrowLocation | None = None

    monkeypatch.setitem(EVENT_TYPES, OPENED, Opened)
    new = event_type_schema(OPENED)
    assert reasons(old, new) == ["data.location.lat: minimum raised from -90 to 0"]


def test_real_event_model_variant_with_a_lower_maximum(monkeypatch: pytest.MonkeyPatch) -> None:
    old = event_type_schema(H2)

    class Variant(HydrogenReading):
        h2_ppm: Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)]

    monkeypatch.setitem(EVENT_TYPES, H2, Variant)
    new = event_type_schema(H2)
    assert reasons(old, new) == ["data.h2_ppm: maximum lowered from 1000000 to 100000"]


def test_recursive_models_terminate() -> None:
    class Node(BaseModel):
        name: str
        child: Node | None = None

    class Node2(BaseModel):
        name: Annotated[str, Field(max_length=3)]
        child: Node2 | None = None

    assert compare_schemas(_schema(Node), _schema(Node)) == []
    assert "name: maxLength 3 added" in reasons(_schema(Node), _schema(Node2))


# --- AsyncAPI ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((SCHEMAS / "asyncapi.yaml").read_text("utf-8"))
    return loaded


def _resolve(ref: str, doc: dict[str, Any]) -> Any:
    file, _, pointer = ref.partition("#")
    target: Any = doc if not file else json.loads((SCHEMAS / file).read_text("utf-8"))
    for part in filter(None, pointer.split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(target, dict), ref
        assert part in target, f"{ref}: no {part!r}"
        target = target[part]
    return target


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        here = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return here + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_asyncapi_document_basics(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"] == "3.0.0"
    assert asyncapi["servers"]["kafka"]["protocol"] == "kafka"
    addresses = {c["address"] for c in asyncapi["channels"].values()}
    assert addresses == set(Topics().all())


def test_every_asyncapi_reference_resolves(asyncapi: dict[str, Any]) -> None:
    refs = _refs(asyncapi)
    assert any(r.startswith("./v1/") for r in refs)
    for ref in refs:
        assert _resolve(ref, asyncapi) is not None, ref


def test_operations_use_their_channels_messages(asyncapi: dict[str, Any]) -> None:
    channels = asyncapi["channels"]
    actions = {(op["channel"]["$ref"], op["action"]) for op in asyncapi["operations"].values()}
    assert actions == {(f"#/channels/{c}", a) for c in channels for a in ("send", "receive")}
    for op in asyncapi["operations"].values():
        channel = op["channel"]["$ref"].rsplit("/", 1)[1]
        for message in op["messages"]:
            assert message["$ref"].startswith(f"#/channels/{channel}/messages/")


def test_every_event_type_has_a_structured_and_a_binary_message_with_a_key(
    asyncapi: dict[str, Any],
) -> None:
    messages = asyncapi["components"]["messages"]
    for event_type, model in EVENT_TYPES.items():
        channel = asyncapi["channels"][f"{model.domain}Events"]
        for mode in ("structured", "binary"):
            assert f"{event_type}.{mode}" in channel["messages"]
            assert "key" in messages[f"{event_type}.{mode}"]["bindings"]["kafka"]
    for message in messages.values():
        assert "key" in message["bindings"]["kafka"]


def test_message_examples_validate(asyncapi: dict[str, Any]) -> None:
    messages = asyncapi["components"]["messages"]
    for event_type in EVENT_TYPES:
        (structured,) = messages[f"{event_type}.structured"]["examples"]
        ref = messages[f"{event_type}.structured"]["payload"]["schema"]["$ref"]
        Validator(_resolve(ref, asyncapi)).validate(structured["payload"])
        binary = messages[f"{event_type}.binary"]
        (example,) = binary["examples"]
        file, _, pointer = binary["payload"]["schema"]["$ref"].partition("#")
        schema = json.loads((SCHEMAS / file).read_text("utf-8"))
        Validator({"$defs": schema["$defs"], "$ref": f"#{pointer}"}).validate(example["payload"])
        headers = {
            "$defs": {"binaryHeaders": asyncapi["components"]["schemas"]["binaryHeaders"]},
            "allOf": [{"$ref": "#/$defs/binaryHeaders"}, binary["headers"]["allOf"][1]],
        }
        Validator(headers).validate(example["headers"])
        assert not valid(headers, {**example["headers"], "ce_type": "city.other.type"})


def test_event_keys_are_what_the_hub_uses(asyncapi: dict[str, Any]) -> None:
    messages = asyncapi["components"]["messages"]
    for event_type in EVENT_TYPES:
        event = parse_structured(orjson.dumps(event_doc(event_type)))
        key_schema = messages[f"{event_type}.structured"]["bindings"]["kafka"]["key"]
        Validator(key_schema).validate(event.key)
        field = {"safety": "site_id", "service": "request_id"}.get(event.domain)
        if field is not None:
            assert event.key == getattr(event.data, field)
            assert key_schema["description"].startswith(f"data.{field}")


def test_documents_do_not_depend_on_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    before = render_files()
    monkeypatch.setenv("ONENET_TOPIC_PREFIX", "elsewhere")
    monkeypatch.setenv("ONENET_PARTITIONS", "12")
    assert render_files() == before


# --- docs/events.md ------------------------------------------------------------------------


def test_the_event_catalogue_examples_are_valid() -> None:
    text = (REPO / "docs" / "events.md").read_text("utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)
    events = [json.loads(b) for b in blocks if '"specversion"' in b]
    assert {e["type"] for e in events} >= set(EVENT_TYPES)
    for event in events:
        if event["type"].startswith("city.alert."):
            Validator(schema_of("alert")).validate(event)
        else:
            assert hub_accepts(event), event["type"]
            Validator(schema_of(event["type"])).validate(event)
    commands = [json.loads(b) for b in blocks if '"command_id"' in b]
    assert commands
    for command in commands:
        Command.model_validate(command)
        Validator(schema_of("alert-command")).validate(command)
    for reason in DEADLETTER_REASONS:
        assert f"`{reason}`" in text


# --- the commands --------------------------------------------------------------------------

runner = CliRunner()


def test_export_then_check_then_drift(tmp_path: Path) -> None:
    out = tmp_path / "schemas"
    result = runner.invoke(schemas_app, ["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(render_files())} changed" in result.output
    assert runner.invoke(schemas_app, ["export", "--out", str(out)]).output.startswith("0 changed")
    assert runner.invoke(schemas_app, ["check", "--dir", str(out)]).exit_code == 0
    path = out / "v1" / "city.safety.hydrogen.reading.json"
    path.write_text(path.read_text().replace('"maximum": 1000000', '"maximum": 5'))
    result = runner.invoke(schemas_app, ["check", "--dir", str(out)])
    assert isinstance(result.exception, UserError)
    assert result.exception.hint == "run `onenet schemas export` and commit"
    assert "differs" in result.output
    assert '"maximum": 5' in result.output


def test_compat_between_folders(tmp_path: Path) -> None:
    old = tmp_path / "old"
    write(old, render_files())
    result = runner.invoke(schemas_app, ["compat", str(old)])
    assert result.exit_code == 0, result.output
    assert "0 breaking" in result.output
    path = old / "v1" / "city.safety.hydrogen.reading.json"
    path.write_text(path.read_text().replace('"maximum": 1000000', '"maximum": 10000000'))
    result = runner.invoke(schemas_app, ["compat", str(old)])
    assert isinstance(result.exception, UserError)
    assert "data.h2_ppm: maximum lowered from 10000000 to 1000000" in result.output
    assert load_dir(old)  # the folder itself is still readable


def test_compat_usage_errors(tmp_path: Path) -> None:
    for args in (["compat"], ["compat", str(tmp_path / "nowhere")], ["compat", str(tmp_path)]):
        result = runner.invoke(schemas_app, args)
        assert isinstance(result.exception, UserError), args
        assert result.exception.exit_code == 2


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_compat_against_a_git_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "README").write_text("x\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "before schemas")
    _git(repo, "tag", "v0")
    write(repo / "schemas", render_files())
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "schemas")
    monkeypatch.chdir(repo / "schemas")  # from a subfolder too

    result = runner.invoke(schemas_app, ["compat", "--git-ref", "HEAD"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(schemas_app, ["compat", "--git-ref", "v0"])
    assert result.exit_code == 0
    assert "first release" in result.output

    edited = repo / "schemas" / "v1" / "city.security.crowd.density.json"
    edited.write_text(edited.read_text().replace('"maximum": 100,', '"maximum": 50,'))
    _git(repo, "commit", "-q", "-am", "narrow")
    result = runner.invoke(schemas_app, ["compat", "--git-ref", "HEAD", "--all"])
    assert result.exit_code == 0  # the models allow more than HEAD does: compatible
    assert "compatible: v1/city.security.crowd.density.json: data.persons_per_m2" in result.output
    result = runner.invoke(schemas_app, ["compat", "--git-ref", "HEAD~1", str(repo / "schemas")])
    assert isinstance(result.exception, UserError)
    assert "data.persons_per_m2: maximum lowered from 100 to 50" in result.output

    result = runner.invoke(schemas_app, ["compat", "--git-ref", "no-such-ref"])
    assert isinstance(result.exception, UserError)
    assert result.exception.exit_code == 2


def test_the_console_script_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    onenet = Path(sys.executable).with_name("onenet")
    bad = subprocess.run(
        [onenet, "schemas", "check", "--dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2
    assert "error: no schemas folder" in bad.stderr
    assert "Traceback" not in bad.stderr
