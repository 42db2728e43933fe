"""Faust agents: thin loops that batch records, call the pipeline, emit, store, ack.

Acknowledgement discipline (at-least-once, nothing lost): every agent takes batches
(the raw topics' agent from :class:`streams.rawfeed.RawFeed`, the others with
``noack_take``) and acknowledges them only after ClickHouse stored the rows and the
producer confirmed every output record. A handler works in two steps: the first
(awaited in the agent's loop) computes the batch and hands its records to the
producer; the second (the *completion*) stores rows and awaits the confirmations.
Later batches are computed while earlier ones complete (up to ``IN_FLIGHT`` full
batches' worth of records at once, their inserts merged by the writer),
acknowledgements stay in batch order, and the loop never idles on I/O. A data error
never escapes (it is a dead letter); ClickHouse outages are retried inside the writer,
which pauses consumption.
An unexpected exception crashes the worker *without* acknowledging, so the batch is
redelivered after restart rather than skipped.

Offsets are committed by the agents themselves, batch by batch after completion,
through :class:`Committer` (see :mod:`streams.offsets` for why Faust's own commits
are switched off).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import faust
import orjson
from aiokafka import AIOKafkaProducer
from faust.types import TP, EventT, StreamT
from mode.types.signals import BaseSignalT, SignalHandlerT

from schemas.alerts import Alert
from schemas.deadletter import DeadLetter
from schemas.tasks import ResponseTask, TaskStatus
from sinks.clickhouse import Rows
from sinks.rows import alert_rows, dead_letter_rows, event_rows, task_rows, task_status_rows
from sinks.writer import dedup_token
from streams.app import Services
from streams.normalize import Source, dead_letter
from streams.offsets import RESEEK_AFTER_S, Admission, OffsetTracker, Partition
from streams.outbox import Outbox
from streams.pipeline import (
    BatchOutput,
    RawRecord,
    decode_observations,
    encode,
    encode_observations,
    masked,
)
from streams.route import route_alert
from streams.status import OVERDUE_SQL, escalation, parse_status
from streams.surge.history import warm_start
from streams.surge.observation import Observation
from streams.web import consumer_lag
from vigie.kafka import group_committed

log = logging.getLogger(__name__)

Completion = Awaitable[None]
SLICE = 250  # records computed between two yields to the event loop
# Records completing at once, at most, counted in full batches (memory). Counted in
# records, not batches: part-filled batches would otherwise stall computing early.
IN_FLIGHT = 3
Handler = Callable[[Sequence[EventT[Any]]], Awaitable[Completion]]


def _headers(raw: Any) -> dict[str, bytes]:
    if not raw:
        return {}
    items = raw.items() if isinstance(raw, dict) else raw
    return {str(k): bytes(v) if v is not None else b"" for k, v in items}


def _record(event: EventT[Any]) -> RawRecord:
    m = event.message
    return RawRecord(
        topic=m.topic, partition=m.partition, offset=m.offset, key=m.key, value=m.value or b"",
        timestamp=m.timestamp, headers=_headers(m.headers),
    )


def _positions(events: Sequence[EventT[Any]]) -> list[tuple[str, int, int, int]]:
    """Source ranges of a batch: ``(topic, partition, first offset, last offset)``."""
    spans: dict[tuple[str, int], list[int]] = {}
    for e in events:
        spans.setdefault((e.message.topic, e.message.partition), []).append(e.message.offset)
    return [(t, p, min(o), max(o)) for (t, p), o in spans.items()]


@contextmanager
def _current_event_kept(stream: faust.Stream[Any]) -> Iterator[None]:
    """Restore the stream's current event after pointing it at a batch's records.

    Table writes are filed under the partition of the stream's current event, so the
    agent points it at each record it computes. But ``noack_take``'s background reader
    may be parked right after setting it to the *next* record, and reads it back once
    the batch is done: left pointing at an old record, that next record would be lost
    and the old one buffered twice. The block must not await.
    """
    current = stream.current_event
    try:
        yield
    finally:
        stream._set_current_event(current)


async def _ready(completion: Completion) -> Completion:
    """A handler whose whole work is its completion (nothing to compute first)."""
    return completion


async def _nothing() -> None:
    """The completion of a batch whose records were all left out (a hole)."""


class Committer:
    """The Kafka side of an :class:`OffsetTracker`: reads where newly assigned partitions
    resume, seeks back over holes, and commits what stored batches reached."""

    def __init__(self, app: faust.App, services: Services, name: str,
                 faust_tables: bool = False) -> None:
        self.app, self.services, self.name = app, services, name
        self.faust_tables = faust_tables  # writes tables through Faust's producer buffer
        self.tracker = OffsetTracker()

    async def admit(self, events: Sequence[EventT[Any]]) -> Admission:
        records = [((e.message.topic, e.message.partition), e.message.offset) for e in events]
        if unknown := self.tracker.unknown(p for p, _ in records):
            self.tracker.start(await self._committed(unknown))
        admission = self.tracker.admit(records)
        now = time.monotonic()
        for partition, offset in admission.holes.items():
            if self.tracker.should_seek(partition, offset, now):
                await self._seek_back(partition, offset)
        return admission

    async def reseek_stalled(self) -> None:
        """Seek again the holes that stayed open with no newer record to reveal them."""
        now = time.monotonic()
        for partition, offset in self.tracker.stalled(now).items():
            if self.tracker.should_seek(partition, offset, now):
                await self._seek_back(partition, offset)

    async def _seek_back(self, partition: Partition, offset: int) -> None:
        topic, number = partition
        log.warning("agent %s: the consumer skipped records of %s/%d from offset %d; "
                    "reading them again", self.name, topic, number, offset)
        self.services.metrics.reread_seeks.labels(self.name).inc()
        # Not ``app.consumer.seek``: it moves the client from this thread while the
        # consumer's own thread may be fetching (KeyError in the client's fetcher).
        client = cast(Any, self.app.consumer)._thread
        await client.call_thread(client._ensure_consumer().seek, TP(topic, number), offset)

    async def commit(self, admission: Admission) -> None:
        offsets = {TP(t, p): o for (t, p), o in self.tracker.committable(admission).items()}
        if not offsets or self.app.consumer.should_stop:
            return  # the consumer is gone (shutdown): the batch is read again after restart
        if self.faust_tables:
            await self._changelog_confirmed()
        try:
            # The transport's commit (the one Faust's own bookkeeping ends in); it skips
            # partitions no longer assigned.
            committed = await cast(Any, self.app.consumer)._commit(offsets)
        except RuntimeError:  # the consumer's loop closed under us while stopping
            if not self.app.should_stop:
                raise
            return
        if committed:
            self.app.monitor.on_tp_commit(offsets)

    async def _changelog_confirmed(self) -> None:
        """Table changelog records written so far are confirmed by the broker, so the
        offsets that rely on them never get ahead of them (a restart restores them).
        Only for agents writing Faust tables: :class:`streams.state.LoggedTable` records
        go out in the batch's outbox, confirmed by its completion.

        Table writes wait in Faust's producer buffer; its ``flush()`` gives up after
        0.1 s without progress, so the buffered records are awaited one by one first."""
        producer = self.app.producer
        await asyncio.gather(*list(cast(Any, producer.buffer.pending)._queue))
        await producer.flush()  # and what the buffer already handed to the client

    async def _committed(self, partitions: set[Partition]) -> dict[Partition, int]:
        """The group's committed offsets; the log start where nothing was committed yet."""
        positions = await group_committed(self.services.settings.kafka, self.app.conf.id,
                                          partitions)
        if fresh := [TP(t, p) for t, p in partitions if (t, p) not in positions]:
            earliest = await self.app.consumer.earliest_offsets(*fresh)
            positions |= {(tp.topic, tp.partition): int(earliest.get(tp) or 0) for tp in fresh}
        return positions


