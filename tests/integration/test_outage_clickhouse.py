"""ClickHouse down or slow under a running worker: consumption pauses, memory stays
bounded, nothing is lost, and the worker catches up once ClickHouse is back.

The faults are fakes (they cannot be caused for real on the embedded engine): the
backend's inserts raise a connection error, or take seconds, while a switch is on.
CI: a 10 s outage under 30,000 deliveries. ``--run-slow``: 60 s under 100,000.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from base.kafka import create_topics
from base.settings import Settings
from core.brands import BrandDirectory
from lab.simulator import Simulator
from streams.services import Services
from tests.support.clickhouse import FaultyClickHouse
from tests.support.faults import Ends, GroupProgress, replay
from tests.support.worker import eventually, running_worker

RSS_BOUND_MB = 400
PLATEAU_MB = 64


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) / 1024


async def stored(services: Services) -> int:
    rows = await services.writer.query("SELECT uniqExact(event_id) FROM events")
    return int(rows.rows[0][0])


async def sample_while(seconds: float, sample: Callable[[], Awaitable[None]]) -> None:
    """Call ``sample`` every half second for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await sample()
        await asyncio.sleep(0.5)


def with_faults(services: Services) -> FaultyClickHouse:
    faulty = FaultyClickHouse(services.writer.ch)
    services.writer.ch = faulty
    return faulty


async def test_clickhouse_outage_pauses_consumption_loses_nothing_and_catches_up_fake_fault(
    settings: Settings, full_size: bool,
) -> None:
    deliveries, outage_s = (100_000, 60.0) if full_size else (30_000, 10.0)
    # Batches of 1,000: what the worker may hold (two batches and a stream buffer of
    # four) is then far below the deliveries, so the plateau is reached early in the
    # outage and "memory kept growing" cannot be mistaken for buffers still filling.
    settings = settings.model_copy(update={
        "sink": settings.sink.model_copy(update={"batch_size": 1000})})
    await create_topics(settings)
    messages = list(Simulator(BrandDirectory.load(), seed=5).messages(deliveries))
    expected = {e.event_id for m in messages for e in m.expected}
    async with running_worker(settings) as services:
        faulty = with_faults(services)
        faulty.down.set()
        baseline = rss_mb()
        ends: Ends = await replay(settings, messages, {})
        progress = GroupProgress(settings.kafka.bootstrap_servers,
                                 settings.kafka.consumer_group, ends)
        peak, committed = [baseline], []

        async def sample() -> None:
            peak.append(rss_mb())
            committed.append(progress.lag()[0])

        try:
            await sample_while(outage_s, sample)
            during = await stored(services)
            faulty.down.clear()
            back = time.monotonic()
            await eventually(lambda: _all_stored(services, len(expected)), within=300,
                             what="every event stored after the outage")
            catch_up = time.monotonic() - back
        finally:
            progress.close()
        retries = services.metrics.insert_retries.labels("events")._value.get()

    assert faulty.refused > 0
    assert (during, max(committed)) == (0, 0), "nothing may be acknowledged while down"
    assert max(peak) - baseline < RSS_BOUND_MB
    half = len(peak) // 2
    assert max(peak[half:]) - max(peak[:half]) < PLATEAU_MB, "memory kept growing while down"
    print(f"\nclickhouse outage: {outage_s:.0f}s deliveries={deliveries} valid={len(expected)}"
          f" refused_inserts={faulty.refused} retries={retries:.0f}"
          f" rss_growth_mb={max(peak) - baseline:.0f} catch_up_s={catch_up:.1f}")


async def _all_stored(services: Services, count: int) -> bool:
    return await stored(services) >= count


async def test_slow_clickhouse_applies_backpressure_without_unbounded_buffers_fake_fault(
    settings: Settings, full_size: bool,
) -> None:
    deliveries, delay_s = (60_000, 3.0) if full_size else (20_000, 2.0)
    slow_for = 4 * delay_s * (3 if full_size else 2)
    await create_topics(settings)
    messages = list(Simulator(BrandDirectory.load(), seed=6).messages(deliveries))
    expected = {e.event_id for m in messages for e in m.expected}
    async with running_worker(settings) as services:
        faulty = with_faults(services)
        faulty.delay_s = delay_s
        baseline = rss_mb()
        ends = await replay(settings, messages, {})
        progress = GroupProgress(settings.kafka.bootstrap_servers,
                                 settings.kafka.consumer_group, ends)
        peak, behind = [baseline], []

        async def sample() -> None:
            peak.append(rss_mb())
            behind.append(progress.lag()[1])

        try:
            await sample_while(slow_for, sample)
            faulty.delay_s = 0.0
            fast_again = time.monotonic()
            await eventually(lambda: _all_stored(services, len(expected)), within=300,
                             what="every event stored once ClickHouse is fast again")
            catch_up = time.monotonic() - fast_again
        finally:
            progress.close()

    assert min(behind) > 0, "a slow sink must hold the stream back"
    assert max(peak) - baseline < RSS_BOUND_MB
    print(f"\nslow clickhouse: {delay_s:.0f}s per insert for {slow_for:.0f}s "
          f"deliveries={deliveries} lag_at_end_of_slow_period={behind[-1]}"
          f" rss_growth_mb={max(peak) - baseline:.0f} catch_up_s={catch_up:.1f}")
