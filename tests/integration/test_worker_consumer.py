"""The worker's Kafka consumer is built with vigie's settings, not Faust's fixed ones."""

from __future__ import annotations

from typing import Any, cast

from sinks.clickhouse import EmbeddedClickHouse
from streams.app import create_app
from vigie.kafka import create_topics
from vigie.settings import Settings


async def test_fetches_wait_at_most_the_configured_time(settings: Settings) -> None:
    """Faust asks for 1,500 ms; the embedded broker then answers up to ~0.7 s late even
    with records waiting, which the latency bench measured as ~0.4 s more per event."""
    configured = settings.model_copy(update={
        "kafka": settings.kafka.model_copy(update={"fetch_max_wait_ms": 42})})
    await create_topics(configured)
    clickhouse = EmbeddedClickHouse(configured.clickhouse.path, configured.clickhouse.database)
    app, services = create_app(configured, clickhouse=clickhouse)
    await app.start()
    try:
        client = cast(Any, app.consumer)._thread._consumer
        assert client._fetcher._fetch_max_wait_ms == 42
    finally:
        await app.stop()
        services.writer.close()
        clickhouse.close()
