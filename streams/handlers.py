"""The agents' handlers: each computes a batch, hands its output records to the
producer and returns what is left to complete (:class:`streams.batches.Completion`).

- :meth:`Handlers.raw`: raw records → the pipeline → normalized, classified, surge
  observations, tasks, dead letters; events and tasks to store.
- :meth:`Handlers.surge`: surge observations → the detector → alerts and crisis tasks.
- :meth:`Handlers.status`: task statuses from downstream tools → ClickHouse.
- :meth:`Handlers.dead_letters`: the dead-letter topic → ClickHouse.
- :meth:`Handlers.escalate_overdue_tasks`: the periodic SLA check (not a batch).

A data error never escapes a handler: it becomes a dead letter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from faust.types import EventT

from core.normalize import Source, dead_letter
from core.pipeline import (
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
from sinks.rows import alert_rows, dead_letter_rows, event_rows, task_rows, task_status_rows
from sinks.writer import dedup_token
from streams.batches import Completion, ToStore
from streams.faust_patches import current_event_kept, kafka_producer, point_stream_at
from streams.lag import consumer_lag
from streams.looplag import SliceSizer
from streams.outbox import Outbox
from streams.services import Services

log = logging.getLogger(__name__)

SLICE = 250  # records computed between two yields to the event loop, at most
# Wall time a slice of a raw batch aims for: slices shrink (down to SMALLEST_SLICE) when
# the machine is slow, so the loop is never held long (heartbeats, timers, /health).
SLICE_S = 0.2
SMALLEST_SLICE = 25


class Handlers:
    def __init__(self, app: faust.App, services: Services) -> None:
        self.app, self.services = app, services
        self.settings, self.metrics = services.settings, services.metrics
        topics = services.topics
        (self.normalized, self.classified, self.surge_feed, self.alerts, self.tasks,
         self.letters) = (t.get_topic_name() for t in (
            topics.normalized, topics.classified, topics.surge, topics.alerts, topics.tasks,
            topics.deadletter))
        self.status_topic = topics.task_status.get_topic_name()
        self.slices = SliceSizer(SLICE, SMALLEST_SLICE, SLICE_S)

    async def raw(self, events: Sequence[EventT[Any]]) -> Completion:
        """Slice by slice, so heartbeats and fetches run between slices: a batch of
        thousands computed in one go would block the loop for seconds (and miss a
        rebalance). Slices are sized to take about ``SLICE_S`` each; each slice's output
        records go to the producer while the next one is computed."""
        records = [_record(e) for e in events]
        outbox, sent = Outbox(), []
        logged = self.services.tables.logged()
        now, mask = datetime.now(UTC), self.settings.clickhouse.mask_personal_data
        rows, tasks = event_rows((), now), task_rows((), now)  # filled slice by slice
        counts = dict.fromkeys(("duplicate", "ignored", "normalized", "classified",
                                "deadletter", "written", "tasks"), 0)
        start = 0
        while start < len(records):
            began, size = time.perf_counter(), self.slices.size

            def focus(i: int, start: int = start) -> None:
                for table in logged:  # table writes go under the record's partition
                    table.partition = records[start + i].partition

            part = self.services.pipeline.process(records[start : start + size], focus=focus)
            for table in logged:
                table.drain(outbox)
            for e, _ in part.normalized:
                outbox.add(self.normalized, e.event_id.encode(), encode(masked(e)))
            stored: list[tuple[ClassifiedEvent, str, int, int]] = []
            for c, r in part.classified:
                shown = masked(c)
                outbox.add(self.classified, (c.brand or "").encode(), encode(shown))
                stored.append((shown if mask else c, r.topic, r.partition, r.offset))
            for chunk in encode_observations(part.observations):
                outbox.add(self.surge_feed, None, chunk)
            self._add_dead_letters(outbox, part.dead_letters)
            self._add_tasks(outbox, part.tasks)
            rows.rows.extend(event_rows(stored, now).rows)
            tasks.rows.extend(task_rows(part.tasks, now).rows)
            for stage, n in (("duplicate", part.duplicates), ("ignored", part.ignored),
                             ("normalized", len(part.normalized)),
                             ("classified", len(part.classified)),
                             ("written", len(part.classified)),
                             ("deadletter", len(part.dead_letters)), ("tasks", len(part.tasks))):
                counts[stage] += n
            self.slices.took(min(size, len(records) - start), time.perf_counter() - began)
            start += size
            await asyncio.sleep(0)
            sent += await self.send(outbox)
        positions = _positions(events)
        return Completion(sent, [ToStore(rows, dedup_token("events", positions)),
                                 ToStore(tasks, dedup_token("tasks", positions))],
                          {"raw": len(records), **counts})

    async def surge(self, stream: faust.Stream[Any], events: Sequence[EventT[Any]]
                    ) -> Completion:
        state = self.services.tables.surge
        detector = state.detector()
        alerts: list[Alert] = []
        letters: list[DeadLetter] = []
        batches: list[tuple[EventT[Any], list[Observation]]] = []
        for event in events:
            try:
                batches.append((event, decode_observations(event.value or b"")))
            except Exception as exc:  # a foreign record on the feed: kept, not fatal
                letters.append(_dead_letter(event, exc, "surge"))
        first = min((o.ts for _, batch in batches for o in batch), default=None)
        if detector.empty and first is not None and self.settings.surge.history_days:
            learned = await warm_start(detector, self._rows, int(first // 60),
                                       self.settings.surge.history_days)
            log.info("surge detector warm start: %d minutes of counts from ClickHouse", learned)
        for event, batch in batches:
            try:
                for observation in batch:
                    alerts.extend(observation.feed(detector))
            except Exception as exc:  # a detector bug on this record: a dead letter with
                # the exception (the rest of its observations unseen), never a crash loop
                log.exception("the surge detector failed on a record of %s", event.message.tp)
                letters.append(_dead_letter(event, exc, "surge"))
        # The batch's state changes go to the changelog, under the feed's partition.
        with current_event_kept(stream):
            point_stream_at(stream, events[-1])
            state.flush()
        tasks = [t for a in alerts if (t := route_alert(a, self.settings.sla)) is not None]
        outbox = Outbox()
        for a in alerts:
            outbox.add(self.alerts, a.alert_id.encode(), encode(a))
        self._add_tasks(outbox, tasks)
        self._add_dead_letters(outbox, letters)
        now, positions = datetime.now(UTC), _positions(events)
        return Completion(await self.send(outbox),
                          [ToStore(alert_rows(alerts, now), dedup_token("alerts", positions)),
                           ToStore(task_rows(tasks, now), dedup_token("tasks", positions))],
                          {"alerts": len(alerts), "tasks": len(tasks),
                           "deadletter": len(letters)})

    async def status(self, events: Sequence[EventT[Any]]) -> Completion:
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
        self._add_dead_letters(outbox, letters)
        rows = task_status_rows(statuses, datetime.now(UTC))
        return Completion(await self.send(outbox),
                          [ToStore(rows, dedup_token("task_status", _positions(events)), sources)],
                          {"deadletter": len(letters)})

    async def dead_letters(self, events: Sequence[EventT[Any]]) -> Completion:
        rows = dead_letter_rows([_as_dead_letter(e) for e in events])
        return Completion(rows=[ToStore(rows, dedup_token("dead_letters", _positions(events)),
                                        refused_to_dead_letters=False)])

    async def escalate_overdue_tasks(self) -> None:
        """SLA breaches: open tasks past due get a higher-priority escalation task.

        At most ``sla.breach_batch`` per check, the longest overdue first; the others wait
        for the next check (``vigie_sla_overdue_left``). Published and stored a slice at a
        time, so a check never holds the event loop long, and one that fails after a
        slice does not escalate that slice again (the search skips stored escalations).
        Postponed while this worker's status partitions have unread statuses (after a
        restart, say): a task marked done in that backlog would be escalated."""
        settings, metrics = self.settings, self.metrics
        if any(p.lag for p in await consumer_lag(self.app, settings.kafka, {self.status_topic})):
            metrics.sla_checks_postponed.inc()
            return
        now = datetime.now(UTC)
        overdue = await self._rows(
            OVERDUE_SQL, {"now": now.replace(tzinfo=None), "limit": settings.sla.breach_batch})
        metrics.sla_checks.inc()
        metrics.sla_overdue_left.set(overdue_count(overdue) - len(overdue))
        for start in range(0, len(overdue), SLICE):
            tasks = [escalation(row, now, settings.sla) for row in overdue[start : start + SLICE]]
            outbox = Outbox()
            self._add_tasks(outbox, tasks)
            sent = await self.send(outbox)
            sent += await self.store(ToStore(task_rows(tasks, now), None))
            await asyncio.gather(*sent)
            metrics.count("tasks", len(tasks))
            metrics.count("sla_breaches", len(tasks))

    async def send(self, outbox: Outbox) -> list[Awaitable[Any]]:
        """Hand the outbox to the producer (waiting while its queue is full); await the
        result to confirm delivery."""
        return list(await outbox.send(kafka_producer(self.app), waited=self._producer_waited))

    async def store(self, batch: ToStore) -> list[Awaitable[Any]]:
        """Write the rows (retried until stored); the rows ClickHouse refuses become dead
        letters, handed to the producer (their deliveries returned), never a stall."""
        result = await self.services.writer.write(batch.rows, batch.token)
        self.metrics.refused_rows.labels(batch.rows.table).inc(len(result.refused))
        if not batch.refused_to_dead_letters:
            return []  # logged by the writer; the records stay on their topic
        outbox = Outbox()
        self._add_dead_letters(outbox, result.dead_letters(batch.sources))
        return await self.send(outbox)

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[list[Any]]:
        return (await self.services.writer.query(sql, params)).rows

    def _producer_waited(self, topic: str) -> None:
        self.metrics.producer_waits.labels(topic).inc()

    def _add_tasks(self, outbox: Outbox, tasks: list[ResponseTask]) -> None:
        for t in tasks:
            outbox.add(self.tasks, t.key.encode(), encode(t))

    def _add_dead_letters(self, outbox: Outbox, letters: list[DeadLetter]) -> None:
        for d in letters:
            outbox.add(self.letters, d.key.encode() if d.key else None, encode(d))

    async def warm_up(self) -> None:
        """Classify a made-up message in a thread, so that the models load while the
        event loop keeps turning (heartbeats, fetches); the first batch waits for it.
        Best effort: a failure is the first batch's to meet."""
        try:
            await asyncio.to_thread(self.services.pipeline.classifier.classify, _WARM_UP)
        except Exception:
            log.exception("warming up the classifier failed")


# A message no common word identifies: classifying it loads every model the classifier
# loads on first use (the language model held the event loop for seconds in the first
# batch of every start).
_WARM_UP = SocialEvent(event_id="warm-up:0", platform=Platform.X, kind=Kind.COMMENT,
                       author=Author(id="warm-up"), text="zqxw vbnm plkj hgfd trew yuio",
                       created_at=datetime(2026, 1, 1, tzinfo=UTC))


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
