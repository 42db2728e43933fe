"""The one batch loop every agent runs, and the order in which a batch completes.

A handler computes a batch and hands its output records to the producer; what is left
(:class:`Completion`: the deliveries to confirm, the rows to store, the counts) is
completed in the background while the next batches are computed, in this order:

1. **store** the rows in ClickHouse (the writer retries until they are stored; rows it
   refuses become dead letters, handed to the producer);
2. **confirm**: the broker has every output record of the batch;
3. **in order**: the batch before has completed (if it failed, so does this one);
4. **acknowledge** the records to Faust (a rebalance waits for it; it commits nothing);
5. **commit** the offsets the batch's admission reached;
6. **count** the batch in the metrics.

A batch that fails, computing or completing, commits nothing, nor does any batch after
it: after a pause they are all read again from the last commit (the rows they stored
are stored again, absorbed as redeliveries are), without a restart. Up to
``in_flight`` records complete at once, so computing never waits for ClickHouse and
the writer merges their inserts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from base.metrics import Metrics
from sinks.clickhouse import Rows
from streams.offsets import Admission, OffsetTracker, Partition

log = logging.getLogger(__name__)

# Pause before a failed batch is read again: doubled at each failure in a row, up to
# the second figure (a fault that lasts, say a broker away, is not hammered).
RETRY_PAUSE_S = (1.0, 30.0)


@dataclass
class ToStore:
    """Rows for ClickHouse under an insert deduplication token. ``sources`` names each
    row's source record, for the dead letter of a row ClickHouse refuses; a refused
    dead-letter row is only logged (sending it back to the dead-letter topic would loop)."""

    rows: Rows
    token: str | None
    sources: Sequence[tuple[str, int, int]] | None = None
    refused_to_dead_letters: bool = True


@dataclass
class Completion:
    """What is left of a computed batch: deliveries to confirm, rows to store, counts."""

    sent: list[Awaitable[Any]] = field(default_factory=list)
    rows: list[ToStore] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class Positions(Protocol):
    """The offsets side of an agent (:class:`streams.committer.Committer`)."""

    name: str
    tracker: OffsetTracker

    async def admit(self, events: Sequence[Any]) -> Admission: ...

    async def commit(self, admission: Admission) -> None: ...

    async def rewind(self, partitions: set[Partition]) -> None: ...


Store = Callable[[ToStore], Awaitable[list[Awaitable[Any]]]]
Handler = Callable[[Sequence[Any]], Awaitable[Completion]]


class _EarlierBatchFailed(Exception):
    """A completion given up because an earlier batch failed (it is read again too)."""


@dataclass
class _InFlight:
    """A batch being completed: its task, size, source partitions and the tracker
    generation it was admitted in."""

    task: asyncio.Task[None]
    records: int
    partitions: set[Partition]
    generation: int


def _partitions(events: Sequence[Any]) -> set[Partition]:
    return {(e.message.topic, e.message.partition) for e in events}


class BatchLoop:
    """Runs ``handle`` on each batch and completes it (steps above) in the background."""

    def __init__(self, positions: Positions, handle: Handler, store: Store,
                 ack: Callable[[Any], Awaitable[Any]], metrics: Metrics, in_flight: int,
                 on_failure: Callable[[], None] = lambda: None) -> None:
        self.positions, self.handle, self.store, self.ack = positions, handle, store, ack
        self.metrics, self.most, self.on_failure = metrics, in_flight, on_failure
        self.name = positions.name
        self._in_flight: deque[_InFlight] = deque()
        self._recovering: asyncio.Task[None] | None = None
        self._failed_in_a_row = 0

    async def run(self, batches: AsyncIterator[Sequence[Any]]) -> None:
        try:
            async for events in batches:
                if self._recovering is not None:  # nothing admitted before it is read again
                    await self._recovering
                    self._recovering = None
                self.metrics.batch_size.labels(self.name).observe(len(events))
                try:
                    admission = await self.positions.admit(events)
                    kept = [events[i] for i in admission.kept]
                    work = await self.handle(kept) if kept else Completion()
                except Exception as exc:
                    self._begin_recovery(exc, events)
                    continue
                await self._room()
                self._schedule(events, work, admission)
            if self._in_flight:
                await asyncio.wait([self._in_flight[-1].task])
        finally:
            # Unacknowledged batches are redelivered after the restart.
            for batch in self._in_flight:
                if not batch.task.done():
                    batch.task.cancel()
            if self._recovering is not None:
                self._recovering.cancel()

    async def _room(self) -> None:
        """Wait until fewer than ``in_flight`` records are completing."""
        while self._in_flight and (sum(b.records for b in self._in_flight) >= self.most
                                   or self._in_flight[0].task.done()):
            await asyncio.wait([self._in_flight[0].task])  # bounded: the oldest is done
            self._in_flight.popleft()

    def _schedule(self, events: Sequence[Any], work: Completion, admission: Admission) -> None:
        # In order after the previous batch, unless that one was admitted before a
        # failure: this one's positions were read from the commit since, and it must
        # not be given up with it (the tracker moved past its records).
        previous = self._in_flight[-1] if self._in_flight else None
        after = previous.task if previous and previous.generation == admission.generation \
            else None
        task = asyncio.ensure_future(self._complete(events, work, admission, after))
        task.add_done_callback(self._on_done)
        self._in_flight.append(_InFlight(task, len(events), _partitions(events),
                                         admission.generation))

    async def _complete(self, events: Sequence[Any], work: Completion, admission: Admission,
                        previous: asyncio.Task[None] | None) -> None:
        try:
            # 1. Store.
            sent = list(work.sent)
            for deliveries in await asyncio.gather(*(self.store(s) for s in work.rows)):
                sent += deliveries
            # 2. Confirm.
            await asyncio.gather(*sent)
            # 3. In order.
            if previous is not None:
                await asyncio.wait([previous])
                if _failed(previous):
                    raise _EarlierBatchFailed
        except Exception:
            await self._release(events)  # not committed: they are read again
            raise
        # 4. Acknowledge.
        await self._release(events)
        # 5. Commit (nothing once a failure reset the tracker).
        await self.positions.commit(admission)
        # 6. Count.
        for stage, count in work.counts.items():
            self.metrics.count(stage, count)
        self._failed_in_a_row = 0

    async def _release(self, events: Sequence[Any]) -> None:
        for event in events:
            await self.ack(event)

    def _on_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None \
                and not isinstance(exc, _EarlierBatchFailed):
            self._begin_recovery(exc, ())

    def _begin_recovery(self, exc: BaseException, events: Sequence[Any]) -> None:
        self.positions.tracker.reset()  # at once: no batch admitted so far may commit
        self.metrics.batch_failures.labels(self.name).inc()
        log.error("agent %s: a batch failed; it is read again from the last commit",
                  self.name, exc_info=exc)
        if self._recovering is None or self._recovering.done():
            self._recovering = asyncio.ensure_future(self._recover(events))

    async def _recover(self, events: Sequence[Any]) -> None:
        """Let every batch in flight end (none commits now), then read their partitions
        again from the last commit, after a pause."""
        try:
            self.on_failure()
            partitions = _partitions(events)
            await self._release(events)  # the batch that failed computing, never scheduled
            while running := [b.task for b in self._in_flight if not b.task.done()]:
                await asyncio.wait(running)
            partitions.update(*(b.partitions for b in self._in_flight))
            pause = min(RETRY_PAUSE_S[0] * 2 ** self._failed_in_a_row, RETRY_PAUSE_S[1])
            self._failed_in_a_row += 1
            await asyncio.sleep(pause)
            await self.positions.rewind(partitions)
        except Exception:  # left to the hole checks: records ahead of a position are re-read
            log.exception("agent %s: seeking back after a failed batch failed", self.name)


def _failed(task: asyncio.Task[None]) -> bool:
    return task.cancelled() or task.exception() is not None
