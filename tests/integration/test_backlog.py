"""A worker under a backlog keeps running: every task of the backlog is overdue, the SLA
check escalates them in bounded batches while the backlog drains, and failures of a
periodic job or of a batch are survived (real broker, real chdb)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import pytest
from aiokafka.errors import KafkaError

from base.settings import Settings
from core.brands import BrandDirectory
from core.status import BREACH_PREFIX
from lab.simulator import RawMessage, Simulator
from schemas.events import Platform
from sinks.migrate import discover
from streams.outbox import Outbox
from streams.rawfeed import RawFeed
from streams.services import Services
from tests.support.kafka_reader import read_to_end
from tests.support.publish import publish
from tests.support.worker import eventually, running_worker

BACKLOG = 10_000
BREACH_BATCH = 500


def _past_traffic(count: int, seed: int) -> list[RawMessage]:
    """Simulated deliveries of a month ago: every task they make is long overdue."""
    start = datetime.now(UTC) - timedelta(days=30)
    return list(Simulator(BrandDirectory.load(), seed=seed, start=start).messages(count))


def _checking(settings: Settings, every_s: float = 0.5) -> Settings:
    return settings.model_copy(update={"sla": settings.sla.model_copy(
        update={"breach_check_s": every_s, "breach_batch": BREACH_BATCH})})


async def _alive(settings: Settings) -> bool:
    url = f"http://{settings.web_host}:{settings.web_port}/health"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status == 200


async def _count(services: Services, sql: str) -> int:
    return int((await services.writer.query(sql)).rows[0][0])


async def _stored_events(services: Services) -> int:
    return await _count(services, "SELECT uniqExact(event_id) FROM events")


async def test_a_backlog_whose_tasks_are_all_overdue_is_drained_and_each_escalated_once(
    settings: Settings,
) -> None:
    messages = _past_traffic(BACKLOG, seed=11)
    valid = {e.event_id for m in messages for e in m.expected}
    await publish(settings, messages)
    checking = _checking(settings)
    left_for_later = 0
    started = time.monotonic()
    async with running_worker(checking) as services:
        metrics = services.metrics

        async def drained_and_escalated() -> bool:
            nonlocal left_for_later
            left_for_later = max(left_for_later, int(metrics.sla_overdue_left._value.get()))
            tasks = await _count(services, "SELECT uniqExact(task_id) FROM tasks"
                                           " WHERE NOT startsWith(event_id, 'sla:')")
            escalated = await _count(services, "SELECT uniqExact(task_id) FROM tasks"
                                               " WHERE startsWith(event_id, 'sla:')")
            return (await _stored_events(services) == len(valid) and tasks > 0
                    and escalated == tasks)
        await eventually(drained_and_escalated, within=240,
                         what="every event stored and every overdue task escalated")
        elapsed, checks = time.monotonic() - started, metrics.sla_checks._value.get()

        async def checked_twice_more() -> bool:
            return bool(metrics.sla_checks._value.get() >= checks + 2)
        await eventually(checked_twice_more, what="two more overdue-task searches")
        assert await _alive(checking), "the worker is alive after the backlog"
        assert metrics.job_failures.labels("vigie.sla_breaches")._value.get() == 0
        assert metrics.sla_overdue_left._value.get() == 0
        breached = {str(r[0]) for r in (await services.writer.query(
            "SELECT task_id FROM tasks WHERE NOT startsWith(event_id, 'sla:')")).rows}
        waits = [s for s in metrics.producer_waits.collect()[0].samples
                 if s.name.endswith("_total")]

    assert left_for_later > 0, "the checks escalated in bounded batches, leaving some for later"
    records = [orjson.loads(m.value()) for m in
               read_to_end(settings.kafka.bootstrap_servers, settings.topics.tasks)]
    escalations = Counter(r["event"]["breached_task_id"] for r in records
                          if r["event"]["event_id"].startswith(BREACH_PREFIX))
    assert set(escalations) == breached, "every overdue task escalated, and nothing else"
    assert max(escalations.values()) == 1, "each escalated once"
    print(f"\nbacklog: {len(messages):,} deliveries, {len(valid):,} valid events stored, "
          f"{len(breached):,} overdue tasks escalated once each by {int(checks)} checks "
          f"({BREACH_BATCH} at most each, up to {left_for_later:,} left for a later one) in "
          f"{elapsed:.0f} s; producer waits {int(sum(s.value for s in waits))}")


async def test_a_periodic_job_that_fails_is_logged_and_runs_again_at_its_next_tick(
    settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    """A real fault: the view the SLA search reads is missing (a deploy in progress)."""
    await publish(settings, _past_traffic(200, seed=12))
    view = next(s for m in discover() for s in m.statements()
                if "VIEW IF NOT EXISTS task_outcomes" in s)
    checking = _checking(settings)
    async with running_worker(checking) as services:
        writer = services.writer
        failures = services.metrics.job_failures.labels("vigie.sla_breaches")
        await writer._call(writer.ch.command, "DROP VIEW task_outcomes")

        async def failed_twice() -> bool:
            return bool(failures._value.get() >= 2)
        await eventually(failed_twice, what="two failed overdue-task searches")
        assert await _alive(checking)
        await writer._call(writer.ch.command, view)

        async def escalated() -> bool:
            return await _count(services, "SELECT count() FROM tasks"
                                          " WHERE startsWith(event_id, 'sla:')") > 0
        await eventually(escalated, what="escalations once the view is back")
    assert "periodic job vigie.sla_breaches failed" in caplog.text


async def test_a_batch_whose_outputs_are_not_confirmed_is_read_again_without_a_restart_fake_fault(
    settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fake fault: the broker fails the delivery of one batch's output records (a fault
    the embedded broker cannot be made to produce on demand)."""
    messages = _past_traffic(3000, seed=13)
    valid = {e.event_id for m in messages for e in m.expected}
    await publish(settings, messages)
    send, failed = Outbox.send, []

    async def send_failing_once(self: Outbox, producer: Any, *args: Any, **kwargs: Any) -> Any:
        outputs = settings.topics.normalized in self._records
        futures = await send(self, producer, *args, **kwargs)
        if outputs and not failed:
            refused = asyncio.get_running_loop().create_future()
            refused.set_exception(KafkaError("fake fault: delivery refused"))
            failed.append(refused)
            futures.append(refused)
        return futures

    monkeypatch.setattr(Outbox, "send", send_failing_once)
    async with running_worker(settings) as services:
        async def all_stored() -> bool:
            return await _stored_events(services) == len(valid)
        await eventually(all_stored, within=120, what="every valid event stored")
        assert await _alive(settings)
        assert services.metrics.batch_failures.labels("process")._value.get() == 1
        twice = await _count(services, "SELECT countIf(ids > 1) FROM (SELECT event_id,"
                                       " uniqExact(task_id) AS ids FROM tasks GROUP BY event_id)")
    assert failed, "the fault was injected"
    assert twice == 0, "one task id per event, the batch done twice or not"


