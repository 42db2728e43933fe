"""``vigie run``: the whole pipeline on the embedded stack, fed by simulated traffic.

Starts Tansu on a free loopback port and the embedded ClickHouse in
``.vigie/clickhouse``, creates topics and tables, then runs the Faust worker in this
process with three extra tasks: the simulated ingest agent (an aiokafka producer), a
simulated helpdesk answering the tasks, and the live summary.

With ``--events N`` the run also shows the surge detector at work, which needs
history: a minute's baseline is learned from the same hour on previous days. The
ingest agent first publishes the last 25 minutes of that hour yesterday for the
incident's brand (Aurore Air, whose scripted everyday traffic is on X), then the live
traffic: 3 minutes of event time from half past the hour (at most an hour ago, two
around midnight, see :func:`live_start`), N simulated deliveries
about the other brands (malformed and repeated ones included) merged with Aurore
Air's scripted minutes, in which a surprise strike sets off a negative spike on X and
Facebook. ``--events N`` counts the simulated deliveries; the history and Aurore
Air's live minutes come on top (a few hundred each).

The detector ignores an event whose minute has closed (30 s after its end), and the
worker interleaves partitions: records published together may be processed minutes
out of event-time order. So the history goes to a single partition of ``raw.x``,
where order holds, and the live traffic is published one detector minute at a time,
each once the worker has processed everything before it.

The run stops once every valid event (history included) is in ClickHouse, every
invalid one reached the dead-letter topic, every helpdesk status is stored and the
alert is stored; with no alert 20 s after the rest, it says so and exits 1. Without
``--events``: traffic about every brand from now, paced, until Ctrl-C, no history.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

import faust
import orjson
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from base.kafka import aiokafka_options, create_topics
from base.settings import Settings
from core.brands import BrandDirectory
from core.surge import SurgeConfig
from lab.scenarios import DAY, SCENARIOS, STRIKE, Incident, Script, spike, traffic
from lab.simulator import RawMessage, Simulator, daily_rate, for_wire, render
from schemas.events import Platform, Sentiment, SocialEvent
from sinks.clickhouse import connect
from sinks.migrate import migrate, retention_of
from streams.app import create_app
from streams.services import Services
from vigie.console.digest import digest
from vigie.console.web import ConsoleContext, console_for, listen, serve, url_of
from vigie.embedded import EmbeddedBroker, free_port
from vigie.helpdesk import Helpdesk

log = logging.getLogger(__name__)

STATE_DIR = Path(".vigie")
RUN_FILE = STATE_DIR / "run.json"

INCIDENT_BRAND = "aurore_air"
# More than the 20 minutes an hour bin needs, counted from the first event's minute.
HISTORY_MINUTES = 25
LIVE_MINUTES = 3
ALERT_WAIT_S = 20.0
# A minute closes in the detector this long after its end: live slices end there.
LATENESS_S = SurgeConfig().lateness


class Delivery(NamedTuple):
    """One raw payload, its event time, and the partition it must go to (None: by key)."""

    at: datetime
    message: RawMessage
    partition: int | None = None


@dataclass
class Traffic:
    """What the simulated ingest agent publishes: the history, then the live traffic."""

    history: list[Delivery]
    live: Iterator[Delivery]
    incident: Incident | None = None


@dataclass
class Progress:
    """What the simulated ingest agent sent, and what the pipeline must end with."""

    target: int | None
    history: int = 0
    incident: Incident | None = None  # the scripted one, whose alert the run waits for
    sent: int = 0
    valid_ids: set[str] = field(default_factory=set)
    invalid: int = 0
    done_sending: bool = False
    stored: int = 0
    statuses_stored: int = 0
    alerts: int = 0
    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class OpsConsole:
    """The console served beside the run, and its address."""

    console: ConsoleContext
    url: str


def embedded_settings(settings: Settings, bootstrap: str) -> Settings:
    """The settings of an embedded run: local broker, short group joins, free web port."""
    kafka = settings.kafka.model_copy(update={
        "bootstrap_servers": bootstrap,
        "rebalance_timeout_s": 3.0,
        "session_timeout_s": 10.0,
        "heartbeat_interval_s": 0.5,
        "replication_factor": 1,
        "end_offsets_from_records": True,
    })
    clickhouse = settings.clickhouse.model_copy(update={"url": None})
    return settings.model_copy(update={
        "kafka": kafka, "clickhouse": clickhouse, "web_port": free_port(),
    })


def live_start(now: datetime) -> datetime:
    """The latest half past an hour before ``now``, but never 23:30 (22:30 instead).

    A minute's baseline interpolates between the two nearest hour bins: from half
    past, the first minutes lean almost only on the hour the history covers. From
    23:30 the other bin is midnight's, of which the detector has no earlier day.
    """
    start = now.replace(minute=30, second=0, microsecond=0)
    if start > now:
        start -= timedelta(hours=1)
    if start.hour == 23:
        start -= timedelta(hours=1)
    return start


def _simulated(messages: Iterable[RawMessage], start: datetime) -> Iterator[Delivery]:
    """Deliveries with their event time (a broken or repeated one: the one before's)."""
    at = start
    for message in messages:
        if message.expected:
            at = message.expected[0].created_at
        yield Delivery(at, message)


def _scripted(events: Iterable[SocialEvent], brands: BrandDirectory,
              partition: int | None = None) -> Iterator[Delivery]:
    return (Delivery(e.created_at, render(for_wire(e, brands)), partition) for e in events)


def demo_traffic(brands: BrandDirectory, *, events: int | None, rate: float | None,
                 seed: int, now: datetime) -> Traffic:
    """The run's traffic (see the module doc): simulated, scripted where it must be."""
    if events is None:
        simulator = Simulator(brands, seed=seed, start=now, events_per_second=rate or 50.0)
        return Traffic([], _simulated(simulator.messages(10**12), now))
    start = live_start(now)
    on_x = {Platform.X: 1.0}
    burst, incident = spike(
        INCIDENT_BRAND, Sentiment.NEGATIVE, {Platform.X: 0.6, Platform.FACEBOOK: 0.4}, start,
        (1.0, 1.0, 1.0), 40.0, STRIKE, "surprise strike", origin_followers=250_000)
    hour_end = start + timedelta(minutes=30)
    history = traffic(SCENARIOS["quiet_day"], hour_end - DAY - timedelta(minutes=HISTORY_MINUTES),
                      HISTORY_MINUTES, seed, brands, brands={INCIDENT_BRAND}, platforms=on_x,
                      ids="hist")
    scripted = traffic(Script(incident.label, bursts=(burst,), incidents=(incident,)), start,
                       LIVE_MINUTES, seed + 1, brands, brands={INCIDENT_BRAND},
                       platforms=on_x, ids="live")
    # The incident's brand is scripted only: at the simulator's rate, a history to match
    # would be tens of thousands of messages. The N simulated deliveries about the
    # other brands span the same minutes as the script.
    peak = max(events, 1) / (LIVE_MINUTES * 60 * daily_rate(start))
    simulator = Simulator(brands, seed=seed, start=start, events_per_second=peak,
                          brand_keys=set(brands.brands) - {INCIDENT_BRAND})
    live = heapq.merge(_simulated(simulator.messages(events), start),
                       _scripted(scripted, brands), key=attrgetter("at"))
    # One partition of raw.x keeps the history in event-time order.
    return Traffic(list(_scripted(history, brands, partition=0)), live, incident)


async def _feed(settings: Settings, traffic: Traffic, progress: Progress,
                rate: float | None, processed: Callable[[], float]) -> None:
    """The simulated ingest agent: raw payloads, unchanged, to ``raw.<platform>``; the
    history first, then, once the worker has processed it, the live traffic (paced at
    ``rate`` when given)."""
    producer = AIOKafkaProducer(**aiokafka_options(settings.kafka), acks="all", linger_ms=5)
    await producer.start()
    try:
        await _publish(producer, settings, traffic.history, progress, None, None)
        await _publish(producer, settings, traffic.live, progress, rate, processed)
        progress.done_sending = True
    finally:
        await producer.stop()


async def _publish(producer: AIOKafkaProducer, settings: Settings,
                   deliveries: Iterable[Delivery], progress: Progress, rate: float | None,
                   processed: Callable[[], float] | None) -> None:
    """Send ``deliveries``; given ``processed`` (records the worker has processed), one
    detector minute at a time, each once the worker is done with every record before."""
    started, current = time.monotonic(), None
    for sent, (at, message, partition) in enumerate(deliveries, start=1):
        minute = int((at.timestamp() - LATENESS_S) // 60)
        if processed is not None and minute != current:
            await producer.flush()
            while processed() < progress.sent:  # noqa: ASYNC110 (a metric: nothing to await)
                await asyncio.sleep(0.01)
            current = minute
        headers = [
            ("platform", message.platform.value.encode()),
            ("received_at", datetime.now(UTC).isoformat().encode()),
            ("source", b"simulator"),
        ]
        await producer.send(settings.topics.raw(message.platform), message.value,
                            key=message.key, partition=partition, headers=headers)
        progress.sent += 1
        progress.valid_ids.update(e.event_id for e in message.expected)
        progress.invalid += message.malformed
        if rate and sent % 50 == 0:
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
        elif sent % 1000 == 0:
            await asyncio.sleep(0)
    await producer.flush()


def _summary_table(services: Services, progress: Progress, rates: dict[str, float]) -> Table:
    totals = services.metrics.stage_totals()
    elapsed = time.monotonic() - progress.started
    table = Table(title=f"vigie — embedded run — {elapsed:,.0f} s", title_justify="left")
    table.add_column("stage")
    table.add_column("total", justify="right")
    table.add_column("events/s", justify="right")
    table.add_row("ingested (simulated)", f"{progress.sent:,}", "")
    table.add_row("  of which yesterday's history", f"{progress.history:,}", "")
    for stage in ("raw", "normalized", "classified", "deadletter", "written", "tasks"):
        table.add_row(stage, f"{totals[stage]:,.0f}", f"{rates.get(stage, 0.0):,.0f}")
    table.add_row("this run's events in ClickHouse", f"{progress.stored:,}", "")
    table.add_row("task statuses stored (helpdesk)", f"{progress.statuses_stored:,}", "")
    table.add_row("alerts stored (surge detector)", f"{progress.alerts:,}", "")
    return table


async def _count(services: Services, query: str, **params: object) -> int:
    rows = await services.writer.query(query, params)
    return int(rows.rows[0][0]) if rows.rows else 0


def _string_array(values: Iterable[str]) -> str:
    """An ``Array(String)`` query parameter in ClickHouse's text form."""
    quoted = (v.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
              for v in values)
    return "[" + ",".join(f"'{v}'" for v in quoted) + "]"


async def _stored(services: Services, progress: Progress) -> tuple[int, int, int]:
    """This run's events, helpdesk statuses and incident alerts found in ClickHouse.

    Events and alerts are looked up by identity, not by insert time: a run repeating an
    earlier one's input adds no row (that is the point of idempotent inserts), yet its
    events are in ClickHouse."""
    events = await _count(
        services, "SELECT uniqExact(event_id) FROM events "
        "WHERE event_id IN (SELECT arrayJoin({ids:Array(String)}))",
        ids=_string_array(progress.valid_ids))
    statuses = await _count(
        services, "SELECT count() FROM task_status WHERE stored_at >= {t:DateTime64(3)}",
        t=progress.started_at.replace(tzinfo=None))
    alerts = 0
    if (incident := progress.incident) is not None:
        alerts = await _count(
            services, "SELECT uniqExact(alert_id) FROM alerts WHERE brand = {brand:String} "
            "AND window_start >= {since:DateTime64(3)}", brand=incident.brand,
            since=(incident.start - timedelta(minutes=5)).replace(tzinfo=None))
    return events, statuses, alerts


async def _watch(services: Services, progress: Progress, helpdesk: Helpdesk,
                 console: Console, result: dict[str, int], ops: OpsConsole,
                 stay: bool) -> None:
    """Live summary; once ``--events N`` have all arrived (and the alert, or
    ``ALERT_WAIT_S`` after the rest without it), prints what the person on duty needs
    (:func:`vigie.console.digest.digest`) and ends the run, unless ``stay``."""
    previous, last = services.metrics.stage_totals(), time.monotonic()
    stored_all_at: float | None = None
    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    with live or contextlib.nullcontext():
        while True:
            await asyncio.sleep(1.0)
            progress.stored, progress.statuses_stored, progress.alerts = await _stored(
                services, progress)
            totals, now = services.metrics.stage_totals(), time.monotonic()
            rates = {k: (totals[k] - previous[k]) / (now - last) for k in totals}
            previous, last = totals, now
            table = _summary_table(services, progress, rates)
            if live:
                live.update(table, refresh=True)
            elif int(now - progress.started) % 5 == 0:
                console.print(table)
            stored_all = (
                progress.target is not None and progress.done_sending
                and progress.stored >= len(progress.valid_ids)
                and totals["deadletter"] >= progress.invalid
                and progress.statuses_stored >= helpdesk.published > 0
            )
            if not stored_all:
                continue
            stored_all_at = stored_all_at or now
            alerted = progress.alerts > 0 or progress.incident is None
            if not alerted and now - stored_all_at < ALERT_WAIT_S:
                continue
            if live is None:
                console.print(table)
            if alerted:
                console.print(
                    f"[green]done[/]: {len(progress.valid_ids):,} valid events in ClickHouse "
                    f"({progress.history:,} of them yesterday's history), "
                    f"{progress.invalid:,} invalid in the dead-letter topic, "
                    f"{progress.alerts:,} alert{'' if progress.alerts == 1 else 's'} "
                    "from the surge detector, "
                    f"{helpdesk.published:,} task statuses from the simulated helpdesk stored, "
                    f"in {now - progress.started:,.1f} s"
                )
                result["code"] = 0
            else:
                console.print(
                    f"[red]no alert[/]: every event is stored, but the surge detector raised "
                    f"no alert on the scripted incident within {ALERT_WAIT_S:.0f} s"
                )
            reads = ops.console.reads
            console.print(digest(await reads.alerts(), await reads.most_urgent(), ops.url,
                                 serving=stay, now=datetime.now(UTC),
                                 brand_name=ops.console.brand_name))
            if not stay:
                # The worker's own SIGTERM handler shuts everything down in order.
                os.kill(os.getpid(), signal.SIGTERM)
            return


def run_embedded(
    settings: Settings, *, events: int | None, rate: float | None, seed: int,
    console: Console, stay: bool = False,
) -> int:
    """Run everything locally, the ops console beside it; returns the process exit status.

    With ``events``, the run ends once they are all stored, unless ``stay``: then it
    keeps serving the console (the pipeline idle) until interrupted."""
    STATE_DIR.mkdir(exist_ok=True)
    # The live summary owns the terminal: only warnings and errors interrupt it, and the
    # changelog producer's "buffer full" notices (back-pressure at work) are not news.
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("faust.transport.producer").setLevel(logging.ERROR)
    with EmbeddedBroker(log_file=STATE_DIR / "tansu.log") as broker:
        settings = embedded_settings(settings, broker.bootstrap_servers)
        console_socket = listen(settings.console.host, settings.console.port)
        console_url = url_of(console_socket)
        RUN_FILE.write_bytes(orjson.dumps({
            "pid": os.getpid(),
            "bootstrap_servers": broker.bootstrap_servers,
            "web": f"http://{settings.web_host}:{settings.web_port}",
            "console": console_url,
        }))
        console.print(f"broker on {broker.bootstrap_servers}, ClickHouse in "
                      f"{settings.clickhouse.path}, worker web on port {settings.web_port}")
        console.print(f"console: [bold cyan]{console_url}[/]")
        asyncio.run(create_topics(settings))
        clickhouse = connect(settings.clickhouse)
        migrate(clickhouse, retention=retention_of(settings.clickhouse))
        brands = BrandDirectory.load(settings.brands_file)
        app, services = create_app(settings, clickhouse=clickhouse, brands=brands)
        traffic = demo_traffic(brands, events=events, rate=rate, seed=seed,
                               now=datetime.now(UTC))
        progress = Progress(target=events, history=len(traffic.history),
                            incident=traffic.incident)
        if traffic.incident and traffic.history:
            console.print(
                f"history: {len(traffic.history):,} messages about {traffic.incident.brand} "
                f"from yesterday {traffic.history[0].at:%H:%M} UTC; live traffic from "
                f"{traffic.incident.start:%H:%M} UTC, scripted incident: "
                f"{traffic.incident.label}")
        helpdesk = Helpdesk(settings, seed=seed)
        result = {"code": 1}
        ops = OpsConsole(console_for(settings, services.writer.query, brands), console_url)

        def processed() -> float:
            return services.metrics.stage_totals()["raw"]

        @app.task
        async def feed() -> None:
            await _feed(settings, traffic, progress, rate, processed)

        @app.task
        async def watch() -> None:
            await _watch(services, progress, helpdesk, console, result, ops, stay)

        @app.task
        async def serve_console() -> None:
            await serve(ops.console, console_socket)

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
            console_socket.close()
            services.writer.close()
            clickhouse.close()
            RUN_FILE.unlink(missing_ok=True)
        return result["code"] if events is not None else 0
