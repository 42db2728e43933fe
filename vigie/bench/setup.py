"""What a bench scenario runs against: its topics, group and ClickHouse directory.

Every scenario gets topics of its own (same partitions, same payloads) on the one
broker of the run, so each starts from the same pre-loaded backlog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from base.settings import Settings
from vigie.embedded import free_port

Scenario = Literal["limit", "naive", "vigie"]
BACKLOG_SEED = 1  # the simulator's seed of every throughput backlog


class BenchConfig(BaseModel):
    """Everything a child process needs, passed as JSON on its command line."""

    scenario: Scenario
    bootstrap: str
    prefix: str
    chdb_dir: str = ""
    seed_keys: int = 0
    watch_clickhouse: bool = False
    loop: Literal["asyncio", "uvloop"] = "asyncio"
    # A measurement of the streaming machinery alone: the worker serves the outputs of
    # the first N payloads of the seed's backlog, computed before it starts.
    precomputed: int = 0

    @property
    def passthrough_topic(self) -> str:
        return f"{self.prefix}passthrough"

    def settings(self) -> Settings:
        """The embedded run's settings (as ``vigie run``'s: short group joins), with the
        topics, group and chdb of this scenario. ``vigie.runner`` is not imported: the
        baselines' processes must not load the pipeline they are compared with."""
        settings = Settings()
        base = settings.topics
        topics = base.model_copy(update={
            "raw_prefix": f"{self.prefix}raw.",
            **{name: f"{self.prefix}{getattr(base, name)}"
               for name in ("normalized", "classified", "alerts", "tasks", "task_status",
                            "deadletter", "surge")},
        })
        kafka = settings.kafka.model_copy(update={
            "bootstrap_servers": self.bootstrap, "consumer_group": f"{self.prefix}group",
            "rebalance_timeout_s": 3.0, "session_timeout_s": 10.0, "heartbeat_interval_s": 0.5,
            "replication_factor": 1, "end_offsets_from_records": True,
        })
        clickhouse = settings.clickhouse.model_copy(
            update={"path": Path(self.chdb_dir or ".vigie/bench-unused")})
        return settings.model_copy(update={
            "topics": topics, "kafka": kafka, "clickhouse": clickhouse,
            "web_port": free_port(),
        })


def faust_app_options(settings: Settings) -> dict[str, Any]:
    """Broker options of the naive Faust baseline: those of the vigie worker's app."""
    kafka = settings.kafka
    return {
        "broker": [f"kafka://{server}" for server in kafka.bootstrap_servers.split(",")],
        "broker_rebalance_timeout": kafka.rebalance_timeout_s,
        "broker_session_timeout": kafka.session_timeout_s,
        "broker_heartbeat_interval": kafka.heartbeat_interval_s,
        "broker_commit_interval": 1.0,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "producer_linger_ms": kafka.producer_linger_ms,
        "producer_max_batch_size": kafka.producer_batch_bytes,
        "store": "memory://",
        "datadir": settings.faust_datadir(),
        "topic_partitions": settings.topics.partitions,
    }
