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
which pauses consumption, and a full producer queue is waited on (:mod:`streams.outbox`).
An unexpected exception does not stop the worker: the batch it hit is not committed,
and it and every batch after it are read again from the last commit after a pause
(``vigie_batch_failures_total``), as a restart would read them, without the restart.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import faust
import orjson
from aiokafka import AIOKafkaProducer
from faust.types import TP, EventT, StreamT
from mode.types.signals import BaseSignalT, SignalHandlerT

from base.kafka import group_committed
from core.normalize import Source, dead_letter
from core.pipeline import (
    BatchOutput,
    RawRecord,
    decode_observations,
    encode,
    encode_observations,
    masked,
)
from core.route import route_alert
from core.status import OVERDUE_SQL, escalation, overdue_count, parse_status
from core.surge.history import warm_start
from core.surge.observation import Observation
from schemas.alerts import Alert
from schemas.deadletter import DeadLetter
from schemas.events import Author, ClassifiedEvent, Kind, Platform, SocialEvent
from schemas.tasks import ResponseTask, TaskStatus
from sinks.clickhouse import Rows
from sinks.rows import alert_rows, dead_letter_rows, event_rows, task_rows, task_status_rows
from sinks.writer import dedup_token
from streams.app import Services
from streams.looplag import SliceSizer
from streams.offsets import IDLE_REREAD_S, RESEEK_AFTER_S, Admission, OffsetTracker, Partition
from streams.outbox import Outbox
from streams.timers import periodic
from streams.web import PartitionLag, consumer_lag

log = logging.getLogger(__name__)

Completion = Awaitable[None]
SLICE = 250  # records computed between two yields to the event loop, at most
# Wall time a slice of a raw batch aims for: slices shrink (down to SMALLEST_SLICE) when
# the machine is slow, so the loop is never held long (heartbeats, timers, /health).
SLICE_S = 0.2
SMALLEST_SLICE = 25
# Pause before a failed batch is read again: doubled at each failure in a row, up to
# the second figure (a fault that lasts, say a broker away, is not hammered).
RETRY_PAUSE_S = (1.0, 30.0)
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


class _EarlierBatchFailed(Exception):
    """A completion given up because an earlier batch failed (it is read again too)."""


def _partitions(events: Sequence[EventT[Any]]) -> set[Partition]:
    return {(e.message.topic, e.message.partition) for e in events}


class Committer:
    """The Kafka side of an :class:`OffsetTracker`: reads where newly assigned partitions
    resume, seeks back over holes, and commits what stored batches reached."""

    def __init__(self, app: faust.App, services: Services, name: str, topics: Iterable[str],
                 faust_tables: bool = False) -> None:
        self.app, self.services, self.name = app, services, name
        self.topics = set(topics)
        self.faust_tables = faust_tables  # writes tables through Faust's producer buffer
        self.tracker = OffsetTracker()
        self._active: dict[Partition, float] = {}  # last time a record of it was admitted

    async def admit(self, events: Sequence[EventT[Any]]) -> Admission:
        records = [((e.message.topic, e.message.partition), e.message.offset) for e in events]
        if unknown := self.tracker.unknown(p for p, _ in records):
            self.tracker.start(await self._committed(unknown))
        admission = self.tracker.admit(records)
        now = time.monotonic()
        self._active.update((partition, now) for partition, _ in records)
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

    async def reread_idle(self, lags: Sequence[PartitionLag]) -> None:
        """Read again, from its commit, a partition behind its end of which nothing was
        admitted for :data:`IDLE_REREAD_S` while the agent had nothing in flight (a slow
        sink holds batches in flight: that is waiting, not a stall)."""
        now = time.monotonic()
        in_flight = any(self.tracker.position((lag.topic, lag.partition))
                        not in (None, lag.committed) for lag in lags if lag.lag)
        for lag in lags:
            partition = (lag.topic, lag.partition)
            if not lag.lag or in_flight:
                self._active[partition] = now
                continue
            if now - self._active.setdefault(partition, now) >= IDLE_REREAD_S:
                log.warning("agent %s: %s/%d stands at %d, %d records behind its end, with "
                            "nothing read for %.0f s; reading it again from there", self.name,
                            lag.topic, lag.partition, lag.committed, lag.lag, IDLE_REREAD_S)
                self.services.metrics.reread_seeks.labels(self.name).inc()
                self._active[partition] = now
                await self._seek(partition, lag.committed)

    async def _seek_back(self, partition: Partition, offset: int) -> None:
        topic, number = partition
        log.warning("agent %s: the consumer skipped records of %s/%d from offset %d; "
                    "reading them again", self.name, topic, number, offset)
        self.services.metrics.reread_seeks.labels(self.name).inc()
        await self._seek(partition, offset)

    async def _seek(self, partition: Partition, offset: int) -> None:
        # Not ``app.consumer.seek``: it moves the client from this thread while the
        # consumer's own thread may be fetching (KeyError in the client's fetcher).
        client = cast(Any, self.app.consumer)._thread
        await client.call_thread(client._ensure_consumer().seek, TP(*partition), offset)

    async def rewind(self, partitions: set[Partition]) -> None:
        """Read ``partitions`` again from the group's last commit (after a failed batch;
        call :meth:`OffsetTracker.reset` first, so nothing admitted before commits)."""
        assigned = {(tp.topic, tp.partition) for tp in self.app.consumer.assignment()}
        if not (owned := partitions & assigned):
            return  # revoked meanwhile: their next owner reads them from the commit
        positions = await self._committed(owned)
        self.tracker.start(positions)
        now = time.monotonic()
        for partition, offset in sorted(positions.items()):
            self.tracker.should_seek(partition, offset, now)  # sought again if it stalls
            await self._seek(partition, offset)

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


