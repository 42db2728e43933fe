"""``vigie run``: the whole pipeline on the embedded stack, fed by simulated traffic.

Starts Tansu on a free loopback port and the embedded ClickHouse in
``.vigie/clickhouse``, creates topics and tables, then runs the Faust worker in this
process with two extra tasks: the simulated ingest agent (an aiokafka producer) and
the live summary. With ``--events N`` it stops once every valid simulated event is in
ClickHouse and every invalid one reached the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import faust
import orjson
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from ingest.simulator import Simulator
from sinks.clickhouse import connect
from sinks.migrate import migrate, retention_of
from streams.app import Services, create_app
from streams.brands import BrandDirectory
from vigie.embedded import EmbeddedBroker, free_port
from vigie.helpdesk import Helpdesk
from vigie.kafka import aiokafka_options, create_topics
from vigie.settings import Settings

log = logging.getLogger(__name__)

STATE_DIR = Path(".vigie")
RUN_FILE = STATE_DIR / "run.json"


@dataclass
class Progress:
    """What the simulated ingest agent sent, and what the pipeline must end with."""

    target: int | None
    sent: int = 0
    valid_ids: set[str] = field(default_factory=set)
    invalid: int = 0
    done_sending: bool = False
    stored: int = 0
    statuses_stored: int = 0
    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def embedded_settings(settings: Settings, bootstrap: str) -> Settings:
    """The settings of an embedded run: local broker, short group joins, free web port."""
    kafka = settings.kafka.model_copy(update={
        "bootstrap_servers": bootstrap,
        "rebalance_timeout_s": 3.0,
        "session_timeout_s": 10.0,
        "heartbeat_interval_s": 0.5,
        "replication_factor": 1,
    })
    clickhouse = settings.clickhouse.model_copy(update={"url": None})
    return settings.model_copy(update={
        "kafka": kafka, "clickhouse": clickhouse, "web_port": free_port(),
    })


async def _feed(settings: Settings, simulator: Simulator, progress: Progress,
                rate: float | None) -> None:
    """The simulated ingest agent: raw payloads, unchanged, to ``raw.<platform>``."""
    producer = AIOKafkaProducer(**aiokafka_options(settings.kafka), acks="all", linger_ms=5)
    await producer.start()
    try:
        count = progress.target if progress.target is not None else 10**12
        started = time.monotonic()
        for message in simulator.messages(count):
            headers = [
                ("platform", message.platform.value.encode()),
                ("received_at", datetime.now(UTC).isoformat().encode()),
                ("source", b"simulator"),
            ]
            await producer.send(settings.topics.raw(message.platform), message.value,
                                key=message.key, headers=headers)
            progress.sent += 1
            progress.valid_ids.update(e.event_id for e in message.expected)
            progress.invalid += message.malformed
            if rate and progress.sent % 50 == 0:
                ahead = progress.sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            elif progress.sent % 1000 == 0:
                await asyncio.sleep(0)
        await producer.flush()
        progress.done_sending = True
    finally:
        await producer.stop()


def _summary_table(services: Services, progress: Progress, rates: dict[str, float]) -> Table:
    totals = services.metrics.stage_totals()
    elapsed = time.monotonic() - progress.started
    table = Table(title=f"vigie — embedded run — {elapsed:,.0f} s", title_justify="left")
    table.add_column("stage")
    table.add_column("total", justify="right")
    table.add_column("events/s", justify="right")
    table.add_row("ingested (simulator)", f"{progress.sent:,}", "")
    for stage in ("raw", "normalized", "classified", "deadletter", "written", "tasks"):
        table.add_row(stage, f"{totals[stage]:,.0f}", f"{rates.get(stage, 0.0):,.0f}")
    table.add_row("rows in ClickHouse (this run)", f"{progress.stored:,}", "")
    table.add_row("task statuses stored (helpdesk)", f"{progress.statuses_stored:,}", "")
    return table


async def _watch(services: Services, progress: Progress, helpdesk: Helpdesk,
                 console: Console, result: dict[str, int]) -> None:
    """Live summary; ends the run once ``--events N`` have all arrived."""
    previous, last = services.metrics.stage_totals(), time.monotonic()
    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    with live or contextlib.nullcontext():
        while True:
            await asyncio.sleep(1.0)
            rows = await services.writer.query(
                "SELECT uniqExact(event_id) FROM events WHERE processed_at >= {t:DateTime64(3)}",
                {"t": progress.started_at.replace(tzinfo=None)},
            )
            progress.stored = int(rows.rows[0][0]) if rows.rows else 0
            statuses = await services.writer.query(
                "SELECT count() FROM task_status WHERE stored_at >= {t:DateTime64(3)}",
                {"t": progress.started_at.replace(tzinfo=None)},
            )
            progress.statuses_stored = int(statuses.rows[0][0]) if statuses.rows else 0
            totals, now = services.metrics.stage_totals(), time.monotonic()
            rates = {k: (totals[k] - previous[k]) / (now - last) for k in totals}
            previous, last = totals, now
            table = _summary_table(services, progress, rates)
            if live:
                live.update(table, refresh=True)
            elif int(now - progress.started) % 5 == 0:
                console.print(table)
            complete = (
                progress.target is not None and progress.done_sending
                and progress.stored >= len(progress.valid_ids)
                and totals["deadletter"] >= progress.invalid
                and progress.statuses_stored >= helpdesk.published > 0
            )
            if complete:
                if live is None:
                    console.print(table)
                console.print(
                    f"[green]done[/]: {len(progress.valid_ids):,} valid events in ClickHouse, "
                    f"{progress.invalid:,} invalid in the dead-letter topic, "
                    f"{helpdesk.published:,} task statuses from the simulated helpdesk stored, "
                    f"in {time.monotonic() - progress.started:,.1f} s"
                )
                result["code"] = 0
                # The worker's own SIGTERM handler shuts everything down in order.
                os.kill(os.getpid(), signal.SIGTERM)
                return


def run_embedded(
    settings: Settings, *, events: int | None, rate: float | None, seed: int,
    console: Console,
) -> int:
    """Run everything locally; returns the process exit status."""
    STATE_DIR.mkdir(exist_ok=True)
    # The live summary owns the terminal: only warnings and errors interrupt it, and the
    # changelog producer's "buffer full" notices (back-pressure at work) are not news.
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("faust.transport.producer").setLevel(logging.ERROR)
    with EmbeddedBroker(log_file=STATE_DIR / "tansu.log") as broker:
        settings = embedded_settings(settings, broker.bootstrap_servers)
        RUN_FILE.write_bytes(orjson.dumps({
            "pid": os.getpid(),
            "bootstrap_servers": broker.bootstrap_servers,
            "web": f"http://{settings.web_host}:{settings.web_port}",
        }))
        console.print(f"broker on {broker.bootstrap_servers}, ClickHouse in "
                      f"{settings.clickhouse.path}, worker web on port {settings.web_port}")
        asyncio.run(create_topics(settings))
        clickhouse = connect(settings.clickhouse)
        migrate(clickhouse, retention=retention_of(settings.clickhouse))
        brands = BrandDirectory.load(settings.brands_file)
        app, services = create_app(settings, clickhouse=clickhouse, brands=brands)
        progress = Progress(target=events)
        # Event time starts now and advances at the sending rate, so SLAs are live and
        # event time never runs ahead of the clock.
        simulator = Simulator(brands, seed=seed, start=datetime.now(UTC),
                              events_per_second=rate or 50.0)
        helpdesk = Helpdesk(settings, seed=seed)
        result = {"code": 1}

        @app.task
        async def feed() -> None:
            await _feed(settings, simulator, progress, rate)

        @app.task
        async def watch() -> None:
            await _watch(services, progress, helpdesk, console, result)

        @app.task
        async def answer_tasks() -> None:
            await helpdesk.work()

        worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False,
                              override_logging=False)  # logging is set up by the CLI
        worker.spinner = None  # the live summary owns the terminal
        try:
            worker.execute_from_commandline()
        except SystemExit:
            pass
        finally:
            services.writer.close()
            clickhouse.close()
            RUN_FILE.unlink(missing_ok=True)
        return result["code"] if events is not None else 0
