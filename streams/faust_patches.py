"""Every touch of a private Faust or aiokafka attribute, in one place.

Checked against faust-streaming 0.15.3 and aiokafka 0.14.0 (both pinned exactly in
pyproject.toml); ``tests/unit/test_faust_patches.py`` fails when the installed versions
differ or an attribute below is gone, so an upgrade is a decision, re-checked here.

Each patch: what it touches; why (the RELIABILITY.md finding or doc); the test guarding it.

1. :func:`forget_read_positions`: the consumer's ``_read_offset`` remembers nothing.
   Faust's fetch loop dropped re-read records after a seek (finding 6, and "Faust
   commits over records its consumer skipped"). ``test_scale_out.py``,
   ``test_crash_recovery.py``.
2. :func:`set_fetch_wait`: the worker client's ``_fetch_max_wait_ms``. Faust fixes it
   at 1,500 ms and the embedded broker then answers late (``docs/performance.md``).
   ``test_worker_consumer.py``.
3. :func:`read_ends_at_last_record`: the consumer thread's ``_highwaters``. The
   embedded broker reports a partition's end a record batch short, so tables were
   restored short (finding 10). ``test_table_restore.py``.
4. :func:`seek_in_consumer_thread`: ``_thread.call_thread`` and
   ``_ensure_consumer().seek``. ``consumer.seek`` from the loop's thread crashed
   aiokafka's fetcher (finding 7). ``test_scale_out.py``.
5. :func:`commit_offsets`: the consumer's ``_commit``. The agents commit their own
   offsets; Faust's commits passed records its consumer skipped (same finding as 1).
   ``test_offsets.py``, ``test_scale_out.py``.
6. :func:`buffered_table_writes_delivered`: ``producer.buffer.pending._queue``. The
   buffer's ``flush()`` gives up after 0.1 s, so a commit could pass changelog
   records still buffered (finding 8). ``test_table_restore.py``.
7. :func:`kafka_producer`: the producer's ``_ensure_producer()``. The outbox sends
   record batches straight to aiokafka, past Faust's per-record path
   (``streams/outbox.py``). ``test_outbox.py``.
8. :func:`point_stream_at`, :func:`current_event_kept`: a stream's
   ``_set_current_event``. Table writes are filed under the current event's
   partition, and ``noack_take`` may hold the next one. ``test_surge_stream.py``.
9. :func:`wrap_getmany`: the consumer's ``getmany`` replaced. The raw topics' records
   are taken out of the fetch loop, past Faust's per-record path
   (``streams/rawfeed.py``). ``test_rawfeed.py``, ``test_pipeline_e2e.py``.

Not private but worked around, for the record: every consumed topic is declared with
``acks=False`` (``streams/topics.py``: Faust never commits them); the producer buffer's
``max_messages`` is raised (``streams/app.py``); the compact dedup store is registered
under ``stores.STORES`` (``streams/tables.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import faust
from aiokafka import AIOKafkaProducer, TopicPartition
from faust.types import TP, EventT, Message

FAUST_VERSION = "0.15.3"
AIOKAFKA_VERSION = "0.14.0"

GetMany = Callable[[float], AsyncIterator[tuple[Any, Message]]]


class _NoReadPositions(dict[Any, Any]):
    """A read-position memory that remembers nothing: Faust's fetch loop drops no record."""

    def __getitem__(self, key: Any) -> None:
        return None

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def forget_read_positions(app: faust.App) -> None:
    """The agents decide which records are new (``streams/offsets.py``); Faust's own
    filter drops a fetched record below the last position it delivered, and a delivery
    still in flight resets that position after a seek."""
    cast(Any, app.consumer)._read_offset = _NoReadPositions()


def set_fetch_wait(app: faust.App, wait_ms: int) -> None:
    """The worker consumer's fetch wait, which Faust fixes when it creates the client
    (in the consumer's thread, at start)."""
    thread = cast(Any, app.consumer)._thread
    create = thread._create_worker_consumer

    def create_worker_consumer(transport: Any) -> Any:
        client = create(transport)
        client._fetch_max_wait_ms = wait_ms
        return client

    thread._create_worker_consumer = create_worker_consumer


def read_ends_at_last_record(
    app: faust.App,
    ends: Callable[[dict[TopicPartition, int]], Any],
) -> None:
    """Every end offset the consumer reads (table recovery, lag readings) corrected by
    ``ends`` (an awaitable of the corrected ends) from what the broker reported."""
    thread = cast(Any, app.consumer)._thread
    reported = thread._highwaters

    async def highwaters(partitions: list[Any]) -> dict[Any, int]:
        found: Mapping[TopicPartition, int] = await ends(
            {TopicPartition(tp.topic, tp.partition): end
             for tp, end in (await reported(partitions)).items()})
        return {TP(tp.topic, tp.partition): end for tp, end in found.items()}

    thread._highwaters = highwaters


async def seek_in_consumer_thread(app: faust.App, partition: TP, offset: int) -> None:
    """Seek in the consumer's own thread: ``app.consumer.seek`` moves the client from
    the loop's thread while the consumer's thread may be fetching."""
    client = cast(Any, app.consumer)._thread
    await client.call_thread(client._ensure_consumer().seek, partition, offset)


async def commit_offsets(app: faust.App, offsets: Mapping[TP, int]) -> bool:
    """The transport's commit, the one Faust's own bookkeeping ends in; it skips
    partitions no longer assigned."""
    return bool(await cast(Any, app.consumer)._commit(offsets))


async def buffered_table_writes_delivered(app: faust.App) -> None:
    """Every table write waiting in Faust's producer buffer, delivered: the buffer's
    ``flush()`` gives up after 0.1 s without progress."""
    producer = app.producer
    await asyncio.gather(*list(cast(Any, producer.buffer.pending)._queue))
    await producer.flush()  # and what the buffer already handed to the client


def kafka_producer(app: faust.App) -> AIOKafkaProducer:
    """The aiokafka producer under Faust's (started with the app)."""
    return cast(AIOKafkaProducer, cast(Any, app.producer)._ensure_producer())


def point_stream_at(stream: faust.Stream[Any], event: EventT[Any]) -> None:
    """Make ``event`` the stream's current event (table writes go under its partition)."""
    stream._set_current_event(event)


@contextmanager
def current_event_kept(stream: faust.Stream[Any]) -> Iterator[None]:
    """Restore the stream's current event after pointing it elsewhere:
    ``noack_take``'s background reader may be parked right after setting it to the
    *next* record, and reads it back once the batch is done (left pointing at an old
    record, that next record would be lost and the old one buffered twice). The block
    must not await."""
    current = stream.current_event
    try:
        yield
    finally:
        stream._set_current_event(current)


def wrap_getmany(app: faust.App, wrap: Callable[[GetMany], GetMany]) -> None:
    """Replace the consumer's ``getmany`` by ``wrap(getmany)``, before the worker
    starts (its fetch loop binds the method when it starts)."""
    consumer = cast(Any, app.consumer)
    consumer.getmany = wrap(consumer.getmany)
