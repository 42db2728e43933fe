"""The worker's Kafka consumer and tables are built with vigie's settings, not Faust's
fixed ones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import faust
import pytest

from base.kafka import create_topics
from base.settings import Settings
from sinks.clickhouse import EmbeddedClickHouse
from streams.app import create_app


def _with_kafka(settings: Settings, **kafka: Any) -> Settings:
    return settings.model_copy(update={"kafka": settings.kafka.model_copy(update=kafka)})


@contextmanager
def _worker_app(settings: Settings) -> Iterator[faust.App]:
    clickhouse = EmbeddedClickHouse(settings.clickhouse.path, settings.clickhouse.database)
    app, services = create_app(settings, clickhouse=clickhouse)
    try:
        yield app
    finally:
        services.writer.close()
        clickhouse.close()


async def test_fetches_wait_at_most_the_configured_time(settings: Settings) -> None:
    """Faust asks for 1,500 ms; the embedded broker then answers up to ~0.7 s late even
    with records waiting, which the latency bench measured as ~0.4 s more per event."""
    configured = _with_kafka(settings, fetch_max_wait_ms=42)
    await create_topics(configured)
    with _worker_app(configured) as app:
        await app.start()
        try:
            client = cast(Any, app.consumer)._thread._consumer
            assert client._fetcher._fetch_max_wait_ms == 42
        finally:
            await app.stop()


def test_tables_keep_the_configured_standby_copies(settings: Settings) -> None:
    """0 standby copies: a worker no longer replays the other workers' table changelogs."""
    with _worker_app(_with_kafka(settings, standby_replicas=0)) as app:
        assert app.conf.table_standby_replicas == 0


async def test_faust_keeps_its_data_directory_under_the_configured_one(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Faust's default, ``<group>-data`` in the working directory, littered every checkout
    a worker or a test ran in."""
    working = tmp_path / "cwd"
    working.mkdir()
    monkeypatch.chdir(working)
    await create_topics(settings)
    with _worker_app(settings) as app:
        await app.start()
        await app.stop()
    assert list(working.iterdir()) == []
    assert (settings.worker_dir / settings.kafka.consumer_group / "v1" / "tables").is_dir()


def test_end_offsets_are_read_from_records_only_where_the_broker_needs_it(
        settings: Settings) -> None:
    """On Kafka the reported end is exact: no client opened per reading."""
    assert settings.kafka.end_offsets_from_records  # the embedded broker's tests
    for corrected in (True, False):
        with _worker_app(_with_kafka(settings, end_offsets_from_records=corrected)) as app:
            thread = cast(Any, app.consumer)._thread
            assert (thread._highwaters.__name__ == "highwaters") is corrected
