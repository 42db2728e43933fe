"""The outbox puts records where ``producer.send`` would, in the same order (read back
with confluent-kafka, as a downstream tool would), and waits its turn while the
producer's queue is full."""

from __future__ import annotations

import asyncio
import random

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.outbox import Outbox
from tests.support.kafka_reader import read_to_end
from vigie.embedded import EmbeddedBroker


def _layout(bootstrap: str, topic: str) -> dict[int, list[tuple[bytes | None, bytes]]]:
    found: dict[int, list[tuple[bytes | None, bytes]]] = {}
    for m in read_to_end(bootstrap, topic):
        found.setdefault(m.partition(), []).append((m.key(), m.value()))
    return found


async def test_records_land_on_the_default_partitioner_s_partition_in_order(
    broker: EmbeddedBroker, unique: str,
) -> None:
    bootstrap = broker.bootstrap_servers
    sent_one_by_one, batched = f"{unique}.send", f"{unique}.outbox"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 3, 1) for t in (sent_one_by_one, batched)])
    finally:
        await admin.close()
    rng = random.Random(7)
    # ~1.5 MB over 3 partitions: several full 256 KiB batches per partition.
    records = [(f"brand-{rng.randrange(40)}".encode(), rng.randbytes(rng.randrange(200, 800)))
               for _ in range(3000)]
    # aiokafka's own partitioner for the records sent one by one
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=256 * 1024)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(sent_one_by_one, v, key=k) for k, v in records])
        outbox = Outbox()
        for key, value in records:
            outbox.add(batched, key, value)
        assert len(outbox) == len(records)
        futures = await outbox.send(producer)
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    assert len(outbox) == 0
    assert len(futures) > 3, "full batches were sent and new ones started"
    expected = _layout(bootstrap, sent_one_by_one)
    assert _layout(bootstrap, batched) == expected
    assert sum(len(v) for v in expected.values()) == len(records)


async def test_outboxes_wait_their_turn_on_a_full_producer_queue_and_report_each_wait(
    broker: EmbeddedBroker, unique: str,
) -> None:
    bootstrap, topic = broker.bootstrap_servers, f"{unique}.full"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    # A record batch lingers 1.2 s before it goes: meanwhile the partition's slot in the
    # producer's queue is taken, as under a backlog.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1200)
    await producer.start()
    waits: list[str] = []
    try:
        outboxes = []
        for value in (b"first", b"second", b"third"):
            outbox = Outbox()
            outbox.add(topic, b"key", value)
            outboxes.append(outbox)
        sending = [asyncio.create_task(o.send(producer, wait_s=0.3, waited=waits.append))
                   for o in outboxes]
        deliveries = [f for futures in await asyncio.gather(*sending) for f in futures]
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    assert len(waits) >= 4, "the second and third outboxes waited, and said so"
    assert set(waits) == {topic}
    assert [m.value() for m in read_to_end(bootstrap, topic)] == [b"first", b"second", b"third"]
