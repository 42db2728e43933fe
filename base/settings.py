"""The one settings object of vigie, read from ``VIGIE_*`` environment variables.

Nested sections use a double underscore: ``VIGIE_KAFKA__BOOTSTRAP_SERVERS``,
``VIGIE_CLICKHOUSE__URL``, ``VIGIE_TOPICS__PARTITIONS``. A secret can also come from a
file (Docker and Kubernetes secrets): ``VIGIE_CLICKHOUSE__PASSWORD_FILE=/run/secrets/ch``.
Build it once at the edge (the CLI) with :func:`load_settings` and pass it down;
nothing reads the environment anywhere else.
"""

from __future__ import annotations

import os
import types
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from schemas.events import Platform


class KafkaSettings(BaseModel):
    """Where the brokers are and how to authenticate to them."""

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    client_id: str = "vigie"
    consumer_group: str = "vigie"
    rebalance_timeout_s: float = Field(
        default=30.0,
        description="Group join wait; the embedded run lowers it to a few seconds.",
    )
    session_timeout_s: float = 30.0
    heartbeat_interval_s: float = 3.0
    replication_factor: int = 1
    producer_linger_ms: int = Field(
        default=10, ge=0, description="How long the producer waits to fill a batch.")
    producer_batch_bytes: int = Field(
        default=256 * 1024, ge=1024,
        description="Largest producer batch per partition (aiokafka's default, 16 KiB, "
        "holds a few dozen output records, and the sends then cost throughput).")
    standby_replicas: int = Field(
        default=1, ge=0,
        description="Other workers keeping a warm copy of each table partition, so a "
        "failover resumes without restoring it. Each copy replays the owner's changelog, "
        "a record per event, which costs the workers some throughput.")
    end_offsets_from_records: bool = Field(
        default=False,
        description="Read each partition's end from its last record batch: the embedded "
        "broker (Tansu) reports the start of that batch + 1, so table recovery and lag "
        "readings would stop a batch short. Kafka reports it exactly: leave it off there "
        "(it costs a short-lived client per reading). The embedded runs set it.")
    fetch_max_wait_ms: int = Field(
        default=100, ge=1,
        description="Longest a fetch waits for records. Faust asks for 1,500 ms, and the "
        "embedded broker then answers late even when records are there.")


class TopicSettings(BaseModel):
    """Names and sizes of every topic; one raw topic per platform."""

    raw_prefix: str = "raw."
    normalized: str = "events.normalized"
    classified: str = "events.classified"
    alerts: str = "alerts"
    tasks: str = "tasks.response"
    task_status: str = "tasks.status"
    deadletter: str = "deadletter"
    surge: str = Field(
        default="surge.observations",
        description="Internal, one partition: the detector sees every event in time order.",
    )
    partitions: int = Field(default=4, ge=1)
    raw_retention_hours: int = Field(
        default=168, ge=1,
        description="Retention of the raw topics, the only place unmasked payloads live "
        "(set on the topics vigie creates; 7 days: enough to replay after an incident).")

    def raw(self, platform: Platform) -> str:
        """The raw topic of one platform, e.g. ``raw.x``."""
        return f"{self.raw_prefix}{platform.value}"

    def all_raw(self) -> list[str]:
        return [self.raw(p) for p in Platform]


class ClickHouseSettings(BaseModel):
    """A ClickHouse server (``url`` set) or the embedded engine in ``path``."""

    url: str | None = Field(
        default=None, description="http(s)://host:port of a server; unset = embedded chdb."
    )
    path: Path = Path(".vigie/clickhouse")
    database: str = "vigie"
    username: str = "default"
    password: SecretStr = SecretStr("")
    mask_personal_data: bool = Field(
        default=True, description="Mask personal data found by the classifier in `text`."
    )
    retention_days: int | None = Field(
        default=None, ge=1,
        description="Days to keep events, tasks, task status and dead letters (TTL applied "
        "by `vigie migrate`); unset = forever.",
    )
    rollup_retention_days: int | None = Field(
        default=None, ge=1,
        description="Days to keep the per-minute roll-up and the alerts; unset = forever.",
    )

    @property
    def embedded(self) -> bool:
        return self.url is None


class SinkSettings(BaseModel):
    """How the agents batch (by size or by time, whichever comes first) and how often
    they insert into ClickHouse."""

    batch_size: int = Field(
        default=2000, ge=1,
        description="Records per batch. Larger batches are not faster past this size, "
        "and a worker holds up to four of them alive (one computing, three completing).")
    batch_seconds: float = Field(
        default=0.1, gt=0,
        description="Longest a batch waits to fill, from its first record: the floor of "
        "ingest-to-task latency. Shorter windows mean smaller batches, more work per "
        "record: two workers' latency grows again below this. On a backlog batches fill "
        "at once whatever the window.")
    min_insert_interval_s: float = Field(
        default=0.0, ge=0,
        description="Least time between two inserts into one table; batches stored "
        "meanwhile share the next insert. 0: an insert per batch under light traffic (up "
        "to 1/batch_seconds a second per table and worker), merged once ClickHouse is the "
        "slower side. 0.5 caps it at 2/s, for a server that must not take more, at the "
        "cost of latency: a batch's tasks leave once its rows are stored.")


