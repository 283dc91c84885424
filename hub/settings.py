"""Settings from `ONENET_*` variables, an optional TOML file, and `KAFKA_BOOTSTRAP_SERVERS`.

One object so every command resolves the broker, topic names and limits the same way.
Precedence: explicit arguments > environment > TOML file (`ONENET_CONFIG`, else `./onenet.toml`)
> defaults.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def _config_file() -> Path:
    return Path(os.environ.get("ONENET_CONFIG", "onenet.toml"))


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
    rules_path: Path | None = Field(
        default=None,
        description="Rule pack YAML file the workers load; empty means the built-in `city` pack.",
    )
    ack_timeout_s: float = Field(
        default=900.0,
        ge=10,
        description="An alert still unacknowledged this long after firing is escalated once.",
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
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
