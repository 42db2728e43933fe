"""Two ``vigie worker`` processes in one consumer group; one is killed with SIGKILL mid-way.

Storage design: the embedded ClickHouse (chdb) lives inside its process and a
directory can be opened by one process at a time, so each worker gets a chdb
directory of its own: they are two shards of one logical ``events`` table. After
the run the test exports each shard (``INTO OUTFILE ... FORMAT Native``) and loads
every export into one fresh database built from the same migrations, which is what
a single ClickHouse server shared by both workers would hold; ``FINAL`` then
collapses the redeliveries exactly as ReplacingMergeTree does in production. A
record written by the killed worker and redelivered to the survivor is therefore a
duplicate row that must collapse, and a record the killed worker never stored must
have been stored by the survivor.

Size: ``VIGIE_SCALE_OUT_EVENTS`` (default 50,000 raw messages); the workers' log level:
``VIGIE_SCALE_OUT_LOG`` (default WARNING; INFO shows rebalances and re-read holes).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from base.kafka import aiokafka_options, create_topics
from base.settings import Settings
from core.brands import BrandDirectory
from lab.simulator import Simulator
from schemas.events import Kind
from schemas.tasks import ResponseTask
from sinks.clickhouse import EmbeddedClickHouse
from sinks.migrate import migrate
from tests.support.faults import worker_env
from tests.support.kafka_reader import read_to_end
from tests.support.publish import publish
from tests.support.worker import eventually, isolated_settings
from vigie.embedded import EmbeddedBroker, free_port

EVENTS = int(os.environ.get("VIGIE_SCALE_OUT_EVENTS", "50000"))
VIGIE = str(Path(sys.executable).parent / "vigie")


def worker_environment(settings: Settings, clickhouse: Path, web_port: int) -> dict[str, str]:
    """``VIGIE_*`` variables describing ``settings`` with this worker's own shard and port."""
    shard = settings.model_copy(update={
        "clickhouse": settings.clickhouse.model_copy(update={"path": clickhouse}),
        "web_port": web_port, "log_level": os.environ.get("VIGIE_SCALE_OUT_LOG", "WARNING"),
    })
    return worker_env(shard, VIGIE_KAFKA__SESSION_TIMEOUT_S="6")


class Worker:
    """One ``vigie worker`` subprocess with its own chdb shard and web port."""

    def __init__(self, name: str, settings: Settings, root: Path) -> None:
        self.name = name
        self.clickhouse = root / f"clickhouse-{name}"
        self.port = free_port()
        self.log = root / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [VIGIE, "worker"], env=worker_environment(settings, self.clickhouse, self.port),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )

    async def status(self) -> dict[str, Any] | None:
        try:
            async with aiohttp.ClientSession() as session, session.get(
                f"http://127.0.0.1:{self.port}/status", timeout=aiohttp.ClientTimeout(total=5)
            ) as response:
                status: dict[str, Any] = orjson.loads(await response.read())
                return status
        except (aiohttp.ClientError, TimeoutError):
            return None

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.alive():
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop(signal.SIGKILL)


async def behind(settings: Settings, ends: dict[TopicPartition, int]) -> dict[str, int]:
    """Raw partitions whose committed offset (for the group) is short of the end."""
    consumer = AIOKafkaConsumer(**aiokafka_options(settings.kafka),
                                group_id=settings.kafka.consumer_group, enable_auto_commit=False)
    await consumer.start()
    try:
        short = {}
        for tp, end in ends.items():
            committed = await consumer.committed(tp) or 0
            if committed < end:
                short[f"{tp.topic}/{tp.partition}"] = end - committed
        return short
    finally:
        await consumer.stop()


async def end_offsets(settings: Settings) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**aiokafka_options(settings.kafka))
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in settings.topics.all_raw()
                      for p in range(settings.topics.partitions)]
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


def union_of_shards(shards: list[Path], union: Path, database: str) -> EmbeddedClickHouse:
    """One database holding every shard's rows, as one shared server would hold them."""
    exports = union.parent / "exports"
    exports.mkdir()
    for i, shard in enumerate(shards):
        ch = EmbeddedClickHouse(shard, database)
        try:
            for table in ("events", "tasks"):
                ch.command(f"SELECT * FROM {table} INTO OUTFILE "
                           f"'{exports}/{table}-{i}.native' TRUNCATE FORMAT Native")
        finally:
            ch.close()
    ch = EmbeddedClickHouse(union, database)
    migrate(ch)
    for table in ("events", "tasks"):
        # Rows kept as inserted (no collapse on insert), so FINAL must do the collapsing.
        ch.command(f"INSERT INTO {table} SETTINGS optimize_on_insert = 0 "
                   f"SELECT * FROM file('{exports}/{table}-*.native', Native)")
    return ch


