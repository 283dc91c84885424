"""The HTTP ingest on a real broker, spoken to over real HTTP (httpx) on a loopback port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import hub.kafka
from connectors.http import HttpIngestConnector, HttpOptions
from connectors.http.auth import IngestTokens, hash_token, load_tokens
from connectors.sdk.options import validate
from connectors.sdk.runner import Runner
from hub.errors import UserError
from hub.events import read_deadletter
from hub.kafka import TopicSpec
from hub.topics import Topics
from tests.support.hubproc import Hub

H2 = "city.safety.hydrogen.reading"
ENERGY_TOKEN = "energy-secret-token"
POLICE_TOKEN = "police-secret-token"
STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def energy(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {ENERGY_TOKEN}", **(extra or {})}


def reading(eid: str, ppm: float = 120, source: str = "urn:dept:energy:h2") -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": source,
        "type": H2,
        "time": "2024-05-01T08:00:00Z",
        "district": "310115",
        "data": {
            "site_id": "H2-07",
            "sensor_id": "H2-07-S1",
            "h2_ppm": ppm,
            "location": {"lat": 31.23, "lon": 121.47},
        },
    }


def incident(eid: str, source: str = "urn:dept:police:video") -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": eid,
        "source": source,
        "type": "city.security.incident.reported",
        "time": "2024-05-01T08:00:00Z",
        "data": {"incident_id": eid, "category": "fight", "location": {"lat": 31.2, "lon": 121.4}},
    }


@dataclass
class Ingest:
    """A running HTTP ingest connector (runner and server on their own thread and loop)."""

    url: str
    env: Hub
    connector: HttpIngestConnector
    runner: Runner
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    outcome: dict[str, Any] = field(default_factory=dict)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def stop(self) -> dict[str, Any]:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.runner.stopping.set)
        self.thread.join(30)
        assert not self.thread.is_alive(), "the connector did not stop"
        return self.outcome

    def topic(self, domain: str, n: int, timeout: float = 10) -> list[Any]:
        return self.env.read_topic(
            Topics(self.env.prefix).events(domain), min_records=n, timeout=timeout
        )

    def dead_letters(self, n: int) -> list[tuple[bytes, dict[str, str]]]:
        records = self.env.read_topic(Topics(self.env.prefix).deadletter, min_records=n)
        assert len(records) == n, [(r.value, read_deadletter(r.headers)) for r in records]
        return [(r.value, read_deadletter(r.headers)) for r in records]


def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.toml"
    path.write_text(
        f'[tokens.{hash_token(ENERGY_TOKEN)}]\nname = "energy"\nsources = ["urn:dept:energy:"]\n'
        f'[tokens.{hash_token(POLICE_TOKEN)}]\nname = "police"\nsources = ["urn:dept:police:"]\n'
    )
    return path


@contextmanager
def serve(env: Hub, *, producer: dict[str, Any] | None = None, **options: Any) -> Iterator[Ingest]:
    connector = HttpIngestConnector(
        HttpOptions(tokens_file=tokens_file(env.workdir), port=0, **options)
    )
    kafka_producer = hub.kafka.producer(env.bootstrap, **(producer or {}))
    runner = Runner(
        connector,
        producer=kafka_producer,
        topics=Topics(env.prefix),
        checkpoint_path=env.workdir / "ck.json",
        source="urn:test:http",
        checkpoint_interval=3600,
    )
    loop = asyncio.new_event_loop()
    outcome: dict[str, Any] = {}

    def main() -> None:
        try:
            outcome["counts"] = loop.run_until_complete(runner.run(install_signals=False))
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="http-ingest", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not connector.listening.is_set():
        assert thread.is_alive(), f"the connector died: {outcome}"
        assert time.monotonic() < deadline, "the connector did not start listening"
        time.sleep(0.02)
    ingest = Ingest(f"http://127.0.0.1:{connector.port}", env, connector, runner, loop, thread)
    ingest.outcome = outcome
    try:
        yield ingest
    finally:
        ingest.stop()
        kafka_producer.close(timeout=10)


@pytest.fixture
def env(kafka_bootstrap: str, tmp_path: Path) -> Hub:
    hub_env = Hub(kafka_bootstrap, tmp_path)
    specs = [TopicSpec(name, 3, 1) for name in Topics(hub_env.prefix).all()]
    hub.kafka.ensure_topics(kafka_bootstrap, specs)
    return hub_env


def test_health_readiness_and_a_clean_stop(env: Hub) -> None:
    with serve(env) as ingest, ingest.client() as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert http.get("/events").status_code == 405
        port = ingest.connector.port
        assert port
        outcome = ingest.stop()
    assert outcome["counts"]["signalled"] == 1
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=2),
    ):
        pass  # the port is closed once stopped


def test_202_comes_only_once_the_event_is_readable_from_kafka(env: Hub) -> None:
    with serve(env) as ingest, ingest.client() as http:
        response = http.post(
            "/events", content=orjson.dumps(reading("r-1")), headers=energy(STRUCTURED)
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["accepted"] == 1
        assert body["duplicates"] == 0
        assert body["ids"] == ["r-1"]
        # Readable right now: no waiting for records that are still on their way.
        (record,) = ingest.topic("safety", 0, timeout=0)
        assert record.key == b"H2-07"
        assert orjson.loads(record.value)["id"] == "r-1"

        again = http.post(
            "/events", content=orjson.dumps(reading("r-1")), headers=energy(STRUCTURED)
        )
        assert again.status_code == 202
        assert again.json()["accepted"] == 0
        assert again.json()["duplicates"] == 1
        assert len(ingest.topic("safety", 1)) == 1


def test_status_codes_say_what_to_fix(env: Hub) -> None:
    event = orjson.dumps(reading("s-1"))
    with serve(env, max_batch=3) as ingest, ingest.client() as http:
        missing = http.post("/events", content=event, headers=STRUCTURED)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in missing.json()["detail"]

        wrong = http.post(
            "/events", content=event, headers={**STRUCTURED, "Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        assert "invalid_token" in wrong.headers["www-authenticate"]

        plain = http.post("/events", content=event, headers=energy({"Content-Type": "text/plain"}))
        assert plain.status_code == 415
        assert "application/cloudevents+json" in plain.json()["detail"]

        broken = http.post("/events", content=b'{"id": ', headers=energy(STRUCTURED))
        assert broken.status_code == 400
        (item,) = broken.json()["items"]
        assert item["status"] == "rejected"
        assert item["reason"] == "invalid-json"

        negative = http.post(
            "/events", content=orjson.dumps(reading("s-neg", ppm=-3)), headers=energy(STRUCTURED)
        )
        assert negative.status_code == 400
        (item,) = negative.json()["items"]
        assert item["reason"] == "invalid-data"
        assert item["detail"] == "data.h2_ppm: must be >= 0 (got -3)"

        empty = http.post("/events", content=b"[]", headers=energy(BATCH))
        assert empty.status_code == 422
        assert empty.json()["error"] == "empty-batch"
        too_many = [reading(f"b-{i}") for i in range(4)]
        big = http.post("/events", content=orjson.dumps(too_many), headers=energy(BATCH))
        assert big.status_code == 422
        assert "over the limit of 3" in big.json()["detail"]
        not_array = http.post("/events", content=event, headers=energy(BATCH))
        assert not_array.status_code == 400
        assert not_array.json()["error"] == "invalid-batch"

        assert ingest.topic("safety", 0, timeout=0) == []  # nothing of that was published

        # Bad input is dead-lettered with its reason; refused requests (401/415/422) are not.
        letters = ingest.dead_letters(3)
        assert sorted(h["reason"] for _, h in letters) == [
            "invalid-batch",
            "invalid-data",
            "invalid-json",
        ]
        assert all(h["origin"].startswith("http:energy@127.0.0.1") for _, h in letters)
        assert {raw for raw, _ in letters} >= {b'{"id": ', event}


def test_tokens_may_publish_only_under_their_sources(env: Hub) -> None:
    with serve(env) as ingest, ingest.client() as http:
        forged = http.post(
            "/events", content=orjson.dumps(incident("i-1")), headers=energy(STRUCTURED)
        )
        assert forged.status_code == 403
        (item,) = forged.json()["items"]
        assert item["reason"] == "forbidden-source"
        assert "'urn:dept:police:video' is not allowed for token 'energy'" in item["detail"]

        own = http.post(
            "/events",
            content=orjson.dumps(incident("i-1")),
            headers={**STRUCTURED, "Authorization": f"Bearer {POLICE_TOKEN}"},
        )
        assert own.status_code == 202, own.text
        (record,) = ingest.topic("security", 1)
        assert orjson.loads(record.value)["source"] == "urn:dept:police:video"

        ((raw, headers),) = ingest.dead_letters(1)
        assert headers["reason"] == "forbidden-source"
        assert orjson.loads(raw)["id"] == "i-1"


def test_a_mixed_batch_reports_each_item_and_publishes_the_good_ones(env: Hub) -> None:
    batch: list[Any] = [
        reading("m-0"),
        reading("m-1", ppm=-3),
        "not an event",
        reading("m-3", ppm=4200),
        reading("m-0"),  # a re-sent duplicate of the first
    ]
    with serve(env) as ingest, ingest.client() as http:
        response = http.post("/events", content=orjson.dumps(batch), headers=energy(BATCH))
        assert response.status_code == 400, response.text
        body = response.json()
        assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 2)
        assert body["ids"] == ["m-0", "m-3", "m-0"]
        assert [(i["index"], i["status"]) for i in body["items"]] == [
            (0, "published"),
            (1, "rejected"),
            (2, "rejected"),
            (3, "published"),
            (4, "duplicate"),
        ]
        assert body["items"][1]["detail"] == "data.h2_ppm: must be >= 0 (got -3)"
        assert body["items"][2]["reason"] == "not-an-object"
        ids = sorted(orjson.loads(r.value)["id"] for r in ingest.topic("safety", 0, timeout=0))
        assert ids == ["m-0", "m-3"]

        # A forbidden source makes the batch 403; the allowed items are still published.
        mixed = [reading("m-5"), incident("m-6")]
        forbidden = http.post("/events", content=orjson.dumps(mixed), headers=energy(BATCH))
        assert forbidden.status_code == 403
        assert [i["status"] for i in forbidden.json()["items"]] == ["published", "forbidden"]

        letters = ingest.dead_letters(3)
        assert sorted((h["origin"], h["reason"]) for _, h in letters) == [
            ("http:energy@127.0.0.1#1", "forbidden-source"),
            ("http:energy@127.0.0.1#1", "invalid-data"),
            ("http:energy@127.0.0.1#2", "not-an-object"),
        ]


def test_binary_mode_takes_attributes_from_ce_headers(env: Hub) -> None:
    headers = energy(
        {
            "Content-Type": "application/json",
            "ce-specversion": "1.0",
            "ce-id": "bin-1",
            "ce-source": "urn:dept:energy:h2",
            "ce-type": H2,
            "ce-time": "2024-05-01T08:00:00Z",
            "ce-district": "310115",
        }
    )
    data = reading("x")["data"]
    with serve(env) as ingest, ingest.client() as http:
        response = http.post("/events", content=orjson.dumps(data), headers=headers)
        assert response.status_code == 202, response.text
        (record,) = ingest.topic("safety", 0, timeout=0)
        event = orjson.loads(record.value)
        assert (event["id"], event["district"], event["data"]) == ("bin-1", "310115", data)

        no_type = {k: v for k, v in headers.items() if k != "ce-type"}
        missing = http.post("/events", content=orjson.dumps(data), headers=no_type)
        assert missing.status_code == 400
        assert missing.json()["items"][0]["reason"] == "invalid-envelope"
        assert "type" in missing.json()["items"][0]["detail"]

        bad_body = http.post("/events", content=b"{oops", headers=headers)
        assert bad_body.status_code == 400
        assert bad_body.json()["items"][0]["reason"] == "invalid-json"

        xml = http.post("/events", content=b"<a/>", headers={**headers, "Content-Type": "text/xml"})
        assert xml.status_code == 415

        reasons = sorted(h["reason"] for _, h in ingest.dead_letters(2))
        assert reasons == ["invalid-envelope", "invalid-json"]


def test_the_body_size_limit_holds_for_declared_and_chunked_bodies(env: Hub) -> None:
    too_big = orjson.dumps([reading(f"big-{i}") for i in range(20)])  # about 5 KB
    assert len(too_big) > 4096

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(too_big), 512):
            yield too_big[i : i + 512]

    with serve(env, max_body_bytes=4096) as ingest, ingest.client() as http:
        declared = http.post("/events", content=too_big, headers=energy(BATCH))
        assert declared.status_code == 413, declared.text
        assert "Content-Length" in declared.json()["detail"]

        chunked = http.post("/events", content=chunks(), headers=energy(BATCH))
        assert chunked.request.headers.get("transfer-encoding") == "chunked"
        assert chunked.status_code == 413, chunked.text
        assert "over the 4096-byte limit" in chunked.json()["detail"]

        # The server is still fine afterwards.
        ok = http.post(
            "/events", content=orjson.dumps(reading("small")), headers=energy(STRUCTURED)
        )
        assert ok.status_code == 202
        assert len(ingest.topic("safety", 1)) == 1


def test_503_when_the_broker_does_not_acknowledge(env: Hub) -> None:
    # A broker that refuses the record: the topic takes nothing larger than 64 bytes.
    prefix = env.prefix + "-refuse"
    topics = Topics(prefix)
    hub.kafka.ensure_topics(
        env.bootstrap,
        [TopicSpec(topics.safety, 1, 1, {"max.message.bytes": "64"})]
        + [TopicSpec(t, 1, 1) for t in topics.all() if t != topics.safety],
    )
    env.prefix = prefix
    with serve(env) as ingest, ingest.client() as http:
        response = http.post(
            "/events", content=orjson.dumps(reading("lost")), headers=energy(STRUCTURED)
        )
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"]
        (item,) = response.json()["items"]
        assert item["status"] == "failed"
        assert item["reason"] == "broker-unavailable"
        # The failure was the caller's to handle (a 503): the endpoint stays up.
        assert http.get("/healthz").status_code == 200
        outcome = ingest.stop()
    assert outcome.get("error") is None


def test_a_tokens_file_must_hold_hashes(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(orjson.dumps({"plain-token": ["urn:dept:energy:"]}).decode())
    with pytest.raises(UserError, match="not a SHA-256 hex digest"):
        load_tokens(path)
    # On the command line that is a usage error (exit 2), before anything connects.
    with pytest.raises(UserError, match=r"--tokens-file: .* not a SHA-256") as caught:
        validate(HttpOptions, {"tokens_file": path})
    assert caught.value.exit_code == 2
    path.write_text(orjson.dumps({hash_token("t"): ["urn:a:"]}).decode())
    assert load_tokens(path)[hash_token("t")].allows("urn:a:x")


def test_the_tokens_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(orjson.dumps({hash_token("old"): ["urn:a:"]}).decode())
    store = IngestTokens(path, reload_every=0)
    assert store.lookup("old") is not None
    path.write_text(
        orjson.dumps({"tokens": {hash_token("new"): {"name": "b", "sources": ["urn:b:"]}}}).decode()
    )
    grant = store.lookup("new")
    assert grant is not None
    assert grant.name == "b"
    assert store.lookup("old") is None  # revoked without a restart
    path.write_text("{broken")
    assert store.lookup("new") is not None  # a broken edit keeps the tokens in force
