"""Every client of the hub over SASL_SSL (SCRAM-SHA-512) against a broker that enforces ACLs.

One secured broker for the module: its own CA, SCRAM users created at format, the
StandardAuthorizer with `admin` as the only user super user. Each test is an isolated hub
(topic prefix, app id) whose ACLs `onenet acl apply` grants as the admin.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from hub.view.config import ViewSettings
from tests.support.hubproc import Hub
from tests.support.readings import reading
from tests.support.secure import ADMIN, DEPARTMENTS, VIEW, WORKERS, Secured, secured_broker
from tests.view.support import serve_settings, wait_for, write_tokens

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    with secured_broker(tmp_path_factory.mktemp("secured")) as s:
        yield s


@pytest.fixture
def hub(secured: Secured, tmp_path: Path) -> Hub:
    """Topics created and ACLs granted by the admin, both over SASL_SSL."""
    h = Hub(secured.bootstrap, tmp_path)
    created = h.run("topics", "create", **secured.env(ADMIN))
    assert created.returncode == 0, created.stderr
    applied = h.run("acl", "apply", **secured.env(ADMIN))
    assert applied.returncode == 0, applied.stderr
    return h


def as_user(secured: Secured, hub: Hub, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    return hub.run(*args, timeout=180, **secured.env(user))


INCIDENT = {
    "specversion": "1.0",
    "id": "inc-1",
    "source": "urn:test:police",
    "type": "city.security.incident.reported",
    "time": "2026-11-27T08:03:20Z",
    "district": "310101",
    "data": {
        "incident_id": "INC-1",
        "category": "theft",
        "location": {"lat": 31.2287, "lon": 121.482},
    },
}


def jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def test_a_department_cannot_write_another_domains_topic(
    secured: Secured, hub: Hub, tmp_path: Path
) -> None:
    mixed = jsonl(tmp_path / "mixed.jsonl", [reading("own-1", "S-OWN", -5, 100), INCIDENT])
    published = as_user(secured, hub, DEPARTMENTS["safety"], "publish", str(mixed))
    assert published.returncode == 1, published.stderr
    assert "Traceback" not in published.stderr
    assert f"{hub.prefix}.events.security" in published.stderr
    assert "TopicAuthorizationFailed" in published.stderr
    assert "published 1 of 2 events" in published.stderr

    # The same through a connector: the department's replay of a security event is refused.
    replay = as_user(
        secured,
        hub,
        DEPARTMENTS["safety"],
        "connector",
        "run",
        "replay",
        "--file",
        str(jsonl(tmp_path / "incident.jsonl", [INCIDENT])),
    )
    assert replay.returncode != 0, replay.stderr
    assert "Traceback" not in replay.stderr
    assert "TopicAuthorizationFailed" in replay.stderr
    assert "this connector's Kafka user may not write there" in replay.stderr

    # The security department itself may write it; nobody else may read what it may not.
    own = as_user(
        secured, hub, DEPARTMENTS["security"], "publish", str(tmp_path / "incident.jsonl")
    )
    assert own.returncode == 0, own.stderr
    # Only the admin creates topics: a department is told so, and nothing is created.
    created = hub.run(
        "topics", "create", **secured.env(DEPARTMENTS["safety"]), ONENET_TOPIC_PREFIX="elsewhere"
    )
    assert created.returncode == 1, created.stderr
    assert "not allowed to create topic elsewhere." in created.stderr
    assert "Traceback" not in created.stderr
    tail = as_user(secured, hub, DEPARTMENTS["safety"], "alerts", "tail", "--idle-timeout", "1")
    assert tail.returncode == 1, tail.stderr
    assert "Traceback" not in tail.stderr
    assert "TopicAuthorizationFailed" in tail.stderr


def view_settings(secured: Secured, hub: Hub, tokens: Path) -> ViewSettings:
    env = secured.env(VIEW)
    return ViewSettings(
        kafka_bootstrap_servers=secured.bootstrap,
        topic_prefix=hub.prefix,
        partitions=3,
        view_tokens_file=write_tokens(tokens),
        view_session_secret="test-secret-0123456789",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username=VIEW,
        kafka_sasl_password=env["ONENET_KAFKA_SASL_PASSWORD"],
        kafka_ssl_cafile=Path(env["ONENET_KAFKA_SSL_CAFILE"]),
    )


def test_every_client_works_over_sasl_ssl_and_no_password_is_shown(
    secured: Secured, hub: Hub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    safety = DEPARTMENTS["safety"]
    outputs: list[str] = []

    def run(user: str, *args: str) -> subprocess.CompletedProcess[str]:
        done = as_user(secured, hub, user, *args)
        outputs.extend((done.stdout, done.stderr))
        assert done.returncode == 0, done.stderr
        return done

    # The password of the department comes from a file this time, not the environment.
    password_file = tmp_path / "safety.password"
    password_file.write_text(secured.broker.users[safety] + "\n", encoding="utf-8")
    from_file = {
        **secured.env(safety),
        "ONENET_KAFKA_SASL_PASSWORD": "",
        "ONENET_KAFKA_SASL_PASSWORD_FILE": str(password_file),
    }
    leak = [reading(f"pub-{i}", "S-PUB", -30 + i, 4200) for i in range(3)]
    published = hub.run("publish", str(jsonl(tmp_path / "leak.jsonl", leak)), **from_file)
    outputs.extend((published.stdout, published.stderr))
    assert published.returncode == 0, published.stderr
    replayed = [reading(f"rep-{i}", "S-REPLAY", -20 + i, 4300) for i in range(3)]
    run(safety, "connector", "run", "replay", "--file", str(jsonl(tmp_path / "r.jsonl", replayed)))

    with hub.worker(**secured.env(WORKERS)) as worker:
        tail = run(VIEW, "alerts", "tail", "--json", "--from-beginning", "--max", "2")
        alerts = [json.loads(line) for line in tail.stdout.splitlines()]
        assert {a["data"]["key"] for a in alerts} == {"S-PUB", "S-REPLAY"}, hub.log()
        assert {a["data"]["rule"] for a in alerts} == {"hydrogen-leak"}
        alert_id = next(a["data"]["alert_id"] for a in alerts if a["data"]["key"] == "S-PUB")

        settings = view_settings(secured, hub, tmp_path / "tokens.toml")
        with serve_settings(settings, secured.bootstrap) as view, view.client("operator") as op:
            path = f"/api/alerts/{alert_id}"
            wait_for(lambda: op.get(path).status_code == 200, timeout=60)

            def acknowledged() -> bool:
                if op.get(path).json()["item"]["alert"]["status"] == "acknowledged":
                    return True
                sent = op.post(f"{path}/acknowledge")
                assert sent.status_code in (202, 409), sent.text
                return False

            wait_for(acknowledged, timeout=120, interval=2)
        assert worker.poll() is None, hub.log()

    shown = "\n".join([*outputs, hub.log(), caplog.text])
    assert "Traceback" not in shown
    for password in secured.passwords:
        assert password not in shown