def where_missing(settings: Settings, messages: list[Any], missing: set[str]) -> list[str]:
    """The raw records (topic/partition/offset ranges) that carried the missing events."""
    keys = {(m.platform, m.key) for m in messages
            if any(e.event_id in missing for e in m.expected)}
    spans: dict[str, list[int]] = {}
    for platform in {p for p, _ in keys}:
        topic = settings.topics.raw(platform)
        for record in read_to_end(settings.kafka.bootstrap_servers, topic, timeout=60):
            if (platform, record.key()) in keys:
                spans.setdefault(f"{topic}/{record.partition()}", []).append(record.offset())
    return [f"{tp}: {len(o)} records {min(o)}..{max(o)}" for tp, o in sorted(spans.items())]


async def test_two_workers_share_the_partitions_and_a_killed_one_loses_and_duplicates_nothing(
    broker: EmbeddedBroker, tmp_path: Path, unique: str, workers: list[Worker],
) -> None:
    settings = isolated_settings(broker, tmp_path / "unused", unique)
    await create_topics(settings)
    messages = list(Simulator(BrandDirectory.load(), seed=11, invalid_share=0.01).messages(EVENTS))
    expected = {e.event_id: e for m in messages for e in m.expected}
    must_answer = {i for i, e in expected.items() if e.kind in (Kind.DM, Kind.MENTION)}
    started = time.monotonic()

    workers += [Worker("one", settings, tmp_path), Worker("two", settings, tmp_path)]
    victim, survivor = workers

    async def both_own_partitions() -> bool:
        states = [await w.status() for w in workers]
        return all(s is not None and s["lag"] for s in states)

    await eventually(both_own_partitions, within=60, what="both workers owning partitions")

    feeding = asyncio.create_task(publish(settings, messages))

    async def victim_half_way() -> bool:
        status = await victim.status()
        return status is not None and status["stages"]["written"]["total"] >= EVENTS / 5

    await eventually(victim_half_way, within=120, what="the first worker storing a share")
    victim.stop(signal.SIGKILL)
    killed_after = time.monotonic() - started
    await feeding
    ends = await end_offsets(settings)
    remaining: dict[str, int] = {}

    async def caught_up() -> bool:
        nonlocal remaining
        remaining = await behind(settings, ends)
        return not remaining

    try:
        await eventually(caught_up, within=300, what="every raw partition committed to its end")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; still behind: {remaining}") from None
    assert survivor.alive()
    survivor_status = await survivor.status()
    survivor.stop(signal.SIGTERM)
    elapsed = time.monotonic() - started

    ch = union_of_shards([victim.clickhouse, survivor.clickhouse], tmp_path / "union",
                         settings.clickhouse.database)
    try:
        stored_rows = int(ch.query("SELECT count() FROM events").rows[0][0])
        final_rows = int(ch.query("SELECT count() FROM events FINAL").rows[0][0])
        stored_ids = {r[0] for r in ch.query("SELECT DISTINCT event_id FROM events").rows}
        task_rows = int(ch.query("SELECT count() FROM tasks FINAL").rows[0][0])
    finally:
        ch.close()
    records = read_to_end(settings.kafka.bootstrap_servers, settings.topics.tasks, timeout=60)
    tasks = [ResponseTask.model_validate_json(m.value()) for m in records]
    task_ids = {t.task_id for t in tasks}
    tasked_events = {t.event["event_id"] for t in tasks}

    print(f"\nscale-out: {len(messages):,} raw messages, {len(expected):,} valid events; "
          f"victim killed at {killed_after:.1f} s; done in {elapsed:.1f} s; "
          f"{stored_rows - final_rows:,} redelivered rows collapsed by FINAL; "
          f"{len(records) - len(task_ids):,} republished task records; survivor owned "
          f"{len(survivor_status['lag']) if survivor_status else '?'} partitions; "
          f"{len(set(expected) - stored_ids):,} valid events missing; survivor counted "
          f"{survivor_status['stages']['duplicate']['total'] if survivor_status else '?'} "
          f"duplicates")

    if missing := set(expected) - stored_ids:
        print("missing records:", where_missing(settings, messages, missing))
    assert len(task_ids) == len(tasked_events), "an event got two different tasks"
    assert task_rows == len(task_ids), "ClickHouse and the tasks topic disagree"
    assert tasked_events <= set(expected)
    assert stored_ids == set(expected), f"{len(set(expected) - stored_ids)} events lost"
    assert final_rows == len(expected)
    assert must_answer <= tasked_events
