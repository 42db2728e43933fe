"""A batch's output records, handed to the producer one record batch per partition.

``producer.send`` is costly per record in aiokafka's Python path (a delivery future,
the partitioner, an accumulator look-up), and a worker sends three to four records
per event. Appending to a record batch is one C call, and the whole batch has one
delivery future. Records land where ``producer.send`` would put them (the default
partitioner, see :func:`streams.partitioner.partition_for`), in the order added.

Back-pressure is waited on, never raised. The producer queues one record batch per
partition until the previous one is on its way; under a backlog that slot stays taken,
and aiokafka gives up with ``KafkaTimeoutError`` after a time that shrinks with every
wait (it subtracts the time since the start at each turn). That exception used to
crash the worker. :meth:`Outbox.send` takes its turn for each partition (first come,
first served among outboxes: the SLA check's escalations once waited behind the raw
agent's records for over 30 s), reports every ``wait_s`` spent waiting, and tries
again if aiokafka gives up, until the producer takes the batch or is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError

from streams.partitioner import partition_for

log = logging.getLogger(__name__)

Record = tuple[bytes | None, bytes | None]  # key, value (None: a table tombstone)
T = TypeVar("T")
WAIT_S = 5.0  # one wait for the producer to take a batch, before it is reported


def _waited(topic: str) -> None:
    """What a wait does by default: nothing more than the log line."""


# Per producer and partition, whose turn it is to hand the producer a batch.
_turns: WeakKeyDictionary[AIOKafkaProducer, dict[tuple[str, int], asyncio.Lock]] = (
    WeakKeyDictionary())


def _turn(producer: AIOKafkaProducer, topic: str, partition: int) -> asyncio.Lock:
    return _turns.setdefault(producer, {}).setdefault((topic, partition), asyncio.Lock())


async def patiently(attempt: Callable[[], Awaitable[T]], topic: str, wait_s: float,
                    waited: Callable[[str], None]) -> T:
    """``attempt()`` until it succeeds, tried again when aiokafka gives up waiting with
    ``KafkaTimeoutError``; every ``wait_s`` spent waiting is logged and passed to
    ``waited`` (a counter). A wait keeps its place in line: it is not cancelled."""
    waits = 0

    def report() -> None:
        nonlocal waits
        waits += 1
        waited(topic)
        log.warning("producer queue for %s still full after %.0f s; waiting on", topic,
                    waits * wait_s)

    while True:
        trying = asyncio.ensure_future(attempt())
        try:
            while not (await asyncio.wait([trying], timeout=wait_s))[0]:
                report()
            return trying.result()
        except KafkaTimeoutError:
            report()
        finally:
            trying.cancel()  # the caller was cancelled (a stopping worker); else a no-op


class Outbox:
    """Records collected per topic, sent together by :meth:`send`."""

    def __init__(self) -> None:
        self._records: dict[str, list[tuple[int | None, Record]]] = {}

    def add(self, topic: str, key: bytes | None, value: bytes | None,
            partition: int | None = None) -> None:
        """Queue a record; without ``partition``, the default partitioner picks one."""
        self._records.setdefault(topic, []).append((partition, (key, value)))

    def __len__(self) -> int:
        return sum(len(records) for records in self._records.values())

    async def send(self, producer: AIOKafkaProducer, wait_s: float = WAIT_S,
                   waited: Callable[[str], None] = _waited) -> list[asyncio.Future[Any]]:
        """Queue every record on ``producer`` and empty the outbox; the futures resolve
        once the broker has the records (await them all before acknowledging). While the
        producer's queue is full, waits (``wait_s`` at a time, each reported to
        ``waited`` with the topic) rather than fail."""
        futures: list[asyncio.Future[Any]] = []

        async def queue(batch: Any, topic: str, partition: int) -> None:
            async def in_turn() -> asyncio.Future[Any]:
                async with _turn(producer, topic, partition):
                    delivery: asyncio.Future[Any] = await producer.send_batch(
                        batch, topic, partition=partition)
                    return delivery
            futures.append(await patiently(in_turn, topic, wait_s, waited))

        for topic, records in self._records.items():
            partitions = sorted(await patiently(partial(producer.partitions_for, topic),
                                                topic, wait_s, waited))
            by_partition: dict[int, list[Record]] = {}
            for partition, (key, value) in records:
                if partition is None:
                    partition = partition_for(key, partitions, partitions)
                by_partition.setdefault(partition, []).append((key, value))
            for partition, items in by_partition.items():
                batch = producer.create_batch()
                for key, value in items:
                    if batch.append(timestamp=None, key=key, value=value) is None:
                        # Full: send it and start the next (a first record always fits).
                        await queue(batch, topic, partition)
                        batch = producer.create_batch()
                        batch.append(timestamp=None, key=key, value=value)
                await queue(batch, topic, partition)
        self._records.clear()
        return futures
