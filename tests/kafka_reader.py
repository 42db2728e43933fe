"""Read a topic the way a downstream tool would: with confluent-kafka, independent of vigie."""

from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition


def read_to_end(bootstrap: str, topic: str, timeout: float = 15.0) -> list[Message]:
    """Every record of every partition of ``topic``, read from the start up to its end.

    Partitions are assigned by hand (no group join to wait for); the read ends when
    each partition reported its end, so the result is exact once the producers that
    matter have been acknowledged.
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "vigie-test-reader",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        pending, found = set(partitions), []
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            error = message.error()
            if error is None:
                found.append(message)
            elif error.code() == KafkaError._PARTITION_EOF:
                pending.discard(message.partition())
        if pending:
            raise TimeoutError(f"end of {topic} partitions {sorted(pending)} not reached")
        return found
    finally:
        consumer.close()
