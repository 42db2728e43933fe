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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console

from base.kafka import aiokafka_options, create_topics
from core.brands import BrandDirectory
from lab.simulator import RawMessage, Simulator
from sinks.clickhouse import EmbeddedClickHouse
from vigie.bench.report import (
    MACHINERY,
    Latency,
    MemoryTimeline,
    Progress,
    Sample,
    ScenarioResult,
    machine,
    render,
    render_soak,
    soak_summary,
    summary,
)
from vigie.bench.setup import BACKLOG_SEED, BenchConfig
from vigie.embedded import EmbeddedBroker

WORK_DIR = Path(".vigie/bench")
MARK = b"@@bench "
PUBLISH_CHUNK = 20_000  # records in flight at most while a backlog is published


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


async def prepare(config: BenchConfig, messages: Iterable[RawMessage] = ()) -> None:
    """Topics of the scenario (and its passthrough output), then the backlog if any
    (published as it is generated: a million payloads need not all be held at once)."""
    settings = config.settings()
    await create_topics(settings)
    admin = AIOKafkaAdminClient(**aiokafka_options(settings.kafka))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(config.passthrough_topic,
                                            settings.topics.partitions, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(**aiokafka_options(settings.kafka), acks="all", linger_ms=20,
                                max_batch_size=256 * 1024)
    await producer.start()
    try:
        pending: list[asyncio.Future[Any]] = []
        for m in messages:
            pending.append(await producer.send(settings.topics.raw(m.platform), m.value,
                                               key=m.key, headers=_headers()))
            if len(pending) >= PUBLISH_CHUNK:
                await asyncio.gather(*pending)
                pending.clear()
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

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    async def stop(self) -> int | None:
        """SIGTERM (the worker shuts down in order), SIGKILL after 30 s; the exit code."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.reader, 5)
        return self.process.returncode


def _broker_cpu(broker: psutil.Process) -> float:
    times = broker.cpu_times()
    return float(times.user + times.system)


@dataclass
class Drain:
    """How the processes of a scenario drained a pre-loaded backlog."""

    progress: Progress
    broker_pct: float
    note: str  # empty unless it timed out or a process exited before the end
    exit_codes: list[int | None]
    exited_early: bool  # a process ended by itself before the backlog was done (a crash)
    ready_s: float  # from the start of the processes to the first one's first report

    def result(self, name: str) -> ScenarioResult:
        p = self.progress
        (t0, n0, _), (t1, n1, _) = p.start or (0, 0, 0), p.end or (0, 0, 0)
        return ScenarioResult(name, p.processes, n1 - n0, t1 - t0, p.events_per_second(),
                              p.cpu_percent(), self.broker_pct, p.peak_rss_mb(),
                              p.peak_anon_mb(), self.note, p.window_hold_s, p.hold_s)


async def drain(configs: list[BenchConfig], total: int, broker: psutil.Process, logs: Path,
                limit_s: float, timeline: MemoryTimeline | None = None) -> Drain:
    """Run ``configs`` (one process each) until ``total`` records of the pre-loaded
    backlog are done, a process exits by itself, or ``limit_s`` runs out."""
    progress = Progress(len(configs), total)
    finished = asyncio.Event()
    broker_cpu: list[tuple[float, float]] = []
    launched, ready = time.time(), [0.0]

    def on_line(index: int, fields: dict[str, Any]) -> None:
        if "n" not in fields:
            return
        ready[0] = ready[0] or fields["t"] - launched
        started = progress.start is not None
        sample = Sample(fields["t"], fields["n"], fields["cpu"], fields["rss"], fields["anon"],
                        fields.get("anon_now", 0.0), fields.get("hold", 0.0))
        progress.update(index, sample)
        if timeline is not None and progress.start is not None:
            timeline.update(sample, progress.start[0])
        if (progress.start is not None and not started) or (progress.done and len(broker_cpu) < 2):
            broker_cpu.append((time.time(), _broker_cpu(broker)))
        if progress.done:
            finished.set()

    children = [Child(c, i, logs) for i, c in enumerate(configs)]
    for child in children:
        await child.start(on_line)
    note = ""
    try:
        await _until(finished, children, limit_s)
    except TimeoutError:
        done = sum(s.n for s in progress.latest.values())
        note = f"timed out after {limit_s:.0f} s at {done:,} records"
    exited_early = not progress.done and any(child.exited for child in children)
    if exited_early:
        done = sum(s.n for s in progress.latest.values())
        note = f"a process exited at {done:,} records (see its log in {logs})"
    exit_codes = [await child.stop() for child in children]
    broker_pct = (100 * (broker_cpu[1][1] - broker_cpu[0][1]) / (broker_cpu[1][0] -
                  broker_cpu[0][0]) if len(broker_cpu) == 2 else 0.0)
    return Drain(progress, broker_pct, note, exit_codes, exited_early, ready[0])


async def _until(finished: asyncio.Event, children: list[Child], limit_s: float) -> None:
    """Until ``finished`` is set or a child process ends (TimeoutError after ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    while not finished.is_set() and not any(child.exited for child in children):
        if time.monotonic() > deadline:
            raise TimeoutError
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(finished.wait(), 1.0)


async def throughput(name: str, configs: list[BenchConfig], payloads: Payloads,
                     broker: psutil.Process, logs: Path, limit_s: float) -> ScenarioResult:
    """Run ``configs`` (one process each) until the backlog is consumed."""
    await prepare(configs[0], payloads.messages)
    result = await drain(configs, len(payloads.messages), broker, logs, limit_s)
    if configs[0].scenario == "vigie" and not result.note:
        result.note = stored_note(configs, payloads.valid_ids)
    return result.result(name)


def stored_note(configs: list[BenchConfig], valid_ids: set[str]) -> str:
    """No loss: every valid event id is in the workers' chdb directories (read after exit)."""
    missing = len(valid_ids - stored_ids(configs))
    return (f"stored {len(valid_ids):,}/{len(valid_ids):,}" if not missing
            else f"MISSING {missing:,}/{len(valid_ids):,}")


def stored_ids(configs: list[BenchConfig]) -> set[str]:
    """The distinct event ids in the workers' chdb directories (read after they exited)."""
    stored: set[str] = set()
    for config in configs:
        ch = EmbeddedClickHouse(Path(config.chdb_dir), "vigie")
        try:
            stored.update(str(r[0]) for r in ch.query("SELECT DISTINCT event_id FROM events").rows)
        finally:
            ch.close()
    return stored


async def latency(configs: list[BenchConfig], payloads: Payloads, rate: float,
                  warmup: float, logs: Path) -> Latency:
    """Publish at ``rate`` to running workers (one process per config, one group); time
    each event to its task and its row."""
    await prepare(configs[0])
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


def _timeout(records: int) -> float:
    """How long a backlog may take to drain before the run gives up (300 records/s)."""
    return max(120.0, records / 300)


async def run(events: int, rate: float | None, load: float, seconds: float, rss_keys: int,
              loop: str, console: Console, machinery: bool = False) -> dict[str, Any]:
    """Every scenario on one embedded broker; returns the JSON document of the run.

    Capacity first: each scenario drains the same pre-loaded backlog. The latency runs
    (one worker, then two) are then driven at ``rate``, by default ``load`` times the
    one-worker throughput just measured: a fixed rate would measure queueing on a machine
    where it is above capacity, and nothing on a faster one. With ``machinery``, a
    last throughput scenario: one worker serving the backlog's outputs computed
    beforehand (:data:`vigie.bench.report.MACHINERY`)."""
    info = machine()
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    logs = WORK_DIR / "logs"
    logs.mkdir(parents=True)
    console.print(f"simulating {events:,} raw payloads ...")
    backlog = Payloads.simulate(events, seed=BACKLOG_SEED)
    timeout = _timeout(events)
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
        if machinery:
            plan.append((MACHINERY, [config("vigie", "machinery", precomputed=events)]))
        results: dict[str, ScenarioResult] = {}
        for name, configs in plan:
            console.print(f"[bold]{name}[/]: {len(configs)} process(es), "
                          f"{events:,} records backlog ...")
            results[name] = await throughput(name, configs, backlog, tansu, logs, timeout)
            r = results[name]
            hold = f", longest loop hold {r.loop_hold_s:.2f} s" if name.startswith("vigie") else ""
            console.print(f"  {r.eps:,.0f} events/s, CPU {r.cpu_pct:.0f} %, "
                          f"peak RSS {r.peak_rss_mb:.0f} MB{hold} {r.note}")
        latencies: dict[int, Latency] = {}
        target = rate or load * results["vigie"].eps
        if target <= 0:
            console.print("[red]no one-worker capacity measured: latency runs skipped[/]")
        else:
            paced = Payloads.simulate(int(target * seconds), seed=2)
            for workers in (1, 2):
                console.print(f"[bold]latency[/]: {workers} vigie worker(s) at {target:,.0f} "
                              f"events/s for {seconds:.0f} s ...")
                try:
                    latencies[workers] = await asyncio.wait_for(latency(
                        [config("vigie", f"latency{workers}", i, watch_clickhouse=True)
                         for i in range(workers)], paced, target, min(3.0, seconds / 4), logs),
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


def _simulated(count: int, seed: int, valid_ids: set[str]) -> Iterator[RawMessage]:
    """``count`` simulated payloads, generated as they are published; the ids of the
    valid events they carry are added to ``valid_ids`` on the way."""
    for message in Simulator(BrandDirectory.load(), seed=seed).messages(count):
        valid_ids.update(e.event_id for e in message.expected)
        yield message


async def soak_run(records: int, loop: str, console: Console) -> dict[str, Any]:
    """One worker drains a ``records``-record backlog to the end: throughput, private RSS
    over time, the longest event-loop hold, then what it stored (every valid event, one
    task id per event) and how it ended. Returns the JSON document of the run."""
    info = machine()
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    logs = WORK_DIR / "logs"
    logs.mkdir(parents=True)
    with EmbeddedBroker(log_file=WORK_DIR / "tansu.log") as broker:
        tansu = next(p for p in psutil.Process().children() if "tansu" in p.name())
        config = BenchConfig(scenario="vigie", bootstrap=broker.bootstrap_servers,
                             prefix="soak.", chdb_dir=str(WORK_DIR / "soak-0"),
                             loop=loop)  # type: ignore[arg-type]
        console.print(f"simulating and publishing {records:,} raw payloads ...")
        valid_ids: set[str] = set()
        await prepare(config, _simulated(records, 1, valid_ids))
        console.print(f"[bold]soak[/]: one vigie worker, {records:,} records backlog ...")
        timeline = MemoryTimeline(records)
        drained = await drain([config], records, tansu, logs, _timeout(records), timeline)
        stored = stored_ids([config])
        checks = {"valid_events": len(valid_ids), "stored_events": len(valid_ids & stored),
                  "missing_events": len(valid_ids - stored),
                  **task_checks(config), "crashed": drained.exited_early,
                  "exit_code": drained.exit_codes[0], "note": drained.note,
                  "start_s": round(drained.ready_s, 1)}
        console.print("[bold]restart[/]: the same worker again, its tables restored ...")
        checks |= await restart(config, logs, _timeout(records))
    doc = soak_summary(drained.result("vigie"), timeline, checks, info)
    for table in render_soak(doc):
        console.print(table)
    return doc


async def restart(config: BenchConfig, logs: Path, limit_s: float) -> dict[str, Any]:
    """Start the worker of ``config`` again and stop it at its first progress report (it
    reports once its tables are restored): the time to that report, the longest hold of
    its event loop until then, and its exit code."""
    first: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def on_line(index: int, fields: dict[str, Any]) -> None:
        if "n" in fields and not first.done():
            first.set_result(fields)

    child, launched = Child(config, 1, logs), time.time()
    await child.start(on_line)
    try:
        report: dict[str, Any] | None = await asyncio.wait_for(first, limit_s)
    except TimeoutError:
        report = None
    finally:
        code = await child.stop()
    if report is None:
        return {"restart_s": None, "restart_loop_hold_s": None, "restart_exit_code": code}
    return {"restart_s": round(report["t"] - launched, 1),
            "restart_loop_hold_s": round(report.get("hold", 0.0), 3), "restart_exit_code": code}


def task_checks(config: BenchConfig) -> dict[str, int]:
    """Tasks the worker stored: events with a task, events with more than one task id
    (must be none: a task id derives from its event), SLA escalations. A crisis task
    names its alert's origin event but is the alert's task, not that event's."""
    ch = EmbeddedClickHouse(Path(config.chdb_dir), "vigie")
    try:
        (event_tasks, twice), = ch.query(
            "SELECT count(), countIf(ids > 1) FROM (SELECT event_id, uniqExact(task_id) AS ids"
            " FROM tasks WHERE NOT startsWith(event_id, 'sla:') AND alert_id = ''"
            " GROUP BY event_id)").rows
        (escalations,), = ch.query(
            "SELECT uniqExact(task_id) FROM tasks WHERE startsWith(event_id, 'sla:')").rows
    finally:
        ch.close()
    return {"event_tasks": int(event_tasks), "events_with_two_task_ids": int(twice),
            "sla_escalations": int(escalations)}


def soak_failures(doc: dict[str, Any]) -> list[str]:
    """What a soak run got wrong (empty when every check held)."""
    failures = []
    if doc["missing_events"]:
        failures.append(f"{doc['missing_events']:,} valid events not stored")
    if doc["events_with_two_task_ids"]:
        failures.append(f"{doc['events_with_two_task_ids']:,} events with two task ids")
    if doc["crashed"] or doc["note"]:
        failures.append(doc["note"] or "the worker exited before the end")
    if doc["restart_s"] is None:
        failures.append("the restarted worker did not report within the time limit")
    for key in ("exit_code", "restart_exit_code"):
        if doc[key] != 0:
            failures.append(f"the worker exited with {doc[key]} on SIGTERM ({key})")
    return failures
