"""The security options of every Kafka client of the hub, built from settings in one place.

kafka-python (CLI, admin, connectors' producer, lag), aiokafka (control view) and Faust
(workers) each spell TLS and SASL differently; building all three from the same `Settings`
here means no client can be left on PLAINTEXT by accident. The password is read from
`KAFKA_SASL_PASSWORD_FILE` (wins) or `KAFKA_SASL_PASSWORD`, kept as `SecretStr`, and only
unwrapped when a client is built, so it never reaches a log line or a `repr`.
"""

from __future__ import annotations

import ssl
from typing import Any

from hub.errors import UserError
from hub.settings import Settings, get_settings

HINT = "see the Kafka security settings in README.md and docs/security.md"


class Redacted(str):
    """The password as the clients need it (a str), but masked in `repr`: kafka-python's admin
    client logs its whole configuration at DEBUG, and a dict is formatted by its values' repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'**********'"


def _password(settings: Settings) -> str:
    path = settings.kafka_sasl_password_file
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UserError(
                f"cannot read the SASL password file {path}: {exc.strerror}", hint=HINT
            ) from None
        if not text:
            raise UserError(f"the SASL password file {path} is empty", hint=HINT)
        return Redacted(text)
    if settings.kafka_sasl_password is not None:
        secret = settings.kafka_sasl_password.get_secret_value()
        if secret:
            return Redacted(secret)
    raise UserError(
        "SASL_SSL needs a password",
        hint="set ONENET_KAFKA_SASL_PASSWORD_FILE (or ONENET_KAFKA_SASL_PASSWORD); " + HINT,
    )


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """Verifying context: the configured CA (else the system's), optional client certificate."""
    cafile = settings.kafka_ssl_cafile
    try:
        context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
        if settings.kafka_ssl_certfile is not None:
            keyfile = settings.kafka_ssl_keyfile
            context.load_cert_chain(
                str(settings.kafka_ssl_certfile), str(keyfile) if keyfile else None
            )
    except (OSError, ssl.SSLError) as exc:
        raise UserError(f"cannot load the Kafka TLS files: {exc}", hint=HINT) from None
    context.check_hostname = settings.kafka_ssl_check_hostname
    return context


def _sasl(settings: Settings) -> tuple[str, str]:
    if not settings.kafka_sasl_username:
        raise UserError(
            "SASL_SSL needs a user name", hint="set ONENET_KAFKA_SASL_USERNAME; " + HINT
        )
    return settings.kafka_sasl_username, _password(settings)


def client_options(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for kafka-python and aiokafka clients (both take these names)."""
    s = settings if settings is not None else get_settings()
    protocol = s.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {"security_protocol": "PLAINTEXT"}
    options: dict[str, Any] = {"security_protocol": protocol, "ssl_context": ssl_context(s)}
    if protocol == "SASL_SSL":
        username, password = _sasl(s)
        options |= {
            "sasl_mechanism": s.kafka_sasl_mechanism,
            "sasl_plain_username": username,
            "sasl_plain_password": password,
        }
    return options


def faust_credentials(settings: Settings) -> Any:
    """`broker_credentials` of a Faust app: None, SSL or SASL credentials."""
    import faust  # imported here: Faust is slow to import and only workers need it
    from faust.types.auth import SASLMechanism

    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings)
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    username, password = _sasl(settings)
    return faust.SASLCredentials(
        username=username,
        password=password,
        ssl_context=context,
        mechanism=SASLMechanism(settings.kafka_sasl_mechanism),
    )
