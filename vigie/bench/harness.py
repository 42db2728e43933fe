"""The orchestrator of ``vigie bench``: one broker, the same payloads, every scenario.

Order of a run: generate simulated raw payloads once; for each scenario create its
topics, pre-load the backlog, start its process(es) and watch their progress until
the backlog is done; then latency runs at a fixed rate, on one vigie worker and on two;
then the memory check with a million keys in the dedup table. Each vigie run is checked for
loss afterwards: its chdb directories are opened (the workers have exited) and every
valid event id must be in them.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console

from ingest.simulator import RawMessage, Simulator
from sinks.clickhouse import EmbeddedClickHouse
from streams.brands import BrandDirectory
from vigie.bench.report import Latency, Progress, Sample, ScenarioResult, machine, render, summary
from vigie.bench.setup import BenchConfig
from vigie.embedded import EmbeddedBroker
from vigie.kafka import aiokafka_options, create_topics

WORK_DIR = Path(".vigie/bench")
MARK = b"@@bench "


@dataclass
class Payloads:
    """Simulated raw deliveries and the event ids that must end up stored."""

    messages: list[RawMessage]
    valid_ids: set[str] = field(default_factory=set)

    @classmethod
    def simulate(cls, count: int, seed: int) -> Payloads:
        messages = list(Simulator(BrandDirectory.load(), seed=seed).messages(count))
        return cls(messages, {e.event_id for m in messages for e in m.expected})


def _headers() -> list[tuple[str, bytes]]:
    return [("received_at", datetime.now(UTC).isoformat().encode()), ("source", b"bench")]


async def prepare(config: BenchConfig, payloads: Payloads | None) -> None:
    """Topics of the scenario (and its passthrough output), then the backlog if any."""
    settings = config.settings()
    await create_topics(settings)
    admin = AIOKafkaAdminClient(**aiokafka_options(settings.kafka))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(config.passthrough_topic,
                                            settings.topics.partitions, 1)])
    finally:
        await admin.close()
    if payloads is None:
        return
    producer = AIOKafkaProducer(**aiokafka_options(settings.kafka), acks="all", linger_ms=20,
                                max_batch_size=256 * 1024)
    await producer.start()
    try:
        pending = [await producer.send(settings.topics.raw(m.platform), m.value, key=m.key,
                                       headers=_headers()) for m in payloads.messages]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


class Child:
    """One scenario process; its ``@@bench`` lines are handed to ``on_line``."""

    def __init__(self, config: BenchConfig, index: int, logs: Path) -> None:
        self.config = config
        self.index = index
        self.log_path = logs / f"{config.prefix}{index}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.reader: asyncio.Task[None] | None = None

    async def start(self, on_line: Callable[[int, dict[str, Any]], None]) -> None:
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "vigie.bench.child", self.config.model_dump_json(),
                stdout=asyncio.subprocess.PIPE, stderr=log, stdin=asyncio.subprocess.DEVNULL,
            )
        self.reader = asyncio.create_task(self._read(on_line))

    async def _read(self, on_line: Callable[[int, dict[str, Any]], None]) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            if line.startswith(MARK):
                on_line(self.index, orjson.loads(line[len(MARK):]))

    async def stop(self) -> None:
        """SIGTERM (the worker shuts down in order), SIGKILL after 30 s."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.reader, 5)


def _broker_cpu(broker: psutil.Process) -> float:
    times = broker.cpu_times()
    return float(times.user + times.system)


