"""Topics as vigie creates them and their ends, read back with an independent client
(confluent-kafka)."""

from __future__ import annotations

import asyncio
from collections import Counter

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from confluent_kafka import Consumer
from confluent_kafka import TopicPartition as ConfluentPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from base.kafka import create_topics, group_committed, record_ends
from base.settings import KafkaSettings, Settings
from tests.support.kafka_reader import read_to_end
from vigie.embedded import EmbeddedBroker


async def test_raw_topics_holding_unmasked_payloads_get_the_configured_retention(
    settings: Settings,
) -> None:
    configured = settings.model_copy(update={
        "topics": settings.topics.model_copy(update={"raw_retention_hours": 36})})
    await create_topics(configured)
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    raw, other = settings.topics.all_raw()[0], settings.topics.tasks
    found = admin.describe_configs([ConfigResource("topic", raw), ConfigResource("topic", other)])
    retention = {resource.name: {k: v.value for k, v in future.result(timeout=30).items()}
                 .get("retention.ms") for resource, future in found.items()}
    assert retention[raw] == str(36 * 3_600_000)
    assert retention[other] != retention[raw], "only the raw topics get this retention"


async def test_record_ends_are_past_the_last_record_even_in_a_many_record_batch(
    broker: EmbeddedBroker, unique: str,
) -> None:
    """What table recovery reads up to. The embedded broker reports the end of a
    partition as the start of its last record batch + 1."""
    topic = f"{unique}.batched"
    await _create_two_partition_topic(broker, topic)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, linger_ms=50)
    await producer.start()
    try:  # 1 record, then 40 in one batch, on partition 0; nothing on partition 1
        await producer.send_and_wait(topic, b"first", partition=0)
        await asyncio.gather(*[await producer.send(topic, b"v", partition=0) for _ in range(40)])
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        reported = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    written = Counter(m.partition() for m in read_to_end(broker.bootstrap_servers, topic))
    ends = await record_ends(_kafka(broker), reported)
    assert ends == {tps[0]: written[0], tps[1]: 0} == {tps[0]: 41, tps[1]: 0}


async def test_group_committed_returns_what_another_client_committed_and_omits_the_rest(
    broker: EmbeddedBroker, unique: str,
) -> None:
    """Where the agents resume and what lag readings count from."""
    topic, group = f"{unique}.committed", f"{unique}.group"
    await _create_two_partition_topic(broker, topic)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        for _ in range(5):
            await producer.send_and_wait(topic, b"v", partition=0)
    finally:
        await producer.stop()
    committer = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": group,
                          "enable.auto.commit": False})
    try:  # partition 0 committed at 3, partition 1 never
        committer.commit(offsets=[ConfluentPartition(topic, 0, 3)], asynchronous=False)
    finally:
        committer.close()
    assert await group_committed(_kafka(broker), group, [(topic, 0), (topic, 1)]) == {
        (topic, 0): 3}


async def _create_two_partition_topic(broker: EmbeddedBroker, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1)])
    finally:
        await admin.close()


def _kafka(broker: EmbeddedBroker) -> KafkaSettings:
    return Settings().kafka.model_copy(update={"bootstrap_servers": broker.bootstrap_servers})
