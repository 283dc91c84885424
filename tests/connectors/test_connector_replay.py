"""The replay connector on a real broker: JSONL and CSV in, routed events and dead letters out."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

import hub.kafka
from connectors.replay import ReplayConnector, ReplayOptions, connector_from_mapping
from connectors.sdk.base import Connector
from connectors.sdk.item import Draft, MappingError
from connectors.sdk.options import validate
from connectors.sdk.runner import Runner
from hub.errors import UserError
from hub.events import parse_structured, read_deadletter
from hub.kafka import TopicSpec
from hub.topics import Topics
from tests.support.hubproc import ONENET, Hub

H2 = "city.safety.hydrogen.reading"
LOC = {"lat": 31.2304, "lon": 121.4737}

CSV_HEADER = "reading_no,timestamp,site,sensor,ppm,pressure,lat,lon,district\n"
CSV_COLUMNS = [
    "id=reading_no",
    "time=timestamp",
    "data.site_id=site",
    "data.sensor_id=sensor",
    "data.h2_ppm=ppm",
    "data.pressure_mpa=pressure",
    "data.location.lat=lat",
    "data.location.lon=lon",
]


@pytest.fixture
def hub_env(kafka_bootstrap: str, tmp_path: Path) -> Hub:
    """An isolated prefix with the contract topics created."""
    env = Hub(kafka_bootstrap, tmp_path)
    specs = [TopicSpec(name, 3, 1) for name in Topics(env.prefix).all()]
    hub.kafka.ensure_topics(kafka_bootstrap, specs)
    return env


def replay(
    env: Hub,
    cls: type[Connector] = ReplayConnector,
    *,
    checkpoint: str = "ck.json",
    **options: Any,
) -> dict[str, int]:
    connector = cls(cls.Options.model_validate(options))
    producer = hub.kafka.producer(env.bootstrap)
    try:
        runner = Runner(
            connector,
            producer=producer,
            topics=Topics(env.prefix),
            checkpoint_path=env.workdir / checkpoint,
            source="urn:test:replay",
        )
        return asyncio.run(runner.run(install_signals=False))
    finally:
        producer.close(timeout=10)


def cloudevent(eid: str, etype: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": "urn:dept:test",
        "type": etype,
        "time": extra.pop("time", "2024-05-01T08:00:00Z"),
        "data": data,
        **extra,
    }


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_bytes(
        b"\n".join(x if isinstance(x, bytes) else orjson.dumps(x) for x in lines) + b"\n"
    )
    return path


def csv_rows(n: int, start: int = 1) -> str:
    return "".join(
        f"{i},2024-05-01T08:{i // 60:02d}:{i % 60:02d}+08:00,H2-{i % 3},S{i},{i * 10},,"
        "31.23,121.47,310115\n"
        for i in range(start, start + n)
    )


def published(env: Hub, domain: str, n: int) -> list[Any]:
    records = env.read_topic(Topics(env.prefix).events(domain), min_records=n, timeout=30)
    assert len(records) == n, [r.value for r in records]
    return records


def dead_letters(env: Hub, n: int) -> list[tuple[bytes, dict[str, str]]]:
    records = env.read_topic(Topics(env.prefix).deadletter, min_records=n, timeout=30)
    assert len(records) == n, [(r.value, read_deadletter(r.headers)) for r in records]
    out = [(r.value, read_deadletter(r.headers)) for r in records]
    return sorted(out, key=lambda x: int(x[1]["origin"].rsplit(":", 1)[1]))


def test_jsonl_cloudevents_go_to_their_domain_topics_with_their_keys(hub_env: Hub) -> None:
    file = write_jsonl(
        hub_env.workdir / "mixed.jsonl",
        [
            cloudevent(
                "r1", H2, {"site_id": "H2-07", "sensor_id": "s1", "h2_ppm": 120, "location": LOC}
            ),
            cloudevent(
                "c1",
                "city.security.crowd.density",
                {"camera_id": "cam-9", "persons_per_m2": 2.5, "location": LOC},
            ),
            cloudevent(
                "q1",
                "city.service.request.opened",
                {"request_id": "REQ-1", "service_code": "noise", "department": "env"},
                district="310115",
            ),
            b"",
            cloudevent(
                "r2", H2, {"site_id": "H2-08", "sensor_id": "s2", "h2_ppm": 4100, "location": LOC}
            ),
        ],
    )
    counts = replay(hub_env, file=str(file))
    assert counts["published"] == 4
    assert counts["rejected"] == 0

    safety = published(hub_env, "safety", 2)
    assert sorted((r.key, orjson.loads(r.value)["id"]) for r in safety) == [
        (b"H2-07", "r1"),
        (b"H2-08", "r2"),
    ]
    # Lines that already are CloudEvents are published as they were written.
    assert {r.value for r in safety} == {
        line for line in file.read_bytes().splitlines() if b'"site_id":"H2-0' in line
    }
    (security,) = published(hub_env, "security", 1)
    assert security.key == parse_structured(security.value).key.encode()
    (service,) = published(hub_env, "service", 1)
    assert service.key == b"REQ-1"


def test_csv_with_a_column_mapping_publishes_valid_hydrogen_readings(hub_env: Hub) -> None:
    file = hub_env.workdir / "readings.csv"
    file.write_text(
        CSV_HEADER
        + "1,2024-05-01T08:00:00+08:00,H2-07,H2-07-S1,120,35.2,31.2304,121.4737,310115\n"
        + "2,2024-05-01 08:00:10,H2-07,H2-07-S1,4200.5,,31.2304,121.4737,310115\n",
        encoding="utf-8",
    )
    counts = replay(
        hub_env,
        file=str(file),
        type=H2,
        column=CSV_COLUMNS,
        district_column="district",
        timezone="+08:00",
    )
    assert counts == {"published": 2, "duplicate": 0, "rejected": 0, "signalled": 0}

    events = sorted(
        (parse_structured(r.value) for r in published(hub_env, "safety", 2)),
        key=lambda e: e.envelope.id,
    )
    first, second = events
    assert first.envelope.id == "1"
    assert first.envelope.source == "urn:test:replay"
    assert first.envelope.district == "310115"
    assert first.envelope.time.isoformat() == "2024-05-01T00:00:00+00:00"
    # Numbers arrive as numbers (the models are strict), an empty optional cell is left out.
    raw_first = orjson.loads(
        next(r.value for r in published(hub_env, "safety", 2) if b'"id":"1"' in r.value)
    )
    assert raw_first["data"] == {
        "site_id": "H2-07",
        "sensor_id": "H2-07-S1",
        "h2_ppm": 120,
        "pressure_mpa": 35.2,
        "location": {"lat": 31.2304, "lon": 121.4737},
    }
    assert second.data.h2_ppm == 4200.5  # type: ignore[attr-defined]
    assert second.data.pressure_mpa is None  # type: ignore[attr-defined]
    assert second.envelope.time.isoformat() == "2024-05-01T00:00:10+00:00"  # --timezone applied


def test_bad_rows_are_dead_lettered_with_reason_and_origin_and_the_run_goes_on(
    hub_env: Hub,
) -> None:
    file = hub_env.workdir / "readings.csv"
    rows = [
        CSV_HEADER,
        "1,2024-05-01T08:00:00Z,H2-07,S1,120,,31.23,121.47,310115\n",  # line 2: good
        "2,2024-05-01T08:00:01Z,H2-07,S1,120,,31.23\n",  # line 3: too few columns
        "3,2024-05-01T08:00:02Z,H2-07,S1,lots,,31.23,121.47,310115\n",  # line 4: not a number
        "\n",  # line 5: blank, ignored
        "4,2024-05-01T08:00:03Z,H2-07,S1,-3,,31.23,121.47,310115\n",  # line 6: h2_ppm < 0
        "5,2024-05-01 08:00:04,H2-07,S1,10,,31.23,121.47,310115\n",  # line 7: no zone
        "6,2024-05-01T08:00:05Z,H2-07,S1,7,,31.23,121.47,310115\n",  # line 8: good
    ]
    file.write_text("".join(rows), encoding="utf-8")
    counts = replay(hub_env, file=str(file), type=H2, column=CSV_COLUMNS, set=["district=310115"])
    assert counts["published"] == 2
    assert counts["rejected"] == 4
    assert sorted(orjson.loads(r.value)["id"] for r in published(hub_env, "safety", 2)) == [
        "1",
        "6",
    ]

    letters = dead_letters(hub_env, 4)
    summary = [(h["origin"], h["reason"]) for _, h in letters]
    assert summary == [
        (f"{file}:3", "invalid-csv-row"),
        (f"{file}:4", "invalid-data"),
        (f"{file}:6", "invalid-data"),
        (f"{file}:7", "invalid-data"),
    ]
    details = [h["detail"] for _, h in letters]
    assert "missing: lon, district" in details[0]
    assert details[1] == "data.h2_ppm: column 'ppm' value 'lots' is not a number"
    assert details[2] == "data.h2_ppm: must be >= 0 (got -3)"
    assert "no zone offset" in details[3]
    assert "--timezone" in details[3]
    # The dead letter keeps the line as it was in the file, to fix and replay.
    assert [raw for raw, _ in letters] == [rows[i].rstrip("\n").encode() for i in (2, 3, 5, 6)]
    assert all(h["connector"] == "replay" for _, h in letters)


def test_bad_jsonl_lines_are_dead_lettered_with_their_line_numbers(hub_env: Hub) -> None:
    good = cloudevent(
        "ok", H2, {"site_id": "H2-07", "sensor_id": "s1", "h2_ppm": 1, "location": LOC}
    )
    file = write_jsonl(
        hub_env.workdir / "events.jsonl",
        [good, b'{"specversion": "1.0", "id": "broken', b"[1, 2]", {**good, "type": "nope.x"}],
    )
    counts = replay(hub_env, file=str(file))
    assert counts["published"] == 1
    assert counts["rejected"] == 3
    letters = dead_letters(hub_env, 3)
    assert [(h["origin"], h["reason"]) for _, h in letters] == [
        (f"{file}:2", "invalid-json"),
        (f"{file}:3", "not-an-object"),
        (f"{file}:4", "unknown-type"),
    ]
    assert letters[0][0] == b'{"specversion": "1.0", "id": "broken'


def test_a_restarted_replay_resumes_after_its_checkpoint(hub_env: Hub) -> None:
    file = hub_env.workdir / "readings.csv"
    file.write_text(CSV_HEADER + csv_rows(10), encoding="utf-8")
    options: dict[str, Any] = {
        "file": str(file),
        "type": H2,
        "column": CSV_COLUMNS,
        "set": ["district=310115"],
    }
    first = replay(hub_env, limit=4, **options)
    assert first["published"] == 4
    saved = json.loads((hub_env.workdir / "ck.json").read_text())
    assert saved["position"]["line"] == 5  # header + 4 rows
    second = replay(hub_env, **options)
    assert second["published"] == 6
    assert second["duplicate"] == 0

    ids = [orjson.loads(r.value)["id"] for r in published(hub_env, "safety", 10)]
    assert sorted(ids, key=int) == [str(i) for i in range(1, 11)]  # each once, none skipped

    # The same path overwritten by a new export is not resumed into: its rows are new.
    file.write_text(CSV_HEADER + csv_rows(3, start=100), encoding="utf-8")
    third = replay(hub_env, **options)
    assert third["published"] == 3
    published(hub_env, "safety", 13)


def test_original_pace_waits_between_records_by_their_event_times(hub_env: Hub) -> None:
    events = [
        cloudevent(
            f"p{i}",
            H2,
            {"site_id": "H2-07", "sensor_id": "s1", "h2_ppm": i, "location": LOC},
            time=f"2024-05-01T08:00:{i * 20:02d}Z",
        )
        for i in range(3)
    ]
    file = write_jsonl(hub_env.workdir / "paced.jsonl", events)
    started = time.monotonic()
    counts = replay(hub_env, file=str(file), pace="original", speed=40)  # 20 s gaps -> 0.5 s
    elapsed = time.monotonic() - started
    assert counts["published"] == 3
    assert elapsed >= 0.9, elapsed
    assert elapsed < 20, elapsed

    started = time.monotonic()
    replay(hub_env, checkpoint="fast.json", file=str(file), pace="fast")
    assert time.monotonic() - started < elapsed


def dept_mapping(record: dict[str, Any]) -> Draft | None:
    """A department's mapping, as it would write one."""
    if record.get("kind") == "heartbeat":
        return None
    if "ppm" not in record:
        raise MappingError("no ppm in the record", reason="missing-ppm")
    return Draft(
        type=H2,
        id=f"no-{record['no']}",
        time=record["at"],
        district="310115",
        data={
            "site_id": record["station"],
            "sensor_id": record["station"] + "-S1",
            "h2_ppm": record["ppm"],
            "location": {"lat": record["lat"], "lon": record["lon"]},
        },
    )


