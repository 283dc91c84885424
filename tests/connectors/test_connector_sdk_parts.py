"""The SDK's shared chores without a broker: mapping helpers, the registry's mapping host,
the typed options check, `pause`, and the rule that the SDK imports no connector."""

from __future__ import annotations

import ast
import asyncio
import time
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from connectors.replay import ReaderOptions, ReplayConnector
from connectors.sdk import Connector, Draft, MappingError, NoOptions, Sink, pause, registry
from connectors.sdk.mapping import SafeMapping, json_object, require_mapping
from hub.errors import UserError

SDK = Path(__file__).resolve().parents[2] / "connectors" / "sdk"


def test_the_sdk_imports_no_connector() -> None:
    for path in sorted(SDK.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                if name.startswith("connectors"):
                    assert name.startswith("connectors.sdk"), f"{path.name} imports {name}"


def test_json_object_names_what_failed_with_the_dead_letter_reason() -> None:
    assert json_object(b'{"a": 1}') == {"a": 1}
    with pytest.raises(MappingError) as broken:
        json_object(b"{nope", what="the payload")
    assert broken.value.reason == "invalid-json"
    assert broken.value.detail.startswith("the payload is not valid JSON: ")
    with pytest.raises(MappingError) as listed:
        json_object(b"[1]")
    assert listed.value.reason == "not-an-object"
    assert listed.value.detail == "a record must be a JSON object, got list"


def test_safe_mapping_keeps_a_crash_with_its_record_under_the_reason_given() -> None:
    def crashes(record: dict[str, Any]) -> Draft | None:
        raise KeyError(record["missing"])

    def wrong_type(record: dict[str, Any]) -> Any:
        return 42

    with pytest.raises(MappingError) as crash:
        SafeMapping(crashes, crash_reason="mapping-failed")({})
    assert crash.value.reason == "mapping-failed"
    assert "raised KeyError" in crash.value.detail
    with pytest.raises(MappingError) as typed:
        SafeMapping(wrong_type)({})
    assert typed.value.reason == "mapping-crashed"
    assert "returned int" in typed.value.detail
    refused = MappingError("no ppm column")
    with pytest.raises(MappingError) as passed:
        SafeMapping(lambda record: (_ for _ in ()).throw(refused))({})
    assert passed.value is refused


def test_require_mapping_turns_a_typo_into_a_user_error() -> None:
    with pytest.raises(UserError, match="--mapping: cannot import 'no_such_module_x'") as caught:
        require_mapping("no_such_module_x:f")
    assert caught.value.hint is not None
    with pytest.raises(UserError, match="is not module:function"):
        require_mapping("just-a-name")
    assert require_mapping("json:dumps").__name__ == "dumps"


def _with_entry_point(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    found = {**registry._entry_points(), name: EntryPoint(name, value, registry.GROUP)}
    monkeypatch.setattr(registry, "_entry_points", lambda: found)


def test_a_mapping_function_entry_point_is_hosted_by_the_replay_connector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gasworks_mapping.py").write_text("def to_event(record):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _with_entry_point(monkeypatch, "gasworks", "gasworks_mapping:to_event")
    cls = registry.load("gasworks")
    assert cls.name == "gasworks"
    assert issubclass(cls, registry.load(registry.MAPPING_HOST))
    assert issubclass(cls, ReplayConnector)
    assert cls.Options is ReaderOptions
    assert "gasworks_mapping:to_event" in cls.summary


def test_the_mapping_host_itself_must_be_a_connector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "not_a_host.py").write_text("def to_event(record):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _with_entry_point(monkeypatch, registry.MAPPING_HOST, "not_a_host:to_event")
    with pytest.raises(UserError, match="must be a Connector"):
        registry.load(registry.MAPPING_HOST)


class _Options(BaseModel):
    n: int = 1


class _Typed(Connector[_Options]):
    name = "typed"
    Options = _Options

    async def run(self, sink: Sink) -> None:
        return None


def test_a_connector_is_built_only_from_its_own_options() -> None:
    assert _Typed(_Options(n=3)).options.n == 3
    with pytest.raises(TypeError, match="_Typed takes _Options, got NoOptions"):
        _Typed(NoOptions())  # type: ignore[arg-type]


def test_pause_sleeps_unless_asked_to_stop() -> None:
    async def scenario() -> tuple[bool, float, bool, float]:
        stopping = asyncio.Event()
        started = time.monotonic()
        slept = await pause(stopping, 0.05)
        waited = time.monotonic() - started
        asyncio.get_running_loop().call_later(0.01, stopping.set)
        started = time.monotonic()
        stopped = await pause(stopping, 30)
        return slept, waited, stopped, time.monotonic() - started

    slept, waited, stopped, woke_after = asyncio.run(scenario())
    assert slept is False
    assert waited >= 0.05
    assert stopped is True
    assert woke_after < 5
