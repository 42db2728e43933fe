"""The raw topics' records, handed to the processing agent in batches, past Faust's
per-record path.

Faust delivers each record through its fetch loop, conductor, stream queue and take
buffer: a fifth of a worker's main thread. And while the worker computes a batch that
path barely moves, so records reached their batch already old (figures in
``docs/performance.md``, round 5). The raw topics stay subscribed through Faust
(group membership, table partitions and their recovery are unchanged), but
:meth:`RawFeed.install` takes their records out of the consumer's fetch loop as they
are fetched. They are tracked like any record Faust delivers, so a rebalance still
waits until the batches in flight are acknowledged, and the feed is emptied with the
streams' queues when partitions are revoked (records left in it are read again).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import faust
from faust.types import EventT, Message

from streams.faust_patches import GetMany, wrap_getmany

# Records taken from a fetch between two turns of the event loop: Faust makes each a
# message as it goes, and a backlog's fetch brings thousands at once.
YIELD_EVERY = 500


class RawFeed:
    """Records of ``topics``, buffered as they are fetched and handed out in batches of
    up to ``size``, each at most ``within`` seconds after its first record arrived.

    The buffer holds two batches at most: a full feed holds the fetch loop, as a full
    stream queue does in Faust.
    """

    def __init__(self, topics: set[str], size: int, within: float) -> None:
        self.topics, self.size, self.within = topics, size, within
        self._buffer: list[Message] = []
        self._opened_at = 0.0  # loop time the oldest record in the buffer arrived
        self._arrived, self._full, self._room = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._room.set()

    def install(self, app: faust.App) -> None:
        """Take the records of the feed's topics out of ``app``'s fetch loop (before
        the worker starts)."""
        consumer = cast(Any, app.consumer)

        def taking_raw_records(fetched: GetMany) -> GetMany:
            async def getmany(timeout: float) -> AsyncIterator[tuple[Any, Message]]:  # noqa: ASYNC109 (Faust's name)
                generation, taken = app.consumer_generation_id, 0
                async for tp, message in fetched(timeout):
                    if tp.topic not in self.topics:
                        yield tp, message
                    elif await self._room_for(consumer, app, generation):
                        consumer.track_message(message)  # a rebalance waits for its ack
                        self._add(message)
                        taken += 1
                        if taken % YIELD_EVERY == 0:  # a fetch can hold thousands of records
                            await asyncio.sleep(0)
            return getmany

        wrap_getmany(app, taking_raw_records)
        app.flow_control.manage_queue(cast(Any, self))  # cleared with the streams' queues

    async def _room_for(self, consumer: Any, app: faust.App, generation: int) -> bool:
        """Wait for room; False when a rebalance began meanwhile (the record is
        dropped: it was not committed, so it is read again)."""
        while len(self._buffer) >= 2 * self.size:
            self._room.clear()
            await self._room.wait()
        return bool(consumer.flow_active) and app.consumer_generation_id == generation

    def _add(self, message: Message) -> None:
        if not self._buffer:
            self._opened_at = asyncio.get_running_loop().time()
            self._arrived.set()
        self._buffer.append(message)
        if len(self._buffer) >= self.size:
            self._full.set()

    def clear(self) -> None:
        """Partitions are being revoked: forget the records not yet handed out."""
        self._buffer.clear()
        self._full.clear()
        self._room.set()

    async def batches(self, app: faust.App) -> AsyncIterator[list[EventT[Any]]]:
        """The batches, as events (what the agents' handlers take), unacknowledged."""
        loop = asyncio.get_running_loop()
        while True:
            if not self._buffer:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            left = self._opened_at + self.within - loop.time()
            if left > 0 and not self._full.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), left)
                continue
            taken, self._buffer[: self.size] = self._buffer[: self.size], []
            if self._buffer:  # they arrived earlier: counting from now delays them by
                self._opened_at = loop.time()  # one window at most
            if len(self._buffer) < self.size:
                self._full.clear()
            self._room.set()
            yield [app.create_event(m.key, m.value, m.headers, m) for m in taken]
