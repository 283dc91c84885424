"""The Open311 connector against a real GeoReport v2 HTTP server on loopback and a real Kafka."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from connectors.open311 import Open311Connector, Open311Options
from connectors.sdk.runner import Runner
from hub.errors import UserError
from hub.events import read_deadletter
from hub.kafka import producer
from hub.topics import Topics
from tests.support.hubproc import Hub
from tests.support.open311_server import Open311Server

pytestmark = pytest.mark.timeout(120)

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
SOURCE = "urn:onenet:connector:open311:test"


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def request(rid: str, minutes: float, status: str = "open", **fields: Any) -> dict[str, Any]:
    """A record shaped like the GeoReport v2 spec's example response."""
    record: dict[str, Any] = {
        "service_request_id": rid,
        "status": status,
        "status_notes": None,
        "service_name": "Pothole",
        "service_code": "POT",
        "description": "A hole in the road",
        "agency_responsible": "DOT",
        "service_notice": "",
        "requested_datetime": at(minutes),
        "updated_datetime": at(minutes),
        "expected_datetime": None,
        "address": "1 Main St",
        "address_id": "",
        "zipcode": "200001",
        "lat": 31.23,
        "long": 121.47,
        "media_url": "",
    }
    record.update(fields)
    return record


@pytest.fixture
def server() -> Iterator[Open311Server]:
    with Open311Server() as running:
        yield running


def make_runner(hub: Hub, tmp_path: Path, **options: Any) -> Runner:
    return Runner(
        Open311Connector(Open311Options(**options)),
        producer=producer(hub.bootstrap),
        topics=Topics(hub.prefix),
        checkpoint_path=tmp_path / "ck.json",
        source=SOURCE,
        checkpoint_interval=0.5,
    )


def run_once(hub: Hub, tmp_path: Path, **options: Any) -> dict[str, int]:
    runner = make_runner(hub, tmp_path, once=True, **options)
    try:
        return asyncio.run(runner.run(install_signals=False))
    finally:
        runner.producer.close(timeout=5)


def events(hub: Hub, count: int) -> list[tuple[bytes, dict[str, Any]]]:
    records = hub.read_topic(Topics(hub.prefix).service, min_records=count, timeout=30)
    return [(r.key, orjson.loads(r.value)) for r in records]


def test_opened_and_closed_events_then_the_bound_is_sent_and_restarts_lose_nothing(
    server: Open311Server, hub: Hub, tmp_path: Path
) -> None:
    server.add(**request("A", 0))
    server.add(**request("B", 5, "closed", updated_datetime=at(30), status_notes="Filled"))
    server.add(**request("C", 10, lat=None, long=None))
    options = {
        "base_url": server.base_url,
        "page_size": 2,
        "department_map": ["DOT=transport"],
        "district_field": "zipcode",
    }
    first = run_once(hub, tmp_path, **options)
    assert first == {"published": 4, "duplicate": 0, "rejected": 0, "signalled": 0}
    assert server.queries == [{"page": "1", "page_size": "2"}, {"page": "2", "page_size": "2"}]

    published = events(hub, 4)
    assert [key for key, _ in published] == [b"A", b"B", b"B", b"C"]
    by_id = {e["id"]: e for _, e in published}
    assert set(by_id) == {"A/open", "B/open", "B/closed", "C/open"}
    assert by_id["A/open"]["type"] == "city.service.request.opened"
    assert by_id["A/open"]["data"] == {
        "request_id": "A",
        "service_code": "POT",
        "department": "transport",
        "location": {"lat": 31.23, "lon": 121.47},
    }
    assert by_id["A/open"]["time"] == at(0)
    assert by_id["A/open"]["district"] == "200001"
    assert by_id["B/closed"]["type"] == "city.service.request.closed"
    assert by_id["B/closed"]["data"] == {
        "request_id": "B",
        "department": "transport",
        "outcome": "Filled",
    }
    assert by_id["B/closed"]["time"] == at(30)
    assert "location" not in by_id["C/open"]["data"]
    checkpoint = orjson.loads((tmp_path / "ck.json").read_bytes())
    assert checkpoint["position"] == {"since": at(10)}  # newest requested_datetime

    # Late arrivals: E has exactly the bound's time, F is older but inside the overlap window.
    server.add(**request("D", 20))
    server.add(**request("E", 10))
    server.add(**request("F", 8))
    server.queries.clear()
    second = run_once(hub, tmp_path, **options)  # a restart: a new runner on the same checkpoint
    assert server.queries[0] == {"start_date": at(5), "page": "1", "page_size": "2"}
    # B and C came again through the overlap and were recognised as duplicates.
    assert second == {"published": 3, "duplicate": 3, "rejected": 0, "signalled": 0}
    ids = [e["id"] for _, e in events(hub, 7)]
    assert sorted(ids) == ["A/open", "B/closed", "B/open", "C/open", "D/open", "E/open", "F/open"]
    assert len(ids) == len(set(ids)) == 7
    assert orjson.loads((tmp_path / "ck.json").read_bytes())["position"] == {"since": at(20)}


