"""The processes ``vigie bench`` measures: ``python -m vigie.bench.child '<json config>'``.

Each prints ``@@bench <json>`` lines on stdout (everything else is ignored): progress
samples every 50 ms (records done, CPU seconds, peak RSS), partition assignments and,
for a latency run, when rows became visible in ClickHouse. A scenario runs until the
harness sends SIGTERM.

- ``limit``: bare aiokafka consume → produce → commit passthrough;
- ``naive``: a Faust agent awaiting ``topic.send()`` per event;
- ``vigie``: the real worker (:func:`streams.app.create_app`) on its own chdb directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust
import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from base.kafka import aiokafka_options
from vigie.bench.setup import BACKLOG_SEED, BenchConfig, faust_app_options

REPORT_EVERY_S = 0.05


def emit(**fields: Any) -> None:
    sys.stdout.write("@@bench " + orjson.dumps(fields).decode() + "\n")
    sys.stdout.flush()


def memory_mb() -> tuple[float, float]:
    """Peak RSS (``VmHWM``: unlike ``ru_maxrss`` it is not inherited across exec from the
    harness) and private memory now (``RssAnon``: RSS without mapped files such as chdb's
    200 MB library, which the kernel shares between processes and can drop)."""
    fields = dict(line.split(":", 1) for line in
                  Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return (int(fields["VmHWM"].split()[0]) / 1024, int(fields["RssAnon"].split()[0]) / 1024)


async def report_progress(done: Callable[[], float],
                          hold: Callable[[], float] = lambda: 0.0) -> None:
    """Print a progress sample every 50 ms: time, records done, CPU seconds, peak RSS,
    peak and current private RSS, and the longest hold of the event loop since the
    previous sample (``hold``)."""
    me = psutil.Process()
    peak_anon = 0.0
    while True:
        cpu = me.cpu_times()
        peak, anon = memory_mb()
        peak_anon = max(peak_anon, anon)
        emit(t=time.time(), n=int(done()), cpu=cpu.user + cpu.system, rss=peak, anon=peak_anon,
             anon_now=anon, hold=hold())
        await asyncio.sleep(REPORT_EVERY_S)


async def run_limit(config: BenchConfig) -> None:
    """What the client alone can do: fetch a batch, produce it, wait for delivery, commit."""
    settings = config.settings()
    options = aiokafka_options(settings.kafka)
    consumer = AIOKafkaConsumer(
        *settings.topics.all_raw(), **options, group_id=settings.kafka.consumer_group,
        enable_auto_commit=False, auto_offset_reset="earliest",
        rebalance_timeout_ms=int(settings.kafka.rebalance_timeout_s * 1000),
        session_timeout_ms=int(settings.kafka.session_timeout_s * 1000),
        heartbeat_interval_ms=int(settings.kafka.heartbeat_interval_s * 1000),
    )
    producer = AIOKafkaProducer(**options, acks="all", linger_ms=settings.kafka.producer_linger_ms,
                                max_batch_size=settings.kafka.producer_batch_bytes)
    await consumer.start()
    await producer.start()
    done = 0
    reporter = asyncio.create_task(report_progress(lambda: done))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=5000)
            pending = [await producer.send(config.passthrough_topic, r.value, key=r.key)
                       for records in batches.values() for r in records]
            await asyncio.gather(*pending)
            await consumer.commit()
            done += len(pending)
    finally:
        reporter.cancel()
        await consumer.stop()
        await producer.stop()


def run_naive(config: BenchConfig) -> None:
    """The usual Faust agent: one ``await topic.send()`` per event, acked by the stream."""
    settings = config.settings()
    app = faust.App(settings.kafka.consumer_group, **faust_app_options(settings),
                    web_enabled=False)
    raw = app.topic(*settings.topics.all_raw(), key_serializer="raw", value_serializer="raw")
    out = app.topic(config.passthrough_topic, key_serializer="raw", value_serializer="raw")
    done = [0]

    @app.agent(raw)
    async def passthrough(stream: Any) -> None:
        async for event in stream.events():
            await out.send(key=event.key, value=event.value)
            done[0] += 1

    @app.task
    async def progress() -> None:
        await report_progress(lambda: done[0])

    _run_worker(app)


def run_vigie(config: BenchConfig) -> None:
    """The real worker, plus the bench's progress reporter and ClickHouse watcher."""
    from schemas.events import Platform
    from sinks.clickhouse import EmbeddedClickHouse
    from sinks.migrate import migrate
    from streams.app import create_app

    settings = config.settings()
    clickhouse = EmbeddedClickHouse(Path(config.chdb_dir), settings.clickhouse.database)
    migrate(clickhouse)
    app, services = create_app(settings, clickhouse=clickhouse)
    if config.seed_keys:
        seed_dedup_keys(services.tables.seen.store, config.seed_keys,
                        settings.topics.raw(Platform.X))
    if config.precomputed:
        serve_precomputed_stages(services, config.precomputed)

    @app.task
    async def progress() -> None:
        await report_progress(lambda: services.metrics.stage_totals()["raw"],
                              services.loop_lag.take_recent)

    if config.watch_clickhouse:
        @app.task
        async def visible() -> None:
            await watch_clickhouse(services)

    try:
        _run_worker(app)
    finally:
        services.writer.close()
        clickhouse.close()