async def test_records_dropped_at_the_end_of_a_partition_are_read_again_fake_fault(
    settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fake fault: the last records of each X partition are dropped once between the
    fetch and the agent (as a rebalance racing a fetch can), so no later record of the
    partition reveals the gap. The worker once stood behind their ends for good."""
    messages = _past_traffic(600, seed=17)
    valid = {e.event_id for m in messages for e in m.expected}
    await publish(settings, messages)
    x = settings.topics.raw(Platform.X)
    last: dict[int, int] = {}
    for m in read_to_end(settings.kafka.bootstrap_servers, x):
        last[m.partition()] = max(last.get(m.partition(), -1), m.offset())
    dropped: set[tuple[int, int]] = set()
    install = RawFeed.install

    def install_dropping_the_last_records_once(self: RawFeed, app: Any) -> None:
        fetched = app.consumer.getmany

        async def getmany(timeout: float) -> AsyncIterator[tuple[Any, Any]]:  # noqa: ASYNC109
            async for tp, message in fetched(timeout):
                spot = (message.partition, message.offset)
                if message.topic == x and message.offset >= last[message.partition] - 1 \
                        and spot not in dropped:
                    dropped.add(spot)
                    continue
                yield tp, message

        app.consumer.getmany = getmany
        install(self, app)

    monkeypatch.setattr(RawFeed, "install", install_dropping_the_last_records_once)
    async with running_worker(settings) as services:
        async def all_stored() -> bool:
            return await _stored_events(services) == len(valid)
        await eventually(all_stored, within=120, what="every valid event stored")
        assert services.metrics.reread_seeks.labels("process")._value.get() >= 1
    assert len(dropped) == 2 * len(last), "the fault was injected on every X partition"