async def _consume_batches(
    app: faust.App, batches: AsyncIterator[Sequence[EventT[Any]]],
    ack: Callable[[EventT[Any]], Awaitable[Any]], services: Services, committer: Committer,
    handle: Handler,
) -> None:
    """Compute each batch, then complete it (store, confirm, ack, commit) in the background
    while the next batches are computed. Up to ``IN_FLIGHT`` full batches' worth of
    records complete at once, so computing (and the tasks it publishes) never waits for
    ClickHouse, and their inserts merge in the writer; acknowledgements and commits stay
    in batch order. A failure crashes the worker without acknowledging that batch or any
    later one."""
    sink, name = services.settings.sink, committer.name
    in_flight: deque[tuple[asyncio.Task[None], int]] = deque()  # (completion, records)
    most = IN_FLIGHT * sink.batch_size
    waiting: Completion | None = None  # computed, not yet scheduled
    crashing: set[asyncio.Future[Any]] = set()

    async def complete(events: Sequence[EventT[Any]], completion: Completion,
                       admission: Admission, previous: asyncio.Task[None] | None) -> None:
        await completion
        if previous is not None:  # acknowledged in batch order
            await asyncio.wait([previous])
            if failed(previous):
                return  # the worker is stopping: this batch is read again after restart
        for event in events:
            await ack(event)  # releases them (Faust waits for this on rebalance)
        await committer.commit(admission)

    def crash_on_failure(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("agent %s failed on a batch; stopping without acknowledging it", name,
                      exc_info=exc)
            crashing.add(asyncio.ensure_future(app.crash(exc)))

    def failed(task: asyncio.Task[None]) -> bool:
        return task.cancelled() or task.exception() is not None

    try:
        async for events in batches:
            services.metrics.batch_size.labels(name).observe(len(events))
            try:
                admission = await committer.admit(events)
                kept = [events[i] for i in admission.kept]
                waiting = await handle(kept) if kept else _nothing()
            except Exception as exc:
                log.exception("agent %s failed on a batch; stopping without acknowledging it",
                              name)
                await app.crash(exc)
                return
            while in_flight and (sum(n for _, n in in_flight) >= most
                                 or in_flight[0][0].done()):
                await asyncio.wait([in_flight[0][0]])  # bounded: the oldest is acknowledged
                if failed(in_flight.popleft()[0]):
                    return  # crash_on_failure stops the worker
            previous = in_flight[-1][0] if in_flight else None
            task = asyncio.ensure_future(complete(events, waiting, admission, previous))
            task.add_done_callback(crash_on_failure)
            in_flight.append((task, len(events)))
            waiting = None
        if in_flight:
            await in_flight[-1][0]
    finally:
        # Unacknowledged batches are redelivered after the restart.
        for task, _ in in_flight:
            if not task.done():
                task.cancel()
        if inspect.iscoroutine(waiting):
            waiting.close()  # stopped before it was scheduled: never started, nothing to undo


def register_agents(app: faust.App, services: Services) -> None:
    topics, metrics, writer, settings = (
        services.topics, services.metrics, services.writer, services.settings)

    def producer() -> AIOKafkaProducer:
        return cast(Any, app.producer)._ensure_producer()

    normalized, classified, surge_feed, alerts_topic, tasks_topic, letters_topic = (
        t.get_topic_name() for t in (topics.normalized, topics.classified, topics.surge,
                                     topics.alerts, topics.tasks, topics.deadletter))

    def add_tasks(outbox: Outbox, tasks: list[ResponseTask]) -> None:
        for t in tasks:
            outbox.add(tasks_topic, t.key.encode(), encode(t))

    def add_dead_letters(outbox: Outbox, letters: list[DeadLetter]) -> None:
        for d in letters:
            outbox.add(letters_topic, d.key.encode() if d.key else None, encode(d))

    async def sent(outbox: Outbox) -> list[Awaitable[Any]]:
        """Hand the outbox to the producer; await the result to confirm delivery."""
        return list(await outbox.send(producer()))

    async def store(rows: Rows, token: str | None,
                    positions: Sequence[tuple[str, int, int]] | None = None
                    ) -> list[Awaitable[Any]]:
        """Write ``rows``; rows ClickHouse refuses become dead letters (never a stall)."""
        result = await writer.write(rows, token)
        metrics.refused_rows.labels(rows.table).inc(len(result.refused))
        outbox = Outbox()
        add_dead_letters(outbox, result.dead_letters(positions))
        return await sent(outbox)

    async def handle_raw(events: Sequence[EventT[Any]]) -> Completion:
        """Slice by slice, so heartbeats and fetches run between slices: a batch of
        thousands computed in one go would block the loop for seconds (and miss a
        rebalance)."""
        records = [_record(e) for e in events]
        out, outbox, pending = BatchOutput(), Outbox(), []
        logged = services.tables.logged()
        for start in range(0, len(records), SLICE):
            def focus(i: int, start: int = start) -> None:
                for table in logged:  # table writes go under the record's partition
                    table.partition = records[start + i].partition

            part = services.pipeline.process(records[start : start + SLICE], focus=focus)
            for table in logged:
                table.drain(outbox)
            for e, _ in part.normalized:
                outbox.add(normalized, e.event_id.encode(), encode(masked(e)))
            for c, _ in part.classified:
                outbox.add(classified, (c.brand or "").encode(), encode(masked(c)))
            for chunk in encode_observations(part.observations):
                outbox.add(surge_feed, None, chunk)
            add_dead_letters(outbox, part.dead_letters)
            add_tasks(outbox, part.tasks)
            out.extend(part)
            await asyncio.sleep(0)
            # 1. The slice's output records to the producer, a record batch per partition
            # (its tasks go out while the next slice is computed).
            pending += await sent(outbox)
        now = datetime.now(UTC)
        rows = event_rows(((e, r.topic, r.partition, r.offset) for e, r in out.classified), now,
                          settings.clickhouse.mask_personal_data)
        return complete_raw(out, rows, task_rows(out.tasks, now), _positions(events), pending,
                            len(records))

    async def complete_raw(out: BatchOutput, events: Rows, tasks: Rows,
                           positions: list[tuple[str, int, int, int]],
                           pending: list[Awaitable[Any]], records: int) -> None:
        # 2. Store events and tasks in ClickHouse (retried until stored).
        for stored in await asyncio.gather(store(events, dedup_token("events", positions)),
                                           store(tasks, dedup_token("tasks", positions))):
            pending += stored
        # 3. Confirm the broker has every output record; only then may the caller ack.
        await asyncio.gather(*pending)
        metrics.count("raw", records)
        metrics.count("duplicate", out.duplicates)
        metrics.count("ignored", out.ignored)
        metrics.count("normalized", len(out.normalized))
        metrics.count("classified", len(out.classified))
        metrics.count("deadletter", len(out.dead_letters))
        metrics.count("written", len(out.classified))
        metrics.count("tasks", len(out.tasks))

    async def rows(sql: str, params: dict[str, Any]) -> list[list[Any]]:
        return (await services.writer.query(sql, params)).rows

    async def handle_surge(stream: faust.Stream[Any],
                           events: Sequence[EventT[Any]]) -> Completion:
        surge = services.tables.surge
        detector = surge.detector()
        alerts: list[Alert] = []
        letters: list[DeadLetter] = []
        batches: list[list[Observation]] = []
        for event in events:
            try:
                batches.append(decode_observations(event.value or b""))
            except Exception as exc:  # a foreign record on the feed: kept, not fatal
                letters.append(_dead_letter(event, exc, "surge"))
        first = min((o.ts for batch in batches for o in batch), default=None)
        if detector.empty and first is not None and settings.surge.history_days:
            learned = await warm_start(detector, rows, int(first // 60),
                                       settings.surge.history_days)
            log.info("surge detector warm start: %d minutes of counts from ClickHouse", learned)
        for batch in batches:
            for observation in batch:
                alerts.extend(observation.feed(detector))
        # 1. State changes of the batch go to the changelog (under the feed's partition).
        with _current_event_kept(stream):
            stream._set_current_event(events[-1])
            surge.flush()
        tasks = [t for a in alerts if (t := route_alert(a, settings.sla)) is not None]
        # 2. Alerts, crisis tasks and dead letters to the producer; tasks to ClickHouse.
        outbox = Outbox()
        for a in alerts:
            outbox.add(alerts_topic, a.alert_id.encode(), encode(a))
        add_tasks(outbox, tasks)
        add_dead_letters(outbox, letters)
        pending = await sent(outbox)
        return complete_surge(alerts, tasks, letters, _positions(events), pending)

    async def complete_surge(alerts: list[Alert], tasks: list[ResponseTask],
                             letters: list[DeadLetter], positions: list[tuple[str, int, int, int]],
                             pending: list[Awaitable[Any]]) -> None:
        now = datetime.now(UTC)
        for stored in await asyncio.gather(
                store(alert_rows(alerts, now), dedup_token("alerts", positions)),
                store(task_rows(tasks, now), dedup_token("tasks", positions))):
            pending += stored
        # 3. Confirmed by the broker before the batch is acknowledged.
        await asyncio.gather(*pending)
        metrics.count("alerts", len(alerts))
        metrics.count("tasks", len(tasks))
        metrics.count("deadletter", len(letters))

    async def handle_status(events: Sequence[EventT[Any]]) -> None:
        statuses: list[TaskStatus] = []
        sources: list[tuple[str, int, int]] = []
        letters: list[DeadLetter] = []
        for event in events:
            try:
                statuses.append(parse_status(event.value or b""))
                sources.append((event.message.topic, event.message.partition,
                                event.message.offset))
            except Exception as exc:  # a malformed status from a downstream tool
                letters.append(_dead_letter(event, exc, "task_status"))
        outbox = Outbox()
        add_dead_letters(outbox, letters)
        pending = await sent(outbox)
        pending += await store(task_status_rows(statuses, datetime.now(UTC)),
                               dedup_token("task_status", _positions(events)), sources)
        await asyncio.gather(*pending)
        metrics.count("deadletter", len(letters))

    async def escalate_overdue_tasks() -> None:
        """SLA breaches: open tasks past due get a higher-priority escalation task.

        Postponed while this worker's status partitions have unread statuses (after a
        restart, say): a task marked done in that backlog would be escalated."""
        statuses = {topics.task_status.get_topic_name()}
        if any(p.lag for p in await consumer_lag(app, settings.kafka, statuses)):
            return
        now = datetime.now(UTC)
        overdue = await writer.query(
            OVERDUE_SQL, {"now": now.replace(tzinfo=None), "limit": 1000})
        tasks = [escalation(row, now, settings.sla) for row in overdue.rows]
        metrics.sla_checks.inc()
        if not tasks:
            return
        outbox = Outbox()
        add_tasks(outbox, tasks)
        pending = await sent(outbox)
        pending += await store(task_rows(tasks, now), None)
        await asyncio.gather(*pending)
        metrics.count("tasks", len(tasks))
        metrics.count("sla_breaches", len(tasks))

    async def handle_dead_letters(events: Sequence[EventT[Any]]) -> None:
        letters = [_as_dead_letter(e) for e in events]
        result = await writer.write(dead_letter_rows(letters),
                                    dedup_token("dead_letters", _positions(events)))
        # A refused dead letter is logged by the writer and stays on the topic: sending it
        # back to the dead-letter topic would loop.
        metrics.refused_rows.labels("dead_letters").inc(len(result.refused))

    committers: list[Committer] = []

    def forget_positions(sender: Any, *revoked: Any, signal: BaseSignalT[Any],
                         **kwargs: Any) -> None:
        for committer in committers:
            committer.tracker.reset()

    app.on_partitions_revoked.connect(cast(SignalHandlerT[Any], forget_positions))

    async def reseek_stalled_holes() -> None:
        for committer in committers:
            await committer.reseek_stalled()

    app.timer(RESEEK_AFTER_S, name="vigie.reseek_stalled_holes")(reseek_stalled_holes)

    def batched(name: str, handle: Callable[[faust.Stream[Any], Sequence[EventT[Any]]],
                                            Awaitable[Completion]],
                faust_tables: bool = False) -> Callable[..., Awaitable[None]]:
        committer = Committer(app, services, name, faust_tables)
        committers.append(committer)

        async def agent(stream: StreamT[Any]) -> None:
            events = cast(faust.Stream[Any], stream)  # noack_take is on the concrete class
            await _consume_batches(
                app, events.noack_take(settings.sink.batch_size, settings.sink.batch_seconds),
                events.ack, services, committer, lambda batch: handle(events, batch))
        agent.__name__ = name
        return agent

    raw_committer = Committer(app, services, "process")
    committers.append(raw_committer)

    async def ack_raw(event: EventT[Any]) -> None:
        message = event.message
        app.consumer.ack(message)
        app.sensors.on_message_out(message.tp, message.offset, message)  # as Faust does

    async def process_raw_feed(_stream: StreamT[Any]) -> None:
        """The raw topics' agent. Its Faust stream keeps them subscribed (assignment,
        table partitions); their records come through :class:`streams.rawfeed.RawFeed`."""
        await _consume_batches(app, services.raw_feed.batches(app), ack_raw, services,
                               raw_committer, handle_raw)

    app.agent(topics.raw_all, name="vigie.process", concurrency=1)(process_raw_feed)
    app.agent(topics.surge, name="vigie.surge", concurrency=1)(
        batched("surge", handle_surge, faust_tables=True))
    app.agent(topics.task_status, name="vigie.task_status", concurrency=1)(
        batched("task_status", lambda _, events: _ready(handle_status(events))))
    app.timer(settings.sla.breach_check_s, on_leader=True, name="vigie.sla_breaches")(
        escalate_overdue_tasks)
    app.agent(topics.deadletter, name="vigie.deadletters", concurrency=1)(
        batched("deadletters", lambda _, events: _ready(handle_dead_letters(events))))


def _dead_letter(event: EventT[Any], exc: Exception, stage: str) -> DeadLetter:
    r = _record(event)
    return dead_letter(exc, r.value, Source(r.topic, r.partition, r.offset, r.key),
                       stage=stage, platform=None)


def _as_dead_letter(event: EventT[Any]) -> DeadLetter:
    """A dead letter as published; anything else on the topic is wrapped, not lost."""
    try:
        return DeadLetter.model_validate(orjson.loads(event.value or b""))
    except Exception as exc:  # foreign data on the dead-letter topic
        return _dead_letter(event, exc, "deadletters")