class DedupSettings(BaseModel):
    """How long message ids and private contacts are remembered (at most how many), and
    the near-duplicate window."""

    ttl_hours: float = Field(default=48.0, gt=0)
    max_ids: int = Field(
        default=5_000_000, ge=1,
        description="Ids a worker remembers at most (memory: docs/performance.md), message ids and "
        "private contacts each; past it the oldest go first, so at high rates they are "
        "remembered for less than their TTL.")
    contacts_ttl_days: float = Field(
        default=30.0, gt=0,
        description="How long a person who wrote to a brand in private is remembered "
        "(the DM windows: 24-48 h on Meta and TikTok; X, Twitch and Telegram keep "
        "theirs open, up to this).")
    near_window_s: float = Field(default=3600.0, gt=0)


class SurgeSettings(BaseModel):
    """The surge detector's warm start."""

    history_days: int = Field(
        default=14, ge=0,
        description="Days of per-minute counts (ClickHouse events_per_minute) a worker "
        "whose detector state is empty learns its baselines from before its first event; "
        "0: none (the detector then forecasts from its first hour, seasonally from its "
        "first day).")


class SlaSettings(BaseModel):
    """Response deadlines: minutes per priority (overridable per platform), counted in
    support hours except for the priorities answered around the clock."""

    critical_minutes: int = 15
    high_minutes: int = 60
    normal_minutes: int = 240
    low_minutes: int = 1440
    platform_minutes: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description='Per-platform overrides, e.g. {"whatsapp": {"normal": 60}} (JSON).',
    )
    support_timezone: str = "Europe/Paris"
    support_open_hour: int = Field(default=8, ge=0, le=23)
    support_close_hour: int = Field(default=20, ge=1, le=24)
    support_days: list[int] = Field(
        default=[0, 1, 2, 3, 4, 5], description="Weekdays with support, Monday = 0."
    )
    around_the_clock: list[str] = Field(default=["critical"])
    breach_check_s: float = Field(default=30.0, gt=0, description="How often overdue tasks "
                                  "are looked for (by the group's leader).")
    breach_batch: int = Field(
        default=1000, ge=1, description="Overdue tasks escalated per check at most, the "
        "longest overdue first; the rest wait for the next check (`vigie_sla_overdue_left`).")

    def minutes(self, priority: str, platform: str) -> int:
        override = self.platform_minutes.get(platform, {}).get(priority)
        if override is not None:
            return override
        minutes: int = getattr(self, f"{priority}_minutes", self.normal_minutes)
        return minutes

    def due_in(self, priority: str) -> timedelta:
        return timedelta(minutes=self.minutes(priority, ""))


class WebhookSettings(BaseModel):
    """The webhook receiver: where it listens, its limits, and one secret per platform family.

    Outside ``dev_mode`` every delivery must carry a valid signature: a platform
    whose secret is unset (or blank: an empty HMAC key would sign anything) is
    refused. ``dev_mode`` accepts unsigned deliveries for platforms without a secret
    (local demos only, on a loopback address).
    """

    host: str = "127.0.0.1"
    port: int = 8088
    dev_mode: bool = False
    max_body_bytes: int = Field(default=1_000_000, ge=1)
    max_age_s: float = Field(default=600.0, description="Oldest accepted signed timestamp.")
    max_clock_skew_s: float = Field(
        default=60.0, ge=0,
        description="How far in the future a signed timestamp may be (the sender's clock "
        "may run ahead; further would stretch the replay window).")
    rate_per_s: float = Field(default=50.0, gt=0, description="Sustained requests per source.")
    burst: int = Field(default=200, ge=1, description="Requests a source may send at once.")
    handshake_rate_per_s: float = Field(
        default=0.2, gt=0,
        description="Sustained handshakes (GET checks) per source: platforms make a few an "
        "hour, so a tight budget costs them nothing.")
    handshake_burst: int = Field(default=10, ge=1, description="Handshakes a source may "
                                 "make at once.")
    header_timeout_s: float = Field(
        default=10.0, gt=0,
        description="Longest a connection may take to send a request's line and headers "
        "(from its first byte, or from the connection's opening); then it is dropped.")
    body_timeout_s: float = Field(
        default=30.0, gt=0, description="Longest a request may take to send its body.")
    meta_app_secret: SecretStr | None = None
    meta_verify_token: SecretStr | None = None
    x_consumer_secret: SecretStr | None = None
    twitch_secret: SecretStr | None = None
    telegram_secret_token: SecretStr | None = None
    linkedin_client_secret: SecretStr | None = None
    tiktok_client_secret: SecretStr | None = None
    forum_secret: SecretStr | None = None
    shared_secret: SecretStr | None = Field(
        default=None, description="HMAC key of the pollers (YouTube, reviews, news, web comments)."
    )

    @field_validator("*", mode="after")
    @classmethod
    def _blank_secret_is_unset(cls, value: Any) -> Any:
        """An empty or blank secret (variable or file) is no secret: as an HMAC key it
        would make every signature computable by anyone."""
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            return None
        return value

    @staticmethod
    def variable(field: str) -> str:
        """The environment variable of one of these settings, for messages to operators."""
        return f"VIGIE_WEBHOOK__{field.upper()}"


