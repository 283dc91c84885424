"""The local broker with a SASL_SSL listener: TLS certificates, SCRAM users and ACLs enforced.

Clients reach it only over SASL_SSL with SCRAM-SHA-512; the KRaft controller listener (on
loopback, never advertised) takes mutual TLS, so the broker's own certificate is the only
principal besides the admin user that is a super user. `StandardAuthorizer` denies whatever
no ACL allows. Used by the tests to prove every client of the hub works against such a
cluster; the certificates come from `make_tls` (openssl), the users are created when the
storage is formatted (`kafka-storage format --add-scram`).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.broker.local import BrokerError, LocalBroker, _properties_value
from hub.settings import Settings

BROKER_CN = "onenet-broker"
MECHANISM = "SCRAM-SHA-512"
_OPENSSL_HINT = "install openssl: apt-get install -y openssl"


@dataclass(frozen=True)
class TlsFiles:
    """A test CA and the broker's key store signed by it (valid for 127.0.0.1 and localhost)."""

    ca: Path
    keystore: Path
    keystore_password: str


def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise BrokerError("`openssl` was not found on PATH", hint=_OPENSSL_HINT)
    done = subprocess.run(
        [openssl, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise BrokerError(f"openssl {args[0]} failed: {done.stderr.strip()[-500:]}")


def make_tls(folder: Path, *, days: int = 7) -> TlsFiles:
    """A fresh CA and broker certificate: nothing long-lived or shared is ever trusted."""
    folder.mkdir(parents=True, exist_ok=True)
    password = secrets.token_hex(16)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", str(days), "-subj", "/CN=onenet-local-ca", cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
        "-subj", f"/CN={BROKER_CN}", cwd=folder,
    )  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "broker.pem", "-days", str(days), "-extfile", "san.ext",
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key", "-out", "broker.p12",
        "-passout", f"pass:{password}", cwd=folder,
    )  # fmt: skip
    for name in ("ca.key", "broker.key", "broker.csr"):
        (folder / name).unlink()
    return TlsFiles(folder / "ca.pem", folder / "broker.p12", password)


class SecuredBroker(LocalBroker):
    """A `LocalBroker` whose only client listener is SASL_SSL, with ACLs enforced."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        tls: TlsFiles,
        users: Mapping[str, str],
        admin_user: str = "admin",
        **options: Any,
    ) -> None:
        super().__init__(settings, **options)
        if admin_user not in users:
            raise BrokerError(f"the admin user {admin_user!r} needs a password in `users`")
        for name, password in users.items():
            if not name.replace("-", "").replace("_", "").isalnum() or not password.isalnum():
                raise BrokerError(f"user {name!r}: use letters, digits, '-' and '_' only")
        self.tls = tls
        self.users = dict(users)
        self.admin_user = admin_user

    def _render_config(self, broker_port: int, controller_port: int) -> None:
        super()._render_config(broker_port, controller_port)
        admin_password = self.users[self.admin_user]
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{self.admin_user}" password="{admin_password}";'
        )
        # Later keys win in a properties file: these replace the template's PLAINTEXT listener.
        lines = [
            "",
            "# --- SASL_SSL (hub/broker/secure.py) ---",
            f"listeners=SASL_SSL://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=SASL_SSL://127.0.0.1:{broker_port}",
            "listener.security.protocol.map=CONTROLLER:SSL,SASL_SSL:SASL_SSL",
            "inter.broker.listener.name=SASL_SSL",
            f"sasl.enabled.mechanisms={MECHANISM}",
            f"sasl.mechanism.inter.broker.protocol={MECHANISM}",
            f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={jaas}",
            "listener.name.controller.ssl.client.auth=required",
            "ssl.keystore.type=PKCS12",
            f"ssl.keystore.location={_properties_value(str(self.tls.keystore))}",
            f"ssl.keystore.password={self.tls.keystore_password}",
            f"ssl.key.password={self.tls.keystore_password}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={_properties_value(str(self.tls.ca))}",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            f"super.users=User:{self.admin_user};User:CN={BROKER_CN}",
            "allow.everyone.if.no.acl.found=false",
            "",
        ]
        with self.config_file.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines))
        self.config_file.chmod(0o600)  # it holds the admin's password

    def _format_options(self) -> list[str]:
        return [
            arg
            for name, password in self.users.items()
            for arg in ("--add-scram", f"{MECHANISM}=[name={name},password={password}]")
        ]

    def _probe_options(self) -> dict[str, Any]:
        from hub.kafka_security import client_options

        return client_options(self.client_settings(self.admin_user))

    def client_env(self, user: str) -> dict[str, str]:
        """The `ONENET_KAFKA_*` variables a hub process needs to connect as `user`."""
        return {
            "ONENET_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "ONENET_KAFKA_SASL_MECHANISM": MECHANISM,
            "ONENET_KAFKA_SASL_USERNAME": user,
            "ONENET_KAFKA_SASL_PASSWORD": self.users[user],
            "ONENET_KAFKA_SSL_CAFILE": str(self.tls.ca),
        }

    def client_settings(self, user: str, **overrides: Any) -> Settings:
        """Settings of a client connecting as `user` (for in-process clients)."""
        env = self.client_env(user)
        return Settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism=MECHANISM,
            kafka_sasl_username=user,
            kafka_sasl_password=env["ONENET_KAFKA_SASL_PASSWORD"],
            kafka_ssl_cafile=self.tls.ca,
            **overrides,
        )
