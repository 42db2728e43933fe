"""An agent's offsets on the Kafka side: where newly assigned partitions resume, seeks
back over holes and idle partitions, and commits of what stored batches reached.

The bookkeeping itself is :class:`streams.offsets.OffsetTracker` (pure); Faust's own
commits are switched off (:mod:`streams.offsets` says why).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

import faust
from faust.types import TP, EventT

from base.kafka import group_committed
from streams.faust_patches import (
    buffered_table_writes_delivered,
    commit_offsets,
    seek_in_consumer_thread,
)
from streams.lag import PartitionLag
from streams.offsets import IDLE_REREAD_S, Admission, OffsetTracker, Partition
from streams.services import Services

log = logging.getLogger(__name__)


class Committer:
    """The Kafka side of an :class:`OffsetTracker`: reads where newly assigned partitions
    resume, seeks back over holes, and commits what stored batches reached."""

    def __init__(self, app: faust.App, services: Services, name: str, topics: Iterable[str],
                 faust_tables: bool = False) -> None:
        self.app, self.services, self.name = app, services, name
        self.topics = set(topics)
        self.faust_tables = faust_tables  # writes tables through Faust's producer buffer
        self.tracker = OffsetTracker()
        self._active: dict[Partition, float] = {}  # last time a record of it was admitted

    async def admit(self, events: Sequence[EventT[Any]]) -> Admission:
        records = [((e.message.topic, e.message.partition), e.message.offset) for e in events]
        if unknown := self.tracker.unknown(p for p, _ in records):
            self.tracker.start(await self._committed(unknown))
        admission = self.tracker.admit(records)
        now = time.monotonic()
        self._active.update((partition, now) for partition, _ in records)
        for partition, offset in admission.holes.items():
            if self.tracker.should_seek(partition, offset, now):
                await self._seek_back(partition, offset)
        return admission

    async def reseek_stalled(self) -> None:
        """Seek again the holes that stayed open with no newer record to reveal them."""
        now = time.monotonic()
        for partition, offset in self.tracker.stalled(now).items():
            if self.tracker.should_seek(partition, offset, now):
                await self._seek_back(partition, offset)

    async def reread_idle(self, lags: Sequence[PartitionLag]) -> None:
        """Read again, from its commit, a partition behind its end of which nothing was
        admitted for :data:`IDLE_REREAD_S` while the agent had nothing in flight (a slow
        sink holds batches in flight: that is waiting, not a stall)."""
        now = time.monotonic()
        in_flight = any(self.tracker.position((lag.topic, lag.partition))
                        not in (None, lag.committed) for lag in lags if lag.lag)
        for lag in lags:
            partition = (lag.topic, lag.partition)
            if not lag.lag or in_flight:
                self._active[partition] = now
                continue
            if now - self._active.setdefault(partition, now) >= IDLE_REREAD_S:
                log.warning("agent %s: %s/%d stands at %d, %d records behind its end, with "
                            "nothing read for %.0f s; reading it again from there", self.name,
                            lag.topic, lag.partition, lag.committed, lag.lag, IDLE_REREAD_S)
                self.services.metrics.reread_seeks.labels(self.name).inc()
                self._active[partition] = now
                await self._seek(partition, lag.committed)

    async def _seek_back(self, partition: Partition, offset: int) -> None:
        topic, number = partition
        log.warning("agent %s: the consumer skipped records of %s/%d from offset %d; "
                    "reading them again", self.name, topic, number, offset)
        self.services.metrics.reread_seeks.labels(self.name).inc()
        await self._seek(partition, offset)

    async def _seek(self, partition: Partition, offset: int) -> None:
        await seek_in_consumer_thread(self.app, TP(*partition), offset)

    async def rewind(self, partitions: set[Partition]) -> None:
        """Read ``partitions`` again from the group's last commit (after a failed batch;
        call :meth:`OffsetTracker.reset` first, so nothing admitted before commits)."""
        assigned = {(tp.topic, tp.partition) for tp in self.app.consumer.assignment()}
        if not (owned := partitions & assigned):
            return  # revoked meanwhile: their next owner reads them from the commit
        positions = await self._committed(owned)
        self.tracker.start(positions)
        now = time.monotonic()
        for partition, offset in sorted(positions.items()):
            self.tracker.should_seek(partition, offset, now)  # sought again if it stalls
            await self._seek(partition, offset)

    async def commit(self, admission: Admission) -> None:
        offsets = {TP(t, p): o for (t, p), o in self.tracker.committable(admission).items()}
        if not offsets or self.app.consumer.should_stop:
            return  # the consumer is gone (shutdown): the batch is read again after restart
        if self.faust_tables:
            # Changelog records of the tables written so far are confirmed first, so the
            # offsets that rely on them never get ahead of them (a restart restores them).
            # The raw agent's tables go out in its batches' outboxes, confirmed with them.
            await buffered_table_writes_delivered(self.app)
        try:
            committed = await commit_offsets(self.app, offsets)
        except RuntimeError:  # the consumer's loop closed under us while stopping
            if not self.app.should_stop:
                raise
            return
        if committed:
            self.app.monitor.on_tp_commit(offsets)

    async def _committed(self, partitions: set[Partition]) -> dict[Partition, int]:
        """The group's committed offsets; the log start where nothing was committed yet."""
        positions = await group_committed(self.services.settings.kafka, self.app.conf.id,
                                          partitions)
        if fresh := [TP(t, p) for t, p in partitions if (t, p) not in positions]:
            earliest = await self.app.consumer.earliest_offsets(*fresh)
            positions |= {(tp.topic, tp.partition): int(earliest.get(tp) or 0) for tp in fresh}
        return positions
