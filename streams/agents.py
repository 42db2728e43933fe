"""Faust agents: thin loops that batch records, call the pipeline, emit, store, ack.

Acknowledgement discipline (at-least-once, nothing lost): every agent takes batches
with ``noack_take`` and acknowledges them only after ClickHouse stored the rows and
the producer confirmed every output record. A data error never escapes (it is a dead
letter); ClickHouse outages are retried inside the writer, which pauses consumption.
An unexpected exception crashes the worker *without* acknowledging, so the batch is
redelivered after restart rather than skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import faust
import orjson
from faust.types import EventT, StreamT, TopicT

from schemas.alerts import Alert
from schemas.deadletter import DeadLetter
from schemas.tasks import ResponseTask, TaskStatus
from sinks.rows import alert_rows, dead_letter_rows, event_rows, task_rows, task_status_rows
from sinks.writer import dedup_token
from streams.app import Services
from streams.normalize import Source, dead_letter
from streams.pipeline import RawRecord, encode
from streams.route import route_alert
from streams.status import OVERDUE_SQL, escalation, parse_status
from streams.surge.observation import Observation

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[EventT[Any]]], Awaitable[None]]


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


async def _consume_batches(
    app: faust.App, stream: faust.Stream[Any], services: Services, name: str, handle: Handler
) -> None:
    sink = services.settings.sink
    async for batch in stream.noack_take(sink.batch_size, within=sink.batch_seconds):
        events: Sequence[EventT[Any]] = batch  # noack_take yields events, not values
        services.metrics.batch_size.labels(name).observe(len(events))
        try:
            await handle(events)
        except Exception as exc:
            log.exception("agent %s failed on a batch; stopping without acknowledging it", name)
            await app.crash(exc)
            return
        for event in events:
            await stream.ack(event)


def register_agents(app: faust.App, services: Services) -> None:
    topics, metrics, writer, settings = (
        services.topics, services.metrics, services.writer, services.settings)

    async def emit(topic: TopicT, key: bytes | None, value: bytes) -> Awaitable[Any]:
        """Queue one record on the app's producer; await the result to confirm delivery."""
        return await app.producer.send(topic.get_topic_name(), key, value, None, None, None)

    async def emit_tasks(tasks: list[ResponseTask]) -> list[Awaitable[Any]]:
        return [await emit(topics.tasks, t.key.encode(), encode(t)) for t in tasks]

    async def emit_dead_letters(letters: list[DeadLetter]) -> list[Awaitable[Any]]:
        return [await emit(topics.deadletter, d.key.encode() if d.key else None, encode(d))
                for d in letters]

    async def handle_raw(stream: faust.Stream[Any], events: Sequence[EventT[Any]]) -> None:
        records = [_record(e) for e in events]
        out = services.pipeline.process(
            records, focus=lambda i: stream._set_current_event(events[i])
        )
        now = datetime.now(UTC)
        # 1. Hand every output record to the producer (batched, not awaited one by one).
        pending = [await emit(topics.normalized, e.event_id.encode(), encode(e))
                   for e, _ in out.normalized]
        pending += [await emit(topics.classified, (e.brand or "").encode(), encode(e))
                    for e, _ in out.classified]
        pending += [await emit(topics.surge, None, o.encode()) for o in out.observations]
        pending += await emit_dead_letters(out.dead_letters)
        pending += await emit_tasks(out.tasks)
        # 2. Store events and tasks in ClickHouse (retried until stored).
        positions = _positions(events)
        await writer.write(
            event_rows(((e, r.topic, r.partition, r.offset) for e, r in out.classified), now,
                       settings.clickhouse.mask_personal_data),
            dedup_token("events", positions),
        )
        await writer.write(task_rows(out.tasks, now), dedup_token("tasks", positions))
        # 3. Confirm the broker has every output record; only then may the caller ack.
        await asyncio.gather(*pending)
        metrics.count("raw", len(records))
        metrics.count("duplicate", out.duplicates)
        metrics.count("normalized", len(out.normalized))
        metrics.count("classified", len(out.classified))
        metrics.count("deadletter", len(out.dead_letters))
        metrics.count("written", len(out.classified))
        metrics.count("tasks", len(out.tasks))

    async def handle_surge(stream: faust.Stream[Any], events: Sequence[EventT[Any]]) -> None:
        surge = services.tables.surge
        detector = surge.detector()
        alerts: list[Alert] = []
        letters: list[DeadLetter] = []
        for event in events:
            try:
                observation = Observation.decode(event.value or b"")
            except Exception as exc:  # a foreign record on the feed: kept, not fatal
                letters.append(_dead_letter(event, exc, "surge"))
                continue
            alerts.extend(observation.feed(detector))
        # 1. State changes of the batch go to the changelog (under the feed's partition).
        stream._set_current_event(events[-1])
        surge.flush()
        tasks = [t for a in alerts if (t := route_alert(a, settings.sla)) is not None]
        # 2. Alerts, crisis tasks and dead letters to the producer; tasks to ClickHouse.
        pending = [await emit(topics.alerts, a.alert_id.encode(), encode(a)) for a in alerts]
        pending += await emit_tasks(tasks)
        pending += await emit_dead_letters(letters)
        positions, now = _positions(events), datetime.now(UTC)
        await writer.write(alert_rows(alerts, now), dedup_token("alerts", positions))
        await writer.write(task_rows(tasks, now), dedup_token("tasks", positions))
        # 3. Confirmed by the broker before the batch is acknowledged.
        await asyncio.gather(*pending)
        metrics.count("alerts", len(alerts))
        metrics.count("tasks", len(tasks))
        metrics.count("deadletter", len(letters))

    async def handle_status(events: Sequence[EventT[Any]]) -> None:
        statuses: list[TaskStatus] = []
        letters: list[DeadLetter] = []
        for event in events:
            try:
                statuses.append(parse_status(event.value or b""))
            except Exception as exc:  # a malformed status from a downstream tool
                letters.append(_dead_letter(event, exc, "task_status"))
        pending = await emit_dead_letters(letters)
        await writer.write(task_status_rows(statuses, datetime.now(UTC)),
                           dedup_token("task_status", _positions(events)))
        await asyncio.gather(*pending)
        metrics.count("deadletter", len(letters))

    async def escalate_overdue_tasks() -> None:
        """SLA breaches: open tasks past due get a higher-priority escalation task."""
        now = datetime.now(UTC)
        overdue = await writer.query(
            OVERDUE_SQL, {"now": now.replace(tzinfo=None), "limit": 1000})
        tasks = [escalation(row, now, settings.sla) for row in overdue.rows]
        metrics.sla_checks.inc()
        if not tasks:
            return
        pending = await emit_tasks(tasks)
        await writer.write(task_rows(tasks, now))
        await asyncio.gather(*pending)
        metrics.count("tasks", len(tasks))
        metrics.count("sla_breaches", len(tasks))

    async def handle_dead_letters(events: Sequence[EventT[Any]]) -> None:
        letters = [_as_dead_letter(e) for e in events]
        await writer.write(dead_letter_rows(letters), dedup_token("dead_letters",
                                                                   _positions(events)))

    def batched(name: str, handle: Callable[[faust.Stream[Any], Sequence[EventT[Any]]],
                                            Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def agent(stream: StreamT[Any]) -> None:
            batches = cast(faust.Stream[Any], stream)  # noack_take is on the concrete class
            await _consume_batches(app, batches, services, name,
                                   lambda events: handle(batches, events))
        agent.__name__ = name
        return agent

    app.agent(topics.raw_all, name="vigie.process", concurrency=1)(
        batched("process", handle_raw))
    app.agent(topics.surge, name="vigie.surge", concurrency=1)(
        batched("surge", handle_surge))
    app.agent(topics.task_status, name="vigie.task_status", concurrency=1)(
        batched("task_status", lambda _, events: handle_status(events)))
    app.timer(settings.sla.breach_check_s, on_leader=True, name="vigie.sla_breaches")(
        escalate_overdue_tasks)
    app.agent(topics.deadletter, name="vigie.deadletters", concurrency=1)(
        batched("deadletters", lambda _, events: handle_dead_letters(events)))


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
