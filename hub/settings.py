"""Settings from `ONENET_*` variables, an optional TOML file, and `KAFKA_BOOTSTRAP_SERVERS`.

One object so every command resolves the broker, topic names and limits the same way.
Precedence: explicit arguments > environment > TOML file (`ONENET_CONFIG`, else `./onenet.toml`)
> defaults.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from datetime import UTC, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    AwareDatetime,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from hub.errors import UserError
from hub.events.fields import DEFAULT_EARLIEST, DEFAULT_LATEST, TimeRange

REPO_ROOT = Path(__file__).resolve().parent.parent


def _config_file() -> Path | None:
    """The settings file to read: `ONENET_CONFIG` (which must exist), else `./onenet.toml`."""
    named = os.environ.get("ONENET_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(
                f"ONENET_CONFIG names {named}, which "
                + ("is a folder" if path.is_dir() else "does not exist"),
                hint="point ONENET_CONFIG at an onenet.toml file, or unset it",
            )
        return path
    default = Path("onenet.toml")
    return default if default.is_file() else None


class ConfigError(UserError):
    """A settings mistake (file, key, value): exit code 2, like a usage error."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, exit_code=2)


def _line_of(text: str, pos: int) -> tuple[int, int]:
    """1-based (line, column) of character offset `pos` in `text`."""
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def known_keys() -> dict[str, str]:
    """Every key a settings file may hold -> the field it sets, across all settings classes.

    One file serves every process, so a worker accepts the view's `view_*` keys (and ignores
    them) while a typo is an error everywhere.
    """
    import hub.view.config  # noqa: F401 - registers ViewSettings as a subclass

    keys: dict[str, str] = {}
    todo: list[type[BaseSettings]] = [Settings]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        for name, info in cls.model_fields.items():
            keys[name] = name
            alias = info.validation_alias
            if isinstance(alias, AliasChoices):
                for choice in alias.choices:
                    if isinstance(choice, str) and choice.islower():
                        keys[choice] = name
    return keys


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`? " if close else ""


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML file, checked: UTF-8, TOML syntax, known keys, no tables.

    Each mistake is a `ConfigError` naming the file (and line, column or key): a typo such
    as `partitons = 6` must not be silently ignored.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_of(raw[: exc.start].decode("utf-8", "replace"), exc.start)
        raise ConfigError(
            f"{path}:{line}:{col}: not UTF-8 (byte 0x{raw[exc.start]:02x})",
            hint="save the settings file as UTF-8",
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        msg = re.sub(r"\s*\(at .*\)$", "", str(exc))
        loc = f"{where.group(1)}:{where.group(2)}" if where else "?"
        raise ConfigError(
            f"{path}:{loc}: TOML syntax error: {msg}",
            hint='every setting is `key = value`, e.g. `partitions = 6` or `topic_prefix = "x"`',
        ) from None
    keys = known_keys()
    names = sorted(keys)
    for key, value in data.items():
        key_line = _key_line(text, key)
        at = f"{path}:{key_line}" if key_line else str(path)
        if isinstance(value, dict):
            inner = [f"{key}_{k}" for k in value if f"{key}_{k}" in keys]
            suggestion = (
                f"did you mean `{inner[0]} = ...` at the top level? "
                if inner
                else _did_you_mean(key, names)
            )
            raise ConfigError(
                f"{at}: unknown table [{key}]",
                hint=f"{suggestion}settings are top-level keys, without tables; "
                "the README's Settings table lists them",
            )
        if key not in keys:
            raise ConfigError(
                f"{at}: unknown setting `{key}`",
                hint=f"{_did_you_mean(key, names)}the README's Settings table lists every key",
            )
    return data


def _key_line(text: str, key: str) -> int | None:
    found = re.search(
        rf"^\s*(\[\s*)?[\"']?{re.escape(key)}[\"']?\s*(=|\])", text, flags=re.MULTILINE
    )
    return text.count("\n", 0, found.start()) + 1 if found else None


class StrictTomlSource(InitSettingsSource):
    """The settings file as a source, read by `read_config_file`."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        self.path = path
        keys = known_keys()
        data = read_config_file(path)
        own = {keys[k]: v for k, v in data.items() if keys[k] in settings_cls.model_fields}
        super().__init__(settings_cls, own)


def describe_validation_error(exc: ValidationError) -> tuple[str, str]:
    """(what, hint) for a bad setting value: which setting, where it came from, what is wrong."""
    first = exc.errors()[0]
    field = "_".join(str(p) for p in first["loc"])
    msg = first["msg"]
    got = first.get("input")
    shown = f" (got {got!r})" if field and not isinstance(got, dict) else ""
    if not field:
        return f"invalid settings: {msg}", "fix the ONENET_* variables or the settings file"
    env = f"ONENET_{field.upper()}"
    if field == "kafka_bootstrap_servers" and "KAFKA_BOOTSTRAP_SERVERS" in os.environ:
        env = "KAFKA_BOOTSTRAP_SERVERS"
    if env in os.environ:
        return f"invalid setting {env}: {msg}{shown}", f"fix the variable {env}"
    try:
        path = _config_file()
    except ConfigError:
        path = None
    if path is not None:
        line = _key_line(path.read_text("utf-8", "replace"), field)
        where = f"{path}:{line}" if line else str(path)
        return (
            f"{where}: invalid value for `{field}`: {msg}{shown}",
            f"fix `{field}` in {path} (the README's Settings table says what it takes)",
        )
    return f"invalid setting {env}: {msg}{shown}", f"fix {env} or `{field}` in onenet.toml"


class Settings(BaseSettings):
    """Every tunable of the hub; each field is documented in the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="ONENET_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="",
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS", "ONENET_KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"
        ),
        description="Kafka bootstrap servers (host:port,...); empty means the local jar broker.",
    )
    kafka_connect_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How long a command waits for a TCP connection to the bootstrap servers "
        "before it says the broker is unreachable.",
    )
    topic_prefix: str = Field(
        default="onenet",
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="Prefix of every hub topic.",
    )
    state_dir: Path = Field(
        default=Path(".onenet"),
        description="Where the local broker keeps its data, pid file and logs.",
    )
    kafka_lib_dir: Path = Field(
        default=REPO_ROOT / "deploy" / "kafka" / "lib",
        description="Folder of the Kafka jars resolved by deploy/kafka/pom.xml.",
    )
    broker_heap_mb: int = Field(default=512, ge=256, le=8192, description="Local broker heap.")
    broker_port: int = Field(
        default=0, ge=0, le=65535, description="Local broker port; 0 picks a free one."
    )
    app_id: str = Field(
        default="onenet-hub",
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="Faust application id: the consumer group and changelog prefix of workers.",
    )
    partitions: int = Field(default=3, ge=1, le=1000, description="Partitions per hub topic.")
    replication_factor: int = Field(default=1, ge=1, le=10, description="Replication factor.")
    allowed_lateness_s: float | None = Field(
        default=None,
        ge=0,
        description="How late (event time) an event may be and still count; "
        "empty means the rule pack's `lateness`.",
    )
    max_event_bytes: int = Field(
        default=65536, ge=1024, le=1_048_576, description="Largest accepted event, in bytes."
    )
    event_time_min: AwareDatetime = Field(
        default=DEFAULT_EARLIEST,
        description="Earliest accepted time of any time an event carries (RFC 3339).",
    )
    event_time_max: AwareDatetime = Field(
        default=DEFAULT_LATEST,
        description="Every time an event carries must be before this (RFC 3339).",
    )
    event_time_max_ahead_s: float | None = Field(
        default=None,
        gt=0,
        description="How far past the hub's clock an event time may be; empty means no bound "
        "beyond event_time_max.",
    )
    rules_path: Path | None = Field(
        default=None,
        description="Rule pack YAML file the workers load; empty means the built-in `city` pack.",
    )
    city_timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone alert text shows times in (the city's local time).",
    )
    districts_path: Path | None = Field(
        default=None,
        description="CSV of district codes and names (code, name_zh, name_en); "
        "empty means Dalian's, which ship with the hub.",
    )
    ack_timeout_s: float = Field(
        default=900.0,
        ge=10,
        description="An alert still unacknowledged this long after firing is escalated once.",
    )
    resolved_retention_s: float = Field(
        default=6 * 3600.0,
        ge=1,
        description="How long a resolved alert stays in the workers' lifecycle table and the "
        "control view after it was resolved; then it is forgotten (the alerts topic keeps it).",
    )
    worker_session_timeout_s: float = Field(
        default=30.0,
        ge=6,
        le=1800,
        description="How long a silent worker keeps its partitions before the group moves them.",
    )
    worker_stall_after_s: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="A worker whose assigned partition has lag and no progress this long is "
        "not ready (and reports the partition stalled).",
    )
    worker_data_dir: Path | None = Field(
        default=None,
        description="A worker's local table data (RocksDB files); empty means "
        "<state dir>/worker-data. Two workers on one host need two folders.",
    )
    worker_store: str = Field(
        default="memory://", description="Faust table store: memory:// or rocksdb://."
    )
    worker_web_port: int = Field(
        default=6066, ge=0, le=65535, description="Worker's HTTP port (metrics, health)."
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How every Kafka client of the hub connects."
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism (with SASL_SSL)."
    )
    kafka_sasl_username: str = Field(default="", description="SASL user (with SASL_SSL).")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="SASL password; never logged or printed."
    )
    kafka_sasl_password_file: Path | None = Field(
        default=None, description="File holding the SASL password (wins over the variable)."
    )
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="PEM CA bundle that signed the brokers' certificates."
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="PEM client certificate, for brokers that require one."
    )
    kafka_ssl_keyfile: Path | None = Field(
        default=None, description="PEM private key of the client certificate."
    )
    kafka_ssl_check_hostname: bool = Field(
        default=True, description="Check the broker's certificate names its host."
    )

    @field_validator("city_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r}; use an IANA name such as Asia/Shanghai"
            ) from None
        return v

    @model_validator(mode="after")
    def _time_range_not_empty(self) -> Settings:
        if self.event_time_min >= self.event_time_max:
            raise ValueError("event_time_min must be before event_time_max")
        return self

    @property
    def time_range(self) -> TimeRange:
        """The range every ingest (publish, connectors, workers) judges event times by."""
        ahead = self.event_time_max_ahead_s
        return TimeRange(
            self.event_time_min.astimezone(UTC),
            self.event_time_max.astimezone(UTC),
            timedelta(seconds=ahead) if ahead is not None else None,
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(StrictTomlSource(settings_cls, path))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
