"""Live records for open pages: four topics tailed from their end and handed to each page.

:class:`Tail` reads ``events.classified``, ``tasks.response``, ``tasks.status`` and
``alerts`` without a consumer group (nothing to join, nothing committed: it only
watches), and only while a page is open: with none, its partitions are paused and it
starts again from their end. Each open page has its own bounded queue; a page that
cannot keep up loses records (counted), never the pipeline's pace.

:class:`MessageStream` decides what one page's stream shows: the messages its filters
let through, each with its task when the task arrives within ``hold_s`` (the pipeline
publishes both from one batch), at most ``per_flush`` per flush, the newest first:
past that rate a person reads nothing more, and the rest is in the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from base.kafka import aiokafka_options
from base.settings import KafkaSettings, TopicSettings
from vigie.console.filters import Filters
from vigie.console.reads import Card, TaskBadge, badge, card

log = logging.getLogger(__name__)

Kind = Literal["message", "task", "status", "alert"]
RETRY_S = 2.0
MAX_RETRY_S = 60.0


@dataclass(frozen=True, slots=True)
class Record:
    kind: Kind
    value: dict[str, Any]


class Tail:
    """The four topics, from their end, fanned out to every subscribed page."""

    def __init__(self, kafka: KafkaSettings, topics: TopicSettings,
                 queue_size: int = 10_000) -> None:
        self.kafka = kafka
        self.kinds: dict[str, Kind] = {topics.classified: "message", topics.tasks: "task",
                                       topics.task_status: "status", topics.alerts: "alert"}
        self.queue_size = queue_size
        self.subscribers: set[asyncio.Queue[Record]] = set()
        self.lost = 0  # records a full page queue could not take

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[Record]]:
        queue: asyncio.Queue[Record] = asyncio.Queue(self.queue_size)
        self.subscribers.add(queue)
        try:
            yield queue
        finally:
            self.subscribers.discard(queue)

    def publish(self, record: Record) -> None:
        for queue in self.subscribers:
            try:
                queue.put_nowait(record)
            except asyncio.QueueFull:
                self.lost += 1

    async def run(self) -> None:
        """Tail until cancelled; a broker error restarts the tail, a little later each
        time it fails again (``RETRY_S`` doubling up to ``MAX_RETRY_S``)."""
        wait = RETRY_S
        while True:
            started = time.monotonic()
            try:
                await self._tail()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                wait = RETRY_S if time.monotonic() - started > MAX_RETRY_S else wait
                log.warning("console: reading the live topics failed (%s); again in %.0f s",
                            exc, wait)
                await asyncio.sleep(wait)
                wait = min(2 * wait, MAX_RETRY_S)

    async def _tail(self) -> None:
        consumer = AIOKafkaConsumer(**aiokafka_options(self.kafka), group_id=None,
                                    enable_auto_commit=False, fetch_max_wait_ms=200)
        try:
            await consumer.start()
            await consumer.topics()  # metadata of every topic
            partitions = [TopicPartition(topic, p) for topic in self.kinds
                          for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not partitions:
                raise LookupError(f"none of the topics {sorted(self.kinds)} exists yet")
            consumer.assign(partitions)
            consumer.pause(*partitions)
            watching = False
            while True:
                if not self.subscribers:
                    if watching:
                        consumer.pause(*partitions)
                        watching = False
                    await asyncio.sleep(0.2)
                    continue
                if not watching:
                    await consumer.seek_to_end(*partitions)
                    consumer.resume(*partitions)
                    watching = True
                batches = await consumer.getmany(timeout_ms=200, max_records=2000)
                for tp, records in batches.items():
                    kind = self.kinds[tp.topic]
                    for record in records:
                        try:
                            value = orjson.loads(record.value or b"")
                        except orjson.JSONDecodeError:
                            continue  # not ours to judge: the pipeline dead-letters it
                        if isinstance(value, dict):
                            self.publish(Record(kind, value))
        finally:
            await consumer.stop()


class MessageStream:
    """What one page's live stream shows (see the module docstring)."""

    def __init__(self, filters: Filters, *, hold_s: float = 1.0, per_flush: int = 20,
                 remembered: int = 5000) -> None:
        self.filters = filters
        self.hold_s = hold_s
        self.per_flush = per_flush
        self.remembered = remembered
        self._pending: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()
        self._tasks: OrderedDict[str, TaskBadge] = OrderedDict()
        self.matched = 0  # messages that passed the filters
        self.skipped = 0  # of them, not shown (past the rate a page shows)

    def offer(self, record: Record, now: float) -> None:
        value = record.value
        if record.kind == "message":
            if self._wanted(value):
                self.matched += 1
                self._pending[str(value.get("event_id"))] = (value, now)
        elif record.kind == "task" and not value.get("alert_id"):
            event_id = str((value.get("event") or {}).get("event_id"))
            if (task := _task(value)) is not None:
                self._tasks[event_id] = task
                if len(self._tasks) > self.remembered:
                    self._tasks.popitem(last=False)

    def _wanted(self, value: dict[str, Any]) -> bool:
        try:
            return self.filters.matches(value.get("brand"), str(value["platform"]),
                                        list(value.get("risks") or []),
                                        str(value.get("priority") or ""), value.get("lang"))
        except KeyError:
            return False

    def due(self, now: float) -> list[Card]:
        """The cards to send now, oldest first: each message whose task came, or that
        waited ``hold_s``; beyond ``per_flush`` the oldest are skipped."""
        ready = [event_id for event_id, (_, since) in self._pending.items()
                 if event_id in self._tasks or now - since >= self.hold_s]
        cards = []
        for event_id in ready:
            value, _ = self._pending.pop(event_id)
            cards.append((value, self._tasks.get(event_id)))
        if len(cards) > self.per_flush:
            self.skipped += len(cards) - self.per_flush
            cards = cards[-self.per_flush:]
        shown = []
        for value, task in cards:
            try:
                shown.append(card(value, task=task, live=True))
            except (KeyError, TypeError, ValueError):
                self.skipped += 1  # not a classified event (a foreign record on the topic)
        return shown


def _task(value: dict[str, Any]) -> TaskBadge | None:
    try:
        return badge(value)
    except (KeyError, TypeError, ValueError):
        return None