def test_a_connector_made_from_a_mapping_function(hub_env: Hub) -> None:
    cls = connector_from_mapping("mydept", dept_mapping)
    assert issubclass(cls, ReplayConnector)
    assert cls.name == "mydept"
    assert "column" not in cls.Options.model_fields  # the mapping replaces the column options
    base = {"at": "2024-05-01T08:00:00Z", "station": "ST-1", "lat": 31.2, "lon": 121.4}
    file = write_jsonl(
        hub_env.workdir / "export.jsonl",
        [
            {**base, "no": 1, "ppm": 10},
            {"kind": "heartbeat"},
            {**base, "no": 2},
            {**base, "ppm": 5},  # no "no": the mapping crashes with a KeyError
            {**base, "no": 3, "ppm": 30},
        ],
    )
    counts = replay(hub_env, cls, file=str(file))
    assert counts["published"] == 2
    assert counts["rejected"] == 2

    events = [parse_structured(r.value) for r in published(hub_env, "safety", 2)]
    assert sorted(e.envelope.id for e in events) == ["no-1", "no-3"]
    letters = dead_letters(hub_env, 2)
    assert [(h["origin"], h["reason"], h["connector"]) for _, h in letters] == [
        (f"{file}:3", "missing-ppm", "mydept"),
        (f"{file}:4", "mapping-crashed", "mydept"),
    ]
    assert "KeyError" in letters[1][1]["detail"]