async def throughput(name: str, configs: list[BenchConfig], payloads: Payloads,
                     broker: psutil.Process, logs: Path, limit_s: float) -> ScenarioResult:
    """Run ``configs`` (one process each) until the backlog is consumed."""
    await prepare(configs[0], payloads)
    total = len(payloads.messages)
    progress = Progress(len(configs), total)
    finished = asyncio.Event()
    broker_cpu: list[tuple[float, float]] = []

    def on_line(index: int, fields: dict[str, Any]) -> None:
        if "n" not in fields:
            return
        started = progress.start is not None
        progress.update(index, Sample(fields["t"], fields["n"], fields["cpu"], fields["rss"],
                                      fields["anon"]))
        if (progress.start is not None and not started) or (progress.done and len(broker_cpu) < 2):
            broker_cpu.append((time.time(), _broker_cpu(broker)))
        if progress.done:
            finished.set()

    children = [Child(c, i, logs) for i, c in enumerate(configs)]
    for child in children:
        await child.start(on_line)
    note = ""
    try:
        await asyncio.wait_for(finished.wait(), limit_s)
    except TimeoutError:
        done = sum(s.n for s in progress.latest.values())
        note = f"timed out after {limit_s:.0f} s at {done:,} records"
    finally:
        for child in children:
            await child.stop()
    if configs[0].scenario == "vigie":
        note = note or stored_note(configs, payloads)
    (t0, n0, _), (t1, n1, _) = progress.start or (0, 0, 0), progress.end or (0, 0, 0)
    broker_pct = (100 * (broker_cpu[1][1] - broker_cpu[0][1]) / (broker_cpu[1][0] -
                  broker_cpu[0][0]) if len(broker_cpu) == 2 else 0.0)
    return ScenarioResult(name, len(configs), n1 - n0, t1 - t0, progress.events_per_second(),
                          progress.cpu_percent(), broker_pct, progress.peak_rss_mb(),
                          progress.peak_anon_mb(), note)


def stored_note(configs: list[BenchConfig], payloads: Payloads) -> str:
    """No loss: every valid event id is in the workers' chdb directories (read after exit)."""
    stored: set[str] = set()
    for config in configs:
        ch = EmbeddedClickHouse(Path(config.chdb_dir), "vigie")
        try:
            stored.update(str(r[0]) for r in ch.query("SELECT DISTINCT event_id FROM events").rows)
        finally:
            ch.close()
    missing = len(payloads.valid_ids - stored)
    return (f"stored {len(payloads.valid_ids):,}/{len(payloads.valid_ids):,}" if not missing
            else f"MISSING {missing:,}/{len(payloads.valid_ids):,}")


async def latency(configs: list[BenchConfig], payloads: Payloads, rate: float,
                  warmup: float, logs: Path) -> Latency:
    """Publish at ``rate`` to running workers (one process per config, one group); time
    each event to its task and its row."""
    await prepare(configs[0], None)
    settings = configs[0].settings()
    assigned, all_stored = asyncio.Event(), asyncio.Event()
    partitions: dict[int, int] = {}  # worker -> partitions assigned
    rows: list[tuple[float, float]] = []  # (received ms, latency ms)

    def on_line(index: int, fields: dict[str, Any]) -> None:
        if "assigned" in fields:
            partitions[index] = fields["assigned"]
            if len(partitions) == len(configs) and all(partitions.values()):
                assigned.set()
        if "visible_ms" in fields:
            rows.extend((r, fields["visible_ms"] - r) for r in fields["received_ms"])
            if len(rows) >= len(payloads.valid_ids):
                all_stored.set()

    children = [Child(c, i, logs) for i, c in enumerate(configs)]
    for child in children:
        await child.start(on_line)
    tasks: list[tuple[float, float]] = []
    consumer = AIOKafkaConsumer(**aiokafka_options(settings.kafka), fetch_max_wait_ms=10,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    consumer.assign([TopicPartition(settings.topics.tasks, p)
                     for p in range(settings.topics.partitions)])
    reader = asyncio.create_task(_read_tasks(consumer, tasks))
    try:
        await asyncio.wait_for(assigned.wait(), 120)
        await asyncio.sleep(1.0)  # the agents' first fetch
        started, achieved = await _publish_at(settings, payloads.messages, rate)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_stored.wait(), 60)
        await asyncio.sleep(1.0)  # the last tasks
    finally:
        reader.cancel()
        await consumer.stop()
        for child in children:
            await child.stop()
    since = (started + warmup) * 1000

    def steady(pairs: list[tuple[float, float]]) -> list[float]:
        return [lat for received, lat in pairs if received >= since]

    return Latency(rate, achieved, steady(tasks), steady(rows))


