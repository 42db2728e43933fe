"""A simulated downstream tool for the embedded run: a helpdesk working the task queue.

It reads ``tasks.response`` as any consumer would, acknowledges every task and marks
most of them done a moment later on ``tasks.status``, so the status stream, the
``task_status`` table and the SLA views have real traffic in a demo.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from base.kafka import aiokafka_options
from base.settings import Settings

DONE_SHARE = 0.8


class Helpdesk:
    """Counts what it published, so the run can wait for it to be stored."""

    def __init__(self, settings: Settings, seed: int = 0) -> None:
        self.settings = settings
        self.rng = random.Random(seed)
        self.published = 0

    def statuses(self, task: dict[str, object]) -> list[bytes]:
        """What the helpdesk says about one task: acknowledged, then usually done."""
        now = datetime.now(UTC).isoformat()
        said = [{"task_id": task["task_id"], "status": "acknowledged", "at": now,
                 "by": "helpdesk-sim"}]
        if self.rng.random() < DONE_SHARE:
            said.append({"task_id": task["task_id"], "status": "done", "at": now,
                         "by": "helpdesk-sim"})
        return [orjson.dumps(s) for s in said]

    async def work(self) -> None:
        """Answer tasks until cancelled."""
        options = aiokafka_options(self.settings.kafka)
        consumer = AIOKafkaConsumer(
            self.settings.topics.tasks, group_id=f"{self.settings.kafka.consumer_group}-helpdesk",
            auto_offset_reset="earliest", rebalance_timeout_ms=3000, session_timeout_ms=10000,
            heartbeat_interval_ms=500, **options,
        )
        producer = AIOKafkaProducer(acks="all", linger_ms=5, **options)
        await consumer.start()
        await producer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                for records in batches.values():
                    for record in records:
                        for status in self.statuses(orjson.loads(record.value)):
                            await producer.send(self.settings.topics.task_status, status,
                                                key=record.key)
                            self.published += 1
                await producer.flush()
                await consumer.commit()
        finally:
            await consumer.stop()
            await producer.stop()