def test_cli_help_lists_the_options_and_bad_values_fail_cleanly(hub_env: Hub) -> None:
    shown = hub_env.run("connector", "run", "replay", "--help")
    assert shown.returncode == 0, shown.stderr
    for option in (
        "--file",
        "--format",
        "--mapping",
        "--column",
        "--type",
        "--set",
        "--district-column",
        "--pace",
        "--speed",
        "--limit",
        "--timezone",
    ):
        assert option in shown.stdout, option

    csv_file = hub_env.workdir / "r.csv"
    csv_file.write_text(CSV_HEADER + csv_rows(2), encoding="utf-8")
    for args, message, code in [
        (["--file", "missing.jsonl"], "invalid connector option --file: no such file", 2),
        (["--file", str(csv_file), "--type", H2, "--column", "h2_ppm"], "not FIELD=COLUMN", 2),
        (
            ["--file", str(csv_file), "--type", H2, "--column", "data.h2_ppm=nope"],
            "the CSV has no column for --column data.h2_ppm=nope",
            1,  # found once the file is opened
        ),
    ]:
        result = hub_env.run("connector", "run", "replay", *args)
        assert result.returncode == code, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr

    # The same validation, in-process for the other mistakes (the CLI calls `validate`).
    mistakes: list[tuple[dict[str, Any], str]] = [
        ({"file": str(csv_file)}, "a CSV file needs --type and --column"),
        ({"file": str(csv_file), "speed": 0}, "--speed: Input should be greater than 0"),
        ({"file": str(csv_file), "type": "city.nope"}, "is not a v1 event type"),
        ({"file": str(csv_file), "type": H2, "set": ["data.location.lat=north"]}, "not a number"),
        ({"file": str(csv_file), "timezone": "Mars/Base"}, "unknown time zone"),
        ({"file": str(csv_file), "mapping": "no_such_module:f"}, "cannot import"),
        ({"file": "-"}, "cannot tell the format of standard input"),
    ]
    for values, message in mistakes:
        with pytest.raises(UserError, match=re.escape(message)) as caught:
            validate(ReplayOptions, values)
        assert caught.value.exit_code == 2