def test_continuous_polling_with_updated_after_sees_a_closure(
    server: Open311Server, hub: Hub, tmp_path: Path
) -> None:
    server.add(**request("A", 0, agency_responsible=None))
    runner = make_runner(
        hub,
        tmp_path,
        base_url=server.base_url,
        since_param="updated_after",
        interval=0.2,
        overlap=60,
        department="roads",
        district="310101",
    )

    async def scenario() -> dict[str, int]:
        task = asyncio.create_task(runner.run(install_signals=False))
        await asyncio.to_thread(events, hub, 1)
        while len(server.queries) < 2:  # a poll with A's bound happened before A closes
            await asyncio.sleep(0.05)
        server.update("A", status="closed", updated_datetime=at(90), status_notes="Fixed")
        closed = await asyncio.to_thread(events, hub, 2)
        assert [e["type"] for _, e in closed][-1] == "city.service.request.closed"
        runner.stopping.set()
        return await asyncio.wait_for(task, timeout=30)

    try:
        counts = asyncio.run(scenario())
    finally:
        runner.producer.close(timeout=5)
    assert counts["published"] == 2
    assert counts["signalled"] == 1
    bounds = [q.get("updated_after") for q in server.queries]
    assert bounds[0] is None
    assert at(-1) in bounds  # 0 minus the 60 s overlap, while A was open
    assert bounds[-1] == at(89)  # after the closure: its updated_datetime minus the overlap
    _, closed_event = events(hub, 2)[1]
    assert closed_event["data"] == {"request_id": "A", "department": "roads", "outcome": "Fixed"}
    assert closed_event["district"] == "310101"


def test_malformed_records_are_dead_lettered_with_reasons(
    server: Open311Server, hub: Hub, tmp_path: Path
) -> None:
    server.add(**request("GOOD", 0))
    server.add(**request("NO-TIME", 1, requested_datetime=None))
    server.add(**request("WORDY", 2, lat="north"))
    server.add(**request("POLAR", 3, lat=123.0))
    server.add(**request("ODD", 4, status="pending"))
    server.add(**request("ORPHAN", 5, agency_responsible=None))
    server.add(**request("LOCAL", 6, requested_datetime="2024-05-01T08:06:00"))
    server.requests.append("oops")
    counts = run_once(hub, tmp_path, base_url=server.base_url)
    assert counts["published"] == 1
    assert counts["rejected"] == 7

    dead = hub.read_topic(Topics(hub.prefix).deadletter, min_records=7, timeout=30)
    letters = {}
    for record in dead:
        headers = read_deadletter(record.headers)
        body = orjson.loads(record.value)
        name = body.get("service_request_id") if isinstance(body, dict) else body
        letters[name] = headers
        assert headers["origin"].startswith(f"{server.base_url}/requests.json?page=1")
        assert headers["connector"] == "open311"
    assert letters["NO-TIME"]["reason"] == "missing-field"
    assert "requested_datetime" in letters["NO-TIME"]["detail"]
    assert letters["WORDY"]["reason"] == "invalid-data"
    assert "data.location.lat: must be a number (got 'north')" in letters["WORDY"]["detail"]
    assert letters["POLAR"]["reason"] == "invalid-data"
    assert "data.location.lat: must be <= 90" in letters["POLAR"]["detail"]
    assert letters["ODD"]["reason"] == "unknown-status"
    assert letters["ORPHAN"]["reason"] == "missing-department"
    assert letters["LOCAL"]["reason"] == "invalid-time"
    assert "--assume-tz" in letters["LOCAL"]["detail"]
    assert letters["oops"]["reason"] == "not-an-object"


def test_slow_500_and_malformed_answers_are_retried_then_the_poll_succeeds(
    server: Open311Server, hub: Hub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.add(**request("A", 0))
    server.slow, server.slow_seconds = 1, 1.5
    server.errors_500 = 1
    server.malformed = 1
    caplog.set_level(logging.WARNING, logger="onenet.connector.open311")
    started = time.monotonic()
    counts = run_once(hub, tmp_path, base_url=server.base_url, timeout=0.4, backoff=0.05)
    assert time.monotonic() - started < 10
    assert counts["published"] == 1
    assert len(server.queries) == 4  # slow (timed out), 500, malformed body, then the answer
    warnings = "\n".join(r.getMessage() for r in caplog.records)
    assert "timeout" in warnings
    assert "http-500" in warnings
    assert "invalid-response: body is not JSON" in warnings
    assert [e["id"] for _, e in events(hub, 1)] == ["A/open"]


def test_a_body_that_stays_malformed_is_dead_lettered_and_the_bound_does_not_move(
    server: Open311Server, hub: Hub, tmp_path: Path
) -> None:
    server.add(**request("A", 0))
    options = {"base_url": server.base_url, "retries": 1, "backoff": 0.05}
    run_once(hub, tmp_path, **options)
    before = (tmp_path / "ck.json").read_bytes()
    server.malformed = 99
    with pytest.raises(UserError, match="invalid-response"):
        run_once(hub, tmp_path, **options)
    assert (tmp_path / "ck.json").read_bytes() == before
    dead = hub.read_topic(Topics(hub.prefix).deadletter, min_records=1, timeout=30)
    assert len(dead) == 1
    headers = read_deadletter(dead[0].headers)
    assert headers["reason"] == "invalid-response"
    assert headers["origin"].startswith(f"{server.base_url}/requests.json?start_date=")
    assert dead[0].value == b'[{"service_request_id": "trunc'


def test_cli_polls_once(server: Open311Server, hub: Hub) -> None:
    server.add(**request("A", 0))
    server.add(**request("B", 1, "closed", updated_datetime=at(2)))
    result = hub.run(
        "connector",
        "run",
        "open311",
        "--base-url",
        server.base_url,
        "--once",
        "--status",
        "open",
        "--status",
        "closed",
        "--page-size",
        "0",
    )
    assert result.returncode == 0, result.stderr
    assert "open311: published 3, duplicates 0, rejected 0" in result.stderr
    assert server.queries == [{"status": "open,closed"}]
