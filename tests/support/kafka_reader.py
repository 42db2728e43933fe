"""Read a topic the way a downstream tool would: with confluent-kafka, independent of vigie."""

from __future__ import annotations

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition


def read_to_end(bootstrap: str, topic: str, timeout: float = 15.0) -> list[Message]:
    """Every record of every partition of ``topic``, read from the start up to its end.

    Partitions are assigned by hand (no group join to wait for); the read ends when
    each partition reported its end *and* the read reached the end the broker lists
    for it, so the result is exact once the producers that matter have been
    acknowledged. The end-of-partition event alone was not enough once: in a loaded
    CI run, a test read no record from a topic that held ~190 (its assertions show
    an empty read; end-of-partition events ahead of the records are the likeliest
    cause).
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "vigie-test-reader",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
                for p in partitions}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        pending, found = set(partitions), []
        reached = dict.fromkeys(partitions, 0)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            error, partition = message.error(), message.partition()
            if error is None:
                found.append(message)
                reached[partition] = max(reached[partition], (message.offset() or 0) + 1)
            elif (error.code() == KafkaError._PARTITION_EOF
                  and reached[partition] >= ends[partition]):
                pending.discard(partition)
        if pending:
            raise TimeoutError(f"end of {topic} partitions {sorted(pending)} not reached")
        return found
    finally:
        consumer.close()
