"""A worker in the test's loop on settings of its own, and polling with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from base.kafka import create_topics
from base.settings import Settings
from sinks.clickhouse import EmbeddedClickHouse
from sinks.migrate import migrate
from streams.app import create_app
from streams.services import Services
from vigie.embedded import EmbeddedBroker, free_port


def isolated_settings(broker: EmbeddedBroker, clickhouse_dir: Path, unique: str,
                      **overrides: Any) -> Settings:
    """Settings whose topics, group and ClickHouse belong to one test only."""
    base = Settings()
    topics = base.topics.model_copy(update={
        "raw_prefix": f"{unique}.raw.",
        **{name: f"{unique}.{getattr(base.topics, name)}"
           for name in ("normalized", "classified", "alerts", "tasks", "task_status",
                        "deadletter", "surge")},
    })
    kafka = base.kafka.model_copy(update={
        "bootstrap_servers": broker.bootstrap_servers,
        "consumer_group": f"vigie-{unique}",
        "rebalance_timeout_s": 3.0,
        "session_timeout_s": 10.0,
        "heartbeat_interval_s": 0.5,
        "end_offsets_from_records": True,
    })
    clickhouse = base.clickhouse.model_copy(update={"path": clickhouse_dir})
    # SLA breach checks only where a test asks for them (simulated events are in the past).
    sla = base.sla.model_copy(update={"breach_check_s": 3600.0})
    return base.model_copy(update={
        "topics": topics, "kafka": kafka, "clickhouse": clickhouse, "sla": sla,
        "worker_dir": clickhouse_dir.parent / "worker", "web_port": free_port(), **overrides,
    })


@asynccontextmanager
async def running_worker(settings: Settings, **app_options: Any) -> AsyncIterator[Services]:
    """Topics created, schema migrated, the Faust app started in this loop; stopped after."""
    await create_topics(settings)
    clickhouse = EmbeddedClickHouse(settings.clickhouse.path, settings.clickhouse.database)
    migrate(clickhouse)
    app, services = create_app(settings, clickhouse=clickhouse, **app_options)
    await app.start()
    try:
        yield services
    finally:
        await app.stop()
        services.writer.close()
        clickhouse.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 60.0,
                     what: str = "condition") -> None:
    """Poll ``check`` until it holds or the deadline passes."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {within}s waiting for {what}")
