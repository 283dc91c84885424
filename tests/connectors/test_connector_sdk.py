"""The connector SDK: runner semantics on a real broker, and the plug-in path of a real package."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from pydantic import BaseModel, Field

from connectors.sdk import Connector, Draft, Item, NoOptions, Sink
from connectors.sdk.checkpoint import CheckpointStore
from connectors.sdk.dedup import RecentIds
from connectors.sdk.envelope import content_id, draft_to_dict
from connectors.sdk.options import build_options, validate
from connectors.sdk.runner import Runner, SendFailed
from hub.errors import UserError
from hub.events import read_deadletter
from hub.kafka import contract_topics, ensure_topics, producer
from hub.settings import Settings
from hub.topics import Topics
from tests.support.hubproc import Hub

REPO = Path(__file__).resolve().parents[2]


def reading(i: int, ppm: float = 100.0) -> Draft:
    return Draft(
        type="city.safety.hydrogen.reading",
        id=f"r{i}",
        time="2026-11-27T08:00:00Z",
        data={
            "site_id": f"S{i % 3}",
            "sensor_id": "x",
            "h2_ppm": ppm,
            "location": {"lat": 31.2, "lon": 121.4},
        },
    )


# --- pure parts -------------------------------------------------------------------------------


def test_recent_ids_forget_the_oldest_beyond_capacity() -> None:
    ids = RecentIds(capacity=3, initial=["a", "b", "c"])
    ids.add("a")  # refreshes a
    ids.add("d")  # evicts b, the least recently seen
    assert "b" not in ids
    assert [x for x in "acd" if x in ids] == ["a", "c", "d"]
    assert ids.newest(2) == ["a", "d"]


def test_checkpoint_store_round_trips_and_names_a_broken_file(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "sub" / "c.json")
    assert store.load() == {}
    store.save({"position": 7, "recent_ids": ["x"]})
    assert store.load() == {"position": 7, "recent_ids": ["x"]}
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["c.json"]  # no temp file left
    store.path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON; fix or delete it"):
        store.load()


def test_draft_without_id_gets_a_content_id_that_collapses_identical_resends() -> None:
    d = Draft(
        type="city.safety.hazard.reported", time="2026-11-27T08:00:00Z", data={"site_id": "A"}
    )
    one = draft_to_dict(d, default_source="urn:a")
    two = draft_to_dict(d, default_source="urn:a")
    assert one["id"] == two["id"] == content_id(d.type, "2026-11-27T08:00:00Z", {"site_id": "A"})
    other = Draft(type=d.type, time=d.time, data={"site_id": "B"})
    assert draft_to_dict(other, default_source="urn:a")["id"] != one["id"]


class Opts(BaseModel):
    path: Path = Field(description="a file")
    rate: float = Field(2.5, ge=0, description="per second")
    tags: list[str] = Field(default_factory=list, description="tags")
    fast: bool = Field(False, description="go fast")


def test_options_become_documented_click_options_and_bad_values_name_the_option() -> None:
    command = click.Command("x", params=build_options(Opts), callback=lambda **kw: kw)
    kw = command.main(
        ["--path", "a.csv", "--tags", "a", "--tags", "b", "--fast"], standalone_mode=False
    )
    opts = validate(Opts, kw)
    assert opts.model_dump() == {
        "path": Path("a.csv"),
        "rate": 2.5,
        "tags": ["a", "b"],
        "fast": True,
    }
    assert "per second" in command.get_help(click.Context(command))
    kw = command.main(["--path", "a", "--rate", "-1"], standalone_mode=False)
    with pytest.raises(UserError, match="--rate: Input should be greater than or equal to 0"):
        validate(Opts, kw)


# --- the runner on a real broker --------------------------------------------------------------


class ListConnector(Connector):
    name = "list"

    def __init__(self, items: list[Item], stop_after: int | None = None) -> None:
        super().__init__(NoOptions())
        self.items = items
        self.stop_after = stop_after
        self.outcomes: list[Any] = []

    async def run(self, sink: Sink) -> None:
        start = sink.resume_from or 0
        for n, item in enumerate(self.items[start:], start=start + 1):
            if self.stop_after is not None and n > self.stop_after:
                raise RuntimeError("simulated crash")
            self.outcomes.append(await sink.send(item))


@pytest.fixture
def hub(kafka_bootstrap: str, tmp_path: Path) -> Hub:
    h = Hub(kafka_bootstrap, tmp_path)
    ensure_topics(kafka_bootstrap, contract_topics(Settings(topic_prefix=h.prefix, partitions=3)))
    return h


def make_runner(hub: Hub, connector: Connector, ckpt: Path, **producer_overrides: Any) -> Runner:
    return Runner(
        connector,
        producer=producer(hub.bootstrap, **producer_overrides),
        topics=Topics(hub.prefix),
        checkpoint_path=ckpt,
        source="urn:test:list",
        checkpoint_interval=0.2,
    )


def test_runner_publishes_dedups_dead_letters_and_resumes(hub: Hub, tmp_path: Path) -> None:
    items = [Item(reading(i), position=i + 1, origin=f"in:{i + 1}") for i in range(6)]
    items[2] = Item(reading(2, ppm=-1), position=3, origin="in:3", raw=b"raw line 3")
    items.insert(4, Item(reading(1), position=4, origin="in:4b"))  # a re-sent r1
    ckpt = tmp_path / "ck.json"

    crashed = make_runner(hub, ListConnector(items, stop_after=4), ckpt)
    with pytest.raises(RuntimeError, match="simulated crash"):
        asyncio.run(crashed.run(install_signals=False))
    assert CheckpointStore(ckpt).load()["position"] == 4  # all acknowledged before the crash

    resumed = ListConnector(items)
    counts = asyncio.run(make_runner(hub, resumed, ckpt).run(install_signals=False))
    assert counts == {"published": 2, "duplicate": 1, "rejected": 0, "signalled": 0}
    assert [o.status for o in resumed.outcomes] == ["duplicate", "published", "published"]

    safety = hub.read_topic(f"{hub.prefix}.events.safety", min_records=5)
    ids = sorted(json.loads(r.value)["id"] for r in safety)
    assert ids == ["r0", "r1", "r3", "r4", "r5"]  # each once: no gap after the crash, no double
    assert {r.key for r in safety} <= {b"S0", b"S1", b"S2"}
    dead = hub.read_topic(f"{hub.prefix}.deadletter", min_records=1)
    assert [r.value for r in dead] == [b"raw line 3"]
    headers = read_deadletter(dead[0].headers)
    assert headers["reason"] == "invalid-data"
    assert "h2_ppm" in headers["detail"]
    assert headers["connector"] == "list"
    assert dict(dead[0].headers)["onenet_dlq_origin"] == b"in:3"


def test_a_send_the_broker_cannot_take_stops_the_run_and_keeps_the_checkpoint(
    hub: Hub, tmp_path: Path
) -> None:
    ckpt = tmp_path / "ck.json"
    ok = ListConnector([Item(reading(0), position=1)])
    asyncio.run(make_runner(hub, ok, ckpt).run(install_signals=False))
    # A prefix whose topics do not exist: the broker never takes the record.
    runner = make_runner(
        hub,
        ListConnector([Item(reading(0), position=1), Item(reading(1), position=2)]),
        ckpt,
        max_block_ms=1500,
    )
    runner.topics = Topics(f"{hub.prefix}-missing")
    runner.resume_from = 0
    with pytest.raises(SendFailed, match="missing"):
        asyncio.run(runner.run(install_signals=False))
    assert CheckpointStore(ckpt).load()["position"] == 1


def test_out_of_range_times_and_oversized_records_are_dead_lettered_and_the_run_goes_on(
    hub: Hub, tmp_path: Path
) -> None:
    huge = b'{"specversion": "1.0", "pad": "' + b"x" * 10_000_000 + b'"}'
    year_one = dataclasses.replace(reading(1), time="0001-01-01T00:00:00Z")
    items = [
        Item(year_one, position=1, origin="in:1"),
        Item(huge, position=2, origin="in:2"),
        Item(reading(3), position=3, origin="in:3"),
    ]
    connector = ListConnector(items)
    counts = asyncio.run(
        make_runner(hub, connector, tmp_path / "ck.json").run(install_signals=False)
    )
    assert counts["published"] == 1
    assert counts["rejected"] == 2

    dead = {
        dict(r.headers)["onenet_dlq_origin"]: r
        for r in hub.read_topic(f"{hub.prefix}.deadletter", min_records=2)
    }
    assert read_deadletter(dead[b"in:1"].headers)["reason"] == "time-out-of-range"
    truncated = read_deadletter(dead[b"in:2"].headers)
    assert truncated["reason"] == "too-large"
    assert truncated["original_size"] == str(len(huge))
    assert truncated["original_sha256"] == hashlib.sha256(huge).hexdigest()
    assert dead[b"in:2"].value == huge[:65536]
    safety = hub.read_topic(f"{hub.prefix}.events.safety", min_records=1)
    assert [json.loads(r.value)["id"] for r in safety] == ["r3"]


# --- a third-party package plugs in through its entry point -----------------------------------


def test_example_plugin_package_installs_lists_and_runs(hub: Hub, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(REPO / "examples" / "city-inspections"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {"PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    listed = hub.run("connector", "list", **env)
    assert listed.returncode == 0, listed.stderr
    line = next(ln for ln in listed.stdout.splitlines() if "inspections" in ln)
    assert "plug-in" in line
    helped = hub.run("connector", "run", "inspections", "--help", **env)
    assert "--export" in helped.stdout
    assert "The inspection system's JSON export file." in helped.stdout

    export = tmp_path / "today.json"
    export.write_text(
        json.dumps(
            [
                {
                    "inspection_no": "I-1",
                    "enterprise": "ENT-1",
                    "site": "CHEM-1",
                    "lat": 31.2,
                    "lon": 121.4,
                    "due": "2026-11-30T00:00:00+08:00",
                    "recorded_at": "2026-11-27T09:00:00+08:00",
                },
                {
                    "inspection_no": "I-1",
                    "enterprise": "ENT-1",
                    "site": "CHEM-1",
                    "lat": 31.2,
                    "lon": 121.4,
                    "result": "pass",
                    "recorded_at": "2026-11-28T09:00:00+08:00",
                },
                {
                    "inspection_no": "I-2",
                    "enterprise": "ENT-2",
                    "site": "CHEM-2",
                    "lat": 95,
                    "lon": 121.4,
                    "due": "2026-11-30T00:00:00+08:00",
                    "recorded_at": "2026-11-27T09:00:00+08:00",
                },
            ]
        )
    )
    ran = hub.run("connector", "run", "inspections", "--export", str(export), **env)
    assert ran.returncode == 1, ran.stderr  # one record rejected
    assert "published 2, duplicates 0, rejected 1" in ran.stderr
    assert "Traceback" not in ran.stderr
    safety = hub.read_topic(f"{hub.prefix}.events.safety", min_records=2)
    types = sorted(json.loads(r.value)["type"] for r in safety)
    assert types == ["city.safety.inspection.completed", "city.safety.inspection.scheduled"]
    dead = hub.read_topic(f"{hub.prefix}.deadletter", min_records=1)
    assert "data.location.lat" in read_deadletter(dead[0].headers)["detail"]
    assert dict(dead[0].headers)["onenet_dlq_origin"] == b"today.json:3"

    again = hub.run("connector", "run", "inspections", "--export", str(export), **env)
    assert "published 0" in again.stderr  # resumed after the checkpoint: nothing re-sent