class ConsoleSettings(BaseModel):
    """The ops console (``vigie console``, and beside ``vigie run``): where it listens,
    which workers it asks for the pipeline's health, how far back its history goes."""

    host: str = Field(
        default="127.0.0.1",
        description="Listen address. The page shows messages (masked) and has no login: "
        "keep it on loopback, or behind a proxy that authenticates.")
    port: int = Field(default=6070, ge=0, le=65535,
                      description="Listen port; `vigie run` takes a free one if it is busy.")
    workers: list[str] = Field(
        default_factory=list,
        description="Web addresses of the workers whose /status the page shows; empty: "
        "the worker at VIGIE_WEB_HOST:VIGIE_WEB_PORT.")
    history_hours: int = Field(
        default=48, ge=1, description="How far back the page reads ClickHouse.")


class Settings(BaseSettings):
    """Everything vigie can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIE_", env_nested_delimiter="__", extra="ignore"
    )

    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    sink: SinkSettings = SinkSettings()
    sla: SlaSettings = SlaSettings()
    dedup: DedupSettings = DedupSettings()
    surge: SurgeSettings = SurgeSettings()
    webhook: WebhookSettings = WebhookSettings()
    console: ConsoleSettings = ConsoleSettings()
    brands_file: Path | None = Field(
        default=None, description="Brands TOML file; unset = the bundled demo brands."
    )
    worker_dir: Path = Field(
        default=Path(".vigie/worker"),
        description="Faust's data directory, one subdirectory per group (tables are in memory"
        " and in Kafka, so it stays near empty).",
    )
    web_port: int = Field(default=6066, description="Worker HTTP port (metrics, health).")
    web_host: str = "127.0.0.1"
    web_debug_pages: bool = Field(
        default=False,
        description="Faust's `/table/*` and `/router/*` pages (table contents, which hold "
        "words and ids from messages, and the cluster's layout); off unless debugging.")
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text", description="`json`: one JSON object per log line (log shippers)."
    )
    ready_max_lag: int = Field(
        default=10_000, ge=0, description="`/ready` fails while the worker lags more records."
    )
    loop_hold_warn_s: float = Field(
        default=1.0, ge=0, description="A worker whose event loop is held longer logs where "
        "it was (a stack); 0: never. The hold is measured either way "
        "(`vigie_event_loop_longest_hold_seconds`).")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, SecretFiles(settings_cls)

    def faust_datadir(self) -> Path:
        """This group's Faust data directory, made here: Faust makes only its subdirectories."""
        path = self.worker_dir / self.kafka.consumer_group
        path.mkdir(parents=True, exist_ok=True)
        return path

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Settings:
        if self.kafka.security_protocol.startswith("SASL") and not self.kafka.sasl_username:
            raise ValueError("SASL security protocol requires VIGIE_KAFKA__SASL_USERNAME")
        return self


class SecretFiles(PydanticBaseSettingsSource):
    """``VIGIE_<secret>_FILE``: a secret read from a file; the variable itself wins.

    Only fields typed as secrets are read this way, so ``VIGIE_BRANDS_FILE`` stays the
    path it names."""

    PREFIX, SUFFIX = "VIGIE_", "_FILE"

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is done in __call__

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for variable, path in os.environ.items():
            if not (variable.startswith(self.PREFIX) and variable.endswith(self.SUFFIX)):
                continue
            keys = variable[len(self.PREFIX):-len(self.SUFFIX)].lower().split("__")
            if not _is_secret(self.settings_cls, keys):
                continue
            try:
                secret = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"{variable}: cannot read the secret file: {exc}") from exc
            node = values
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = secret
        return values


def _is_secret(model: type[BaseModel], keys: list[str]) -> bool:
    """Whether ``keys`` is the path of a ``SecretStr`` field in ``model``."""
    field = model.model_fields.get(keys[0])
    if field is None:
        return False
    types_ = _members(field.annotation)
    if len(keys) == 1:
        return SecretStr in types_
    nested = [t for t in types_ if isinstance(t, type) and issubclass(t, BaseModel)]
    return bool(nested) and _is_secret(nested[0], keys[1:])


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types of ``X | None`` (or of a plain ``X``)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; ``overrides`` win (the CLI uses them)."""
    return Settings(**overrides)  # type: ignore[arg-type]