@dataclass
class _InFlight:
    """A batch being completed: its completion task, size, source partitions and the
    tracker generation it was admitted in."""

    task: asyncio.Task[None]
    records: int
    partitions: set[Partition]
    generation: int


async def _consume_batches(
    app: faust.App, batches: AsyncIterator[Sequence[EventT[Any]]],
    ack: Callable[[EventT[Any]], Awaitable[Any]], services: Services, committer: Committer,
    handle: Handler, on_failure: Callable[[], None] = lambda: None,
) -> None:
    """Compute each batch, then complete it (store, confirm, ack, commit) in the background
    while the next batches are computed. Up to ``IN_FLIGHT`` full batches' worth of
    records complete at once, so computing (and the tasks it publishes) never waits for
    ClickHouse, and their inserts merge in the writer; acknowledgements and commits stay
    in batch order.

    A batch that fails, computing or completing, commits nothing, nor does any batch
    after it: after a pause they are all read again from the last commit (the records
    they stored already are stored again, absorbed as redeliveries are). ``on_failure``
    drops state the failed batch may have left half-updated. The worker keeps running."""
    sink, name = services.settings.sink, committer.name
    failures_metric = services.metrics.batch_failures.labels(name)
    in_flight: deque[_InFlight] = deque()
    most = IN_FLIGHT * sink.batch_size
    waiting: Completion | None = None  # computed, not yet scheduled
    recovering: asyncio.Task[None] | None = None
    failed_in_a_row = 0

    async def complete(events: Sequence[EventT[Any]], completion: Completion,
                       admission: Admission, previous: asyncio.Task[None] | None) -> None:
        nonlocal failed_in_a_row
        try:
            await completion
            if previous is not None:  # acknowledged in batch order
                await asyncio.wait([previous])
                if failed(previous):
                    raise _EarlierBatchFailed
        except Exception:
            await release(events)  # not committed: they are read again
            raise
        await release(events)
        await committer.commit(admission)  # nothing once a failure reset the tracker
        failed_in_a_row = 0

    async def release(events: Sequence[EventT[Any]]) -> None:
        for event in events:
            await ack(event)  # Faust waits for this on rebalance; it commits nothing

    def failed(task: asyncio.Task[None]) -> bool:
        return task.cancelled() or task.exception() is not None

    def on_done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None \
                and not isinstance(exc, _EarlierBatchFailed):
            begin_recovery(exc, ())

    def begin_recovery(exc: BaseException, events: Sequence[EventT[Any]]) -> None:
        nonlocal recovering
        committer.tracker.reset()  # at once: no batch admitted so far may commit
        failures_metric.inc()
        log.error("agent %s: a batch failed; it is read again from the last commit",
                  name, exc_info=exc)
        if recovering is None or recovering.done():
            recovering = asyncio.ensure_future(recover(events))

    async def recover(events: Sequence[EventT[Any]]) -> None:
        """Let every batch in flight end (none commits now), then read their partitions
        again from the last commit, after a pause."""
        nonlocal failed_in_a_row
        try:
            on_failure()
            partitions = _partitions(events)
            await release(events)  # the batch that failed computing, never scheduled
            while running := [b.task for b in in_flight if not b.task.done()]:
                await asyncio.wait(running)
            partitions.update(*(b.partitions for b in in_flight))
            pause = min(RETRY_PAUSE_S[0] * 2 ** failed_in_a_row, RETRY_PAUSE_S[1])
            failed_in_a_row += 1
            await asyncio.sleep(pause)
            await committer.rewind(partitions)
        except Exception:  # left to the hole checks: records ahead of a position are re-read
            log.exception("agent %s: seeking back after a failed batch failed", name)

    try:
        async for events in batches:
            if recovering is not None:  # no batch admitted before it is read again
                await recovering
                recovering = None
            services.metrics.batch_size.labels(name).observe(len(events))
            try:
                admission = await committer.admit(events)
                kept = [events[i] for i in admission.kept]
                waiting = await handle(kept) if kept else _nothing()
            except Exception as exc:
                begin_recovery(exc, events)
                continue
            while in_flight and (sum(b.records for b in in_flight) >= most
                                 or in_flight[0].task.done()):
                await asyncio.wait([in_flight[0].task])  # bounded: the oldest is done
                in_flight.popleft()
            # In order after the previous batch, unless that one was admitted before a
            # failure: this one's positions were read from the commit since, and it must
            # not be given up with it (the tracker moved past its records).
            previous = in_flight[-1] if in_flight else None
            after = previous.task if previous and previous.generation == admission.generation \
                else None
            task = asyncio.ensure_future(complete(events, waiting, admission, after))
            task.add_done_callback(on_done)
            in_flight.append(_InFlight(task, len(events), _partitions(events),
                                       admission.generation))
            waiting = None
        if in_flight:
            await asyncio.wait([in_flight[-1].task])
    finally:
        # Unacknowledged batches are redelivered after the restart.
        for batch in in_flight:
            if not batch.task.done():
                batch.task.cancel()
        if recovering is not None:
            recovering.cancel()
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

    def producer_waited(topic: str) -> None:
        metrics.producer_waits.labels(topic).inc()

    async def sent(outbox: Outbox) -> list[Awaitable[Any]]:
        """Hand the outbox to the producer (waiting while its queue is full); await the
        result to confirm delivery."""
        return list(await outbox.send(producer(), waited=producer_waited))

    async def store(rows: Rows, token: str | None,
                    positions: Sequence[tuple[str, int, int]] | None = None
                    ) -> list[Awaitable[Any]]:
        """Write ``rows``; rows ClickHouse refuses become dead letters (never a stall)."""
        result = await writer.write(rows, token)
        metrics.refused_rows.labels(rows.table).inc(len(result.refused))
        outbox = Outbox()
        add_dead_letters(outbox, result.dead_letters(positions))
        return await sent(outbox)

    slices = SliceSizer(SLICE, SMALLEST_SLICE, SLICE_S)

    async def handle_raw(events: Sequence[EventT[Any]]) -> Completion:
        """Slice by slice, so heartbeats and fetches run between slices: a batch of
        thousands computed in one go would block the loop for seconds (and miss a
        rebalance). Slices are sized to take about ``SLICE_S`` each."""
        records = [_record(e) for e in events]
        out, outbox, pending = BatchOutput(), Outbox(), []
        logged = services.tables.logged()
        now, mask = datetime.now(UTC), settings.clickhouse.mask_personal_data
        rows, tasks = event_rows((), now), task_rows((), now)  # filled slice by slice
        start = 0
        while start < len(records):
            began, size = time.perf_counter(), slices.size

            def focus(i: int, start: int = start) -> None:
                for table in logged:  # table writes go under the record's partition
                    table.partition = records[start + i].partition

            part = services.pipeline.process(records[start : start + size], focus=focus)
            for table in logged:
                table.drain(outbox)
            for e, _ in part.normalized:
                outbox.add(normalized, e.event_id.encode(), encode(masked(e)))
            stored: list[tuple[ClassifiedEvent, str, int, int]] = []
            for c, r in part.classified:
                shown = masked(c)
                outbox.add(classified, (c.brand or "").encode(), encode(shown))
                stored.append((shown if mask else c, r.topic, r.partition, r.offset))
            for chunk in encode_observations(part.observations):
                outbox.add(surge_feed, None, chunk)
            add_dead_letters(outbox, part.dead_letters)
            add_tasks(outbox, part.tasks)
            rows.rows.extend(event_rows(stored, now).rows)
            tasks.rows.extend(task_rows(part.tasks, now).rows)
            out.extend(part)
            slices.took(min(size, len(records) - start), time.perf_counter() - began)
            start += size
            await asyncio.sleep(0)
            # 1. The slice's output records to the producer, a record batch per partition
            # (its tasks go out while the next slice is computed).
            pending += await sent(outbox)
        return complete_raw(out, rows, tasks, _positions(events), pending, len(records))

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

        At most ``sla.breach_batch`` per check, the longest overdue first; the others wait
        for the next check (``vigie_sla_overdue_left``). Published and stored a slice at a
        time, so a check never holds the event loop long, and one that fails after a
        slice does not escalate that slice again (the search skips stored escalations).
        Postponed while this worker's status partitions have unread statuses (after a
        restart, say): a task marked done in that backlog would be escalated."""
        statuses = {topics.task_status.get_topic_name()}
        if any(p.lag for p in await consumer_lag(app, settings.kafka, statuses)):
            metrics.sla_checks_postponed.inc()
            return
        now = datetime.now(UTC)
        overdue = (await writer.query(
            OVERDUE_SQL, {"now": now.replace(tzinfo=None), "limit": settings.sla.breach_batch}
        )).rows
        metrics.sla_checks.inc()
        metrics.sla_overdue_left.set(overdue_count(overdue) - len(overdue))
        for start in range(0, len(overdue), SLICE):
            tasks = [escalation(row, now, settings.sla) for row in overdue[start : start + SLICE]]
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
        # One lag reading for every agent: a reading may open a client per call.
        lags = await consumer_lag(app, settings.kafka, set().union(*(c.topics for c in committers)))
        for committer in committers:
            await committer.reseek_stalled()
            await committer.reread_idle([lag for lag in lags if lag.topic in committer.topics])

    periodic(app, metrics, "vigie.reseek_stalled_holes", RESEEK_AFTER_S, reseek_stalled_holes)

    def batched(name: str, source: faust.TopicT,
                handle: Callable[[faust.Stream[Any], Sequence[EventT[Any]]],
                                 Awaitable[Completion]],
                faust_tables: bool = False, on_failure: Callable[[], None] = lambda: None,
                ) -> Callable[..., Awaitable[None]]:
        committer = Committer(app, services, name, source.topics, faust_tables)
        committers.append(committer)

        async def agent(stream: StreamT[Any]) -> None:
            events = cast(faust.Stream[Any], stream)  # noack_take is on the concrete class
            await _consume_batches(
                app, events.noack_take(settings.sink.batch_size, settings.sink.batch_seconds),
                events.ack, services, committer, lambda batch: handle(events, batch),
                on_failure)
        agent.__name__ = name
        return agent

    raw_committer = Committer(app, services, "process", topics.raw_all.topics)
    committers.append(raw_committer)

    async def ack_raw(event: EventT[Any]) -> None:
        message = event.message
        app.consumer.ack(message)
        app.sensors.on_message_out(message.tp, message.offset, message)  # as Faust does

    async def process_raw_feed(_stream: StreamT[Any]) -> None:
        """The raw topics' agent. Its Faust stream keeps them subscribed (assignment,
        table partitions); their records come through :class:`streams.rawfeed.RawFeed`."""
        await _warmed_up(services)
        await _consume_batches(app, services.raw_feed.batches(app), ack_raw, services,
                               raw_committer, handle_raw)

    app.agent(topics.raw_all, name="vigie.process", concurrency=1)(process_raw_feed)
    app.agent(topics.surge, name="vigie.surge", concurrency=1)(
        # A failed batch may leave the detector's views half-updated: rebuilt from the tables.
        batched("surge", topics.surge, handle_surge, faust_tables=True,
                on_failure=services.tables.surge.reset))
    app.agent(topics.task_status, name="vigie.task_status", concurrency=1)(
        batched("task_status", topics.task_status,
                lambda _, events: _ready(handle_status(events))))
    periodic(app, metrics, "vigie.sla_breaches", settings.sla.breach_check_s,
             escalate_overdue_tasks, on_leader=True)
    app.agent(topics.deadletter, name="vigie.deadletters", concurrency=1)(
        batched("deadletters", topics.deadletter,
                lambda _, events: _ready(handle_dead_letters(events))))


# A message no common word identifies: classifying it loads every model the classifier
# loads on first use (the language model held the event loop for seconds in the first
# batch of every start).
_WARM_UP = SocialEvent(event_id="warm-up:0", platform=Platform.X, kind=Kind.COMMENT,
                       author=Author(id="warm-up"), text="zqxw vbnm plkj hgfd trew yuio",
                       created_at=datetime(2026, 1, 1, tzinfo=UTC))


async def _warmed_up(services: Services) -> None:
    """Classify a made-up message in a thread, so that the models load while the event
    loop keeps turning (heartbeats, fetches); the first batch waits for it. Best effort:
    a failure is the first batch's to meet."""
    try:
        await asyncio.to_thread(services.pipeline.classifier.classify, _WARM_UP)
    except Exception:
        log.exception("warming up the classifier failed")


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
