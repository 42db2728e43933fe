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
async def running_workers(settings: Settings, count: int, **app_options: Any
                          ) -> AsyncIterator[list[Services]]:
    """Topics created, schema migrated, ``count`` workers of one consumer group started
    in this loop (each its own web port and table directory, one ClickHouse between
    them, as one server would be); stopped after."""
    await create_topics(settings)
    clickhouse = EmbeddedClickHouse(settings.clickhouse.path, settings.clickhouse.database)
    migrate(clickhouse)
    apps = []
    for i in range(count):
        own = settings if i == 0 else settings.model_copy(update={
            "worker_dir": settings.worker_dir / f"w{i}", "web_port": free_port()})
        apps.append(create_app(own, clickhouse=clickhouse, **app_options))
    try:
        for app, _ in apps:
            await app.start()
        if count > 1:  # the group formed: each owns raw partitions before the test feeds it
            raw = set(settings.topics.all_raw())

            async def each_owns_raw_partitions() -> bool:
                return all({tp.topic for tp in app.consumer.assignment()} & raw
                           for app, _ in apps)

            await eventually(each_owns_raw_partitions, what="every worker owning partitions")
        yield [services for _, services in apps]
    finally:
        for app, services in apps:
            await app.stop()
            services.writer.close()
        clickhouse.close()


@asynccontextmanager
async def running_worker(settings: Settings, **app_options: Any) -> AsyncIterator[Services]:
    """One worker (:func:`running_workers`)."""
    async with running_workers(settings, 1, **app_options) as (services,):
        yield services


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 60.0,
                     what: str = "condition") -> None:
    """Poll ``check`` until it holds or the deadline passes."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {within}s waiting for {what}")
