"""A batch's output records, handed to the producer one record batch per partition.

``producer.send`` costs ~15 µs a record in aiokafka's Python path (a delivery future,
the partitioner, an accumulator look-up), and a worker sends three to four records
per event. Appending to a record batch is one C call, and the whole batch has one
delivery future. Records land where ``producer.send`` would put them (the default
partitioner, see :func:`streams.partitioner.partition_for`), in the order added.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from streams.partitioner import partition_for

Record = tuple[bytes | None, bytes | None]  # key, value (None: a table tombstone)


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

    async def send(self, producer: AIOKafkaProducer) -> list[asyncio.Future[Any]]:
        """Queue every record on ``producer`` and empty the outbox; the futures resolve
        once the broker has the records (await them all before acknowledging)."""
        futures: list[asyncio.Future[Any]] = []
        for topic, records in self._records.items():
            partitions = sorted(await producer.partitions_for(topic))
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
                        futures.append(await producer.send_batch(batch, topic,
                                                                 partition=partition))
                        batch = producer.create_batch()
                        batch.append(timestamp=None, key=key, value=value)
                futures.append(await producer.send_batch(batch, topic, partition=partition))
        self._records.clear()
        return futures
