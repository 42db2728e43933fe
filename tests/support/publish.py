"""Records written to the worker's source topics, acknowledged by the broker."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from base.kafka import aiokafka_options, create_topics
from base.settings import Settings
from core.surge.observation import Observation
from lab.simulator import RawMessage


async def send_all(settings: Settings, records: Iterable[tuple[str, bytes, bytes | None]],
                   **options: Any) -> None:
    """``(topic, value, key)`` records sent in order, flushed and acknowledged by all
    replicas, each stamped as the receiver stamps deliveries."""
    producer = AIOKafkaProducer(**aiokafka_options(settings.kafka), acks="all", **options)
    await producer.start()
    try:
        for topic, value, key in records:
            await producer.send(topic, value, key=key,
                                headers=[("received_at", datetime.now(UTC).isoformat().encode())])
        await producer.flush()
    finally:
        await producer.stop()


async def publish(settings: Settings, messages: list[RawMessage]) -> None:
    """Simulated deliveries on their raw topics."""
    await send_all(settings, ((settings.topics.raw(m.platform), m.value, m.key)
                              for m in messages))


async def publish_observations(settings: Settings, observations: list[Observation]) -> None:
    """The observations on the surge feed (topics created)."""
    await create_topics(settings)
    await send_all(settings, ((settings.topics.surge, o.encode(), None) for o in observations),
                   linger_ms=20, max_batch_size=1 << 20)
