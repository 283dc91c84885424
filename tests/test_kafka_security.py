"""Client security options from settings: one builder for kafka-python, aiokafka and Faust."""

from __future__ import annotations

import os
import ssl
import subprocess
from pathlib import Path

import pytest

from hub.errors import UserError
from hub.kafka_security import client_options, faust_credentials
from hub.settings import Settings
from hub.view.auth import origin_of
from tests.support.hubproc import ONENET


def sasl(tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="dept-safety",
        **extra,  # type: ignore[arg-type]
    )


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    assert client_options(Settings()) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(Settings()) is None


def test_sasl_ssl_options_verify_the_broker_and_carry_the_user(tmp_path: Path) -> None:
    options = client_options(sasl(tmp_path, kafka_sasl_password="s3cret-from-env"))
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "dept-safety"
    assert options["sasl_plain_password"] == "s3cret-from-env"
    context = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    no_check = client_options(
        sasl(tmp_path, kafka_sasl_password="x", kafka_ssl_check_hostname=False)
    )
    assert not no_check["ssl_context"].check_hostname


def test_the_password_file_wins_and_the_secret_stays_out_of_reprs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-the-file\n", encoding="utf-8")
    monkeypatch.setenv("ONENET_KAFKA_SASL_PASSWORD", "from-the-env")
    monkeypatch.setenv("ONENET_KAFKA_SASL_PASSWORD_FILE", str(secret))
    settings = sasl(tmp_path)
    assert client_options(settings)["sasl_plain_password"] == "from-the-file"
    assert "from-the-env" not in repr(settings)
    assert "from-the-env" not in str(settings)
    credentials = faust_credentials(settings)
    assert credentials.username == "dept-safety"
    assert credentials.mechanism.value == "SCRAM-SHA-512"


def test_a_missing_password_or_unreadable_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="needs a password"):
        client_options(sasl(tmp_path))
    with pytest.raises(UserError, match="cannot read the SASL password file"):
        client_options(sasl(tmp_path, kafka_sasl_password_file=tmp_path / "missing"))
    with pytest.raises(UserError, match="needs a user name"):
        client_options(Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_password="x"))
    with pytest.raises(UserError, match="cannot load the Kafka TLS files"):
        client_options(
            sasl(tmp_path, kafka_sasl_password="x", kafka_ssl_cafile=tmp_path / "no-ca.pem")
        )


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://ops.city.example/", "https://ops.city.example"),
        ("https://OPS.city.example:443/view", "https://ops.city.example"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://[::1]:80", "http://[::1]"),
        ("ftp://ops.city.example", None),
        ("null", None),
        ("http://host:99999", None),
    ],
)
def test_origin_of_normalises_like_browsers(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


def test_the_password_handed_to_clients_is_masked_in_reprs() -> None:
    options = client_options(
        Settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_username="u",
            kafka_sasl_password="visible-nowhere",
        )
    )
    assert "visible-nowhere" not in repr(options)
    assert "visible-nowhere" not in f"{options}"
    assert options["sasl_plain_password"].encode() == b"visible-nowhere"
    assert options["sasl_plain_password"] == "visible-nowhere"


def test_a_public_url_that_is_not_http_is_refused_at_start(tmp_path: Path) -> None:
    from hub.view.app import create_app
    from hub.view.config import ViewSettings

    tokens = tmp_path / "t.toml"
    tokens.write_text("", encoding="utf-8")
    settings = ViewSettings(view_tokens_file=tokens, view_public_url="ops.example")
    with pytest.raises(UserError, match="is not an http\\(s\\) URL"):
        create_app(settings, bootstrap=None)
    good = settings.model_copy(update={"view_public_url": "https://ops.example/"})
    assert create_app(good, bootstrap=None).state.view.public_origin == "https://ops.example"


def test_acl_dry_run_lists_the_grants_and_refuses_an_unknown_domain() -> None:
    def onenet(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ONENET, "acl", "apply", "--dry-run", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        )

    shown = onenet("--department", "safety=h2-stations")
    assert shown.returncode == 0, shown.stderr
    assert "User:h2-stations" in shown.stderr
    assert "User:dept-security" in shown.stderr  # the other domains keep their default user
    assert "User:dept-safety" not in shown.stderr
    bad = onenet("--department", "nope=x")
    assert bad.returncode == 2
    assert "invalid --department 'nope=x'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_each_department_may_write_only_its_own_domain() -> None:
    from hub.acl import default_departments, plan

    grants = plan(Settings(), departments=default_departments(), workers="w", view="v")
    writes = {(g.principal, g.name) for g in grants if g.operation == "WRITE"}
    assert ("User:dept-safety", "onenet.events.safety") in writes
    assert not any(
        p == "User:dept-safety"
        and name.startswith("onenet.events.")
        and name != "onenet.events.safety"
        for p, name in writes
    )
    assert all(g.pattern == "prefixed" for g in grants if g.principal.startswith("User:dept-"))


def test_ssl_without_sasl_needs_no_user_and_gives_faust_ssl_credentials() -> None:
    settings = Settings(kafka_security_protocol="SSL")
    options = client_options(settings)
    assert options.keys() == {"security_protocol", "ssl_context"}
    assert options["security_protocol"] == "SSL"
    credentials = faust_credentials(settings)
    assert credentials.protocol.value == "SSL"
    assert credentials.context.verify_mode == ssl.CERT_REQUIRED