async def _read_tasks(consumer: AIOKafkaConsumer, out: list[tuple[float, float]]) -> None:
    while True:
        batches = await consumer.getmany(timeout_ms=50)
        now = time.time() * 1000
        for records in batches.values():
            for record in records:
                received = orjson.loads(record.value)["event"].get("received_at")
                if received:  # crisis tasks of alerts have no ingested event
                    ms = datetime.fromisoformat(received).timestamp() * 1000
                    out.append((ms, now - ms))


async def _publish_at(settings: Any, messages: list[RawMessage],
                      rate: float) -> tuple[float, float]:
    """Publish ``messages`` at ``rate`` per second; returns (start time, achieved rate)."""
    producer = AIOKafkaProducer(**aiokafka_options(settings.kafka), acks="all", linger_ms=1)
    await producer.start()
    try:
        started, clock = time.time(), time.monotonic()
        for i, m in enumerate(messages):
            if i % 10 == 0:
                ahead = clock + i / rate - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            await producer.send(settings.topics.raw(m.platform), m.value, key=m.key,
                                headers=_headers())
        await producer.flush()
        return started, len(messages) / (time.monotonic() - clock)
    finally:
        await producer.stop()


async def run(events: int, rate: float, seconds: float, rss_keys: int, loop: str,
              console: Console) -> dict[str, Any]:
    """Every scenario on one embedded broker; returns the JSON document of the run."""
    info = machine()
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    logs = WORK_DIR / "logs"
    logs.mkdir(parents=True)
    console.print(f"simulating {events:,} + {int(rate * seconds):,} raw payloads ...")
    backlog = Payloads.simulate(events, seed=1)
    paced = Payloads.simulate(int(rate * seconds), seed=2)
    timeout = max(120.0, events / 300)
    with EmbeddedBroker(log_file=WORK_DIR / "tansu.log") as broker:
        tansu = next(p for p in psutil.Process().children() if "tansu" in p.name())

        def config(scenario: Any, name: str, index: int = 0, **extra: Any) -> BenchConfig:
            return BenchConfig(scenario=scenario, bootstrap=broker.bootstrap_servers,
                               prefix=f"{name}.", chdb_dir=str(WORK_DIR / f"{name}-{index}"),
                               loop=loop, **extra)  # type: ignore[arg-type]

        plan: list[tuple[str, list[BenchConfig]]] = [
            ("limit", [config("limit", "limit")]),
            ("naive_faust", [config("naive", "naive")]),
            ("vigie", [config("vigie", "vigie1")]),
            ("vigie_2workers", [config("vigie", "vigie2", i) for i in range(2)]),
        ]
        results: dict[str, ScenarioResult] = {}
        for name, configs in plan:
            console.print(f"[bold]{name}[/]: {len(configs)} process(es), "
                          f"{events:,} records backlog ...")
            results[name] = await throughput(name, configs, backlog, tansu, logs, timeout)
            r = results[name]
            console.print(f"  {r.eps:,.0f} events/s, CPU {r.cpu_pct:.0f} %, "
                          f"peak RSS {r.peak_rss_mb:.0f} MB {r.note}")
        latencies: dict[int, Latency] = {}
        for workers in (1, 2):
            console.print(f"[bold]latency[/]: {workers} vigie worker(s) at {rate:,.0f} "
                          f"events/s for {seconds:.0f} s ...")
            try:
                latencies[workers] = await asyncio.wait_for(latency(
                    [config("vigie", f"latency{workers}", i, watch_clickhouse=True)
                     for i in range(workers)], paced, rate, min(3.0, seconds / 4), logs),
                    seconds + 240)
            except TimeoutError:
                console.print(f"[red]latency run with {workers} worker(s) timed out[/]")
        rss = None
        if rss_keys:
            console.print(f"[bold]memory[/]: one vigie worker with {rss_keys:,} dedup keys ...")
            small = Payloads(backlog.messages[: max(1, events // 5)])
            small.valid_ids = {e.event_id for m in small.messages for e in m.expected}
            try:
                rss = await asyncio.wait_for(throughput(
                    "rss_check", [config("vigie", "rss", seed_keys=rss_keys)], small, tansu,
                    logs, timeout), timeout + 120)
            except TimeoutError:
                console.print("[red]memory check timed out[/]")
    doc = summary(results, latencies, rss, info)
    for table in render(doc):
        console.print(table)
    return doc