def seed_dedup_keys(store: Any, count: int, topic: str) -> None:
    """Fill the dedup table's store with ``count`` entries shaped like the worker's own
    (RSS check), seen in the hour before the simulated traffic starts: inside the TTL,
    so they stay (older ones would be swept, one changelog tombstone each)."""
    from core.dedupe import digest, first_seen_entry

    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC).timestamp()  # Simulator's default
    for i in range(count):
        store[digest(f"x:{1_800_000_000_000_000_000 + i * 7919}")] = first_seen_entry(
            start - 3600 + i * 3600 / count, f"{topic}/{i % 4}/{i // 4}")


def serve_precomputed_stages(services: Any, count: int) -> None:
    """Measure the streaming machinery alone: the outputs of the backlog's first
    ``count`` payloads are computed here, before the worker starts, and the worker's
    pipeline serves them instead of computing (a payload it has none for yields
    nothing). The exact-dedup table is still read and written per event, so its
    changelog records are still sent. Everything else is the worker's own: fetches,
    encoding, the producer, ClickHouse rows and inserts, the surge agent, commits."""
    import gc

    from core.normalize import Source
    from core.pipeline import BatchOutput, Pipeline, RawRecord, dedup_key
    from lab.simulator import Simulator

    pipeline = services.pipeline
    offline = Pipeline(services.settings, pipeline.brands, pipeline.classifier)
    outputs: dict[bytes, BatchOutput] = {}
    for offset, m in enumerate(Simulator(pipeline.brands, seed=BACKLOG_SEED).messages(count)):
        if m.value not in outputs:  # a redelivery: the first delivery's outputs
            outputs[m.value] = offline.process([RawRecord(
                topic=services.settings.topics.raw(m.platform), partition=0, offset=offset,
                key=m.key, value=m.value)])
    gc.collect()
    gc.freeze()  # the collector would scan these outputs again and again
    nothing = BatchOutput()

    def served(records: Sequence[RawRecord], focus: Callable[[int], None] | None = None
               ) -> BatchOutput:
        out = BatchOutput()
        for index, record in enumerate(records):
            if focus is not None:
                focus(index)
            done = outputs.get(record.value, nothing)
            position = Source(record.topic, record.partition, record.offset).position
            seen = [pipeline.exact.is_duplicate(dedup_key(event), event.created_at.timestamp(),
                                                position) for event, _ in done.normalized]
            out.normalized.extend((event, record) for event, _ in done.normalized)
            out.duplicates += sum(seen)
            if seen and all(seen):
                continue  # a redelivery: nothing new, as in the pipeline
            out.classified.extend((event, record) for event, _ in done.classified)
            out.observations.extend(done.observations)
            out.tasks.extend(done.tasks)
            out.dead_letters.extend(done.dead_letters)
        return out

    setattr(pipeline, "process", served)  # noqa: B010 (an instance's method, replaced)


async def watch_clickhouse(services: Any) -> None:
    """Every 100 ms, the rows of batches stored since the last look: ``[received_ms]``.

    A batch's rows share ``processed_at`` and one worker inserts batches one after the
    other, so "processed_at above the last seen" is exactly the newly visible rows.
    """
    last = 0
    while True:
        await asyncio.sleep(0.1)
        result = await services.writer.query(
            "SELECT toUnixTimestamp64Milli(processed_at) AS p,"
            " groupArray(toUnixTimestamp64Milli(assumeNotNull(received_at)))"
            " FROM events WHERE toUnixTimestamp64Milli(processed_at) > {last:Int64}"
            " AND received_at IS NOT NULL GROUP BY p", {"last": last})
        seen_at = time.time() * 1000
        received = [int(ms) for p, batch in result.rows for ms in batch]
        last = max([last, *(int(p) for p, _ in result.rows)])
        if received:
            emit(visible_ms=seen_at, received_ms=received)


def _run_worker(app: faust.App) -> None:
    async def assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        emit(assigned=len(app.consumer.assignment()))

    app.on_partitions_assigned.connect(assigned)
    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.spinner = None
    with contextlib.suppress(SystemExit):
        worker.execute_from_commandline()


def main() -> None:
    config = BenchConfig.model_validate_json(sys.argv[1])
    if config.loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if config.scenario == "limit":
        asyncio.run(run_limit(config))
    elif config.scenario == "naive":
        run_naive(config)
    else:
        run_vigie(config)


if __name__ == "__main__":
    main()