def test_cli_replays_a_csv_and_stdin_and_a_mapping_module(hub_env: Hub) -> None:
    csv_file = hub_env.workdir / "r.csv"
    csv_file.write_text(CSV_HEADER + csv_rows(3), encoding="utf-8")
    columns = [arg for pair in CSV_COLUMNS for arg in ("--column", pair)]
    result = hub_env.run(
        "connector",
        "run",
        "replay",
        "--file",
        str(csv_file),
        "--type",
        H2,
        *columns,
        "--district-column",
        "district",
    )
    assert result.returncode == 0, result.stderr
    assert "published 3" in result.stderr

    event = cloudevent(
        "stdin-1", H2, {"site_id": "H2-07", "sensor_id": "s1", "h2_ppm": 1, "location": LOC}
    )
    piped = subprocess.run(
        [
            ONENET,
            "connector",
            "run",
            "replay",
            "--file",
            "-",
            "--format",
            "jsonl",
            "--instance",
            "stdin",
        ],
        input=orjson.dumps(event) + b"\nnot json\n",
        env=hub_env.env(),
        cwd=hub_env.workdir,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 1, piped.stderr  # a finite input with a reject exits 1
    assert b"published 1" in piped.stderr
    assert b"rejected 1" in piped.stderr

    (hub_env.workdir / "deptmap.py").write_text(
        "from connectors.sdk import Draft\n"
        "def to_event(r):\n"
        f"    return Draft(type={H2!r}, id=r['id'], time=r['t'], data={{'site_id': 'M',"
        " 'sensor_id': 'M1', 'h2_ppm': r['v'], 'location': {'lat': 1.0, 'lon': 2.0}})\n"
    )
    mapped = write_jsonl(
        hub_env.workdir / "m.jsonl", [{"id": "m1", "t": "2024-05-01T00:00:00Z", "v": 3}]
    )
    result = hub_env.run(
        "connector",
        "run",
        "replay",
        "--file",
        str(mapped),
        "--mapping",
        "deptmap:to_event",
        "--instance",
        "mapped",
        PYTHONPATH=str(hub_env.workdir),
    )
    assert result.returncode == 0, result.stderr
    ids = {orjson.loads(r.value)["id"] for r in published(hub_env, "safety", 5)}
    assert {"stdin-1", "m1", "1", "2", "3"} == ids
    (letter,) = dead_letters(hub_env, 1)
    assert letter[1]["origin"] == "stdin:2"
    assert letter[1]["reason"] == "invalid-json"
