"""The batch loop's completion order (store → confirm → in order → acknowledge → commit),
with fakes for ClickHouse, the broker and Kafka's offsets: the faults (a slow store, a
failed store, a late confirmation) are made to order here; the integration tests
(crash recovery, ClickHouse outage, backlog) run the same loop on the real parts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from base.metrics import Metrics
from sinks.clickhouse import Rows
from streams import batches as batch_loop
from streams.batches import BatchLoop, Completion, ToStore
from streams.offsets import Admission, OffsetTracker, Partition

TOPIC = "raw.x"


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Event:
    message: Message


def batch(first: int, size: int, partition: int = 0) -> list[Event]:
    return [Event(Message(TOPIC, partition, o)) for o in range(first, first + size)]


@dataclass
class FakeCommitter:
    """Kafka's side of the offsets, in memory: every partition starts at 0."""

    name: str = "test"
    tracker: OffsetTracker = field(default_factory=OffsetTracker)
    commits: list[dict[Partition, int]] = field(default_factory=list)
    rewound: list[set[Partition]] = field(default_factory=list)

    async def admit(self, events: Sequence[Any]) -> Admission:
        records = [((e.message.topic, e.message.partition), e.message.offset) for e in events]
        if unknown := self.tracker.unknown(p for p, _ in records):
            self.tracker.start(dict.fromkeys(unknown, 0))
        return self.tracker.admit(records)

    async def commit(self, admission: Admission) -> None:
        if offsets := self.tracker.committable(admission):
            self.commits.append(offsets)

    async def rewind(self, partitions: set[Partition]) -> None:
        self.rewound.append(partitions)
        committed = self.commits[-1] if self.commits else {}
        self.tracker.start({p: committed.get(p, 0) for p in partitions})


@dataclass
class FakeSink:
    """ClickHouse and the broker, in memory, with the faults each test asks for."""

    store_delays: dict[int, float] = field(default_factory=dict)  # first offset -> seconds
    store_fails: set[int] = field(default_factory=set)  # first offsets failing once
    stored: list[int] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    async def handle(self, events: Sequence[Event]) -> Completion:
        first = events[0].message.offset
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, confirmed.set_result, None)
        confirmed.add_done_callback(lambda _: self.log.append(f"confirm {first}"))
        return Completion([confirmed], [ToStore(Rows("events", ("offset",), [(first,)]), None)],
                          {"raw": len(events)})

    async def store(self, rows: ToStore) -> list[Awaitable[Any]]:
        first = int(rows.rows.rows[0][0])
        await asyncio.sleep(self.store_delays.get(first, 0.0))
        if first in self.store_fails:
            self.store_fails.discard(first)
            raise ConnectionError(f"store of batch {first} failed")
        self.stored.append(first)
        self.log.append(f"store {first}")
        return []

    async def ack(self, event: Event) -> None:
        if not self.acked or self.acked[-1] != event.message.offset:
            self.acked.append(event.message.offset)


async def feed(batches: list[list[Event]], then: asyncio.Event | None = None
               ) -> AsyncIterator[list[Event]]:
    for b in batches:
        yield b
        await asyncio.sleep(0)
    if then is not None:
        await then.wait()


def loop(committer: FakeCommitter, sink: FakeSink, in_flight: int = 1_000) -> BatchLoop:
    return BatchLoop(committer, sink.handle, sink.store, sink.ack, Metrics(), in_flight)


async def test_batches_commit_in_order_when_a_later_one_is_stored_first() -> None:
    committer, sink = FakeCommitter(), FakeSink(store_delays={0: 0.2})
    await loop(committer, sink).run(feed([batch(0, 10), batch(10, 10)]))
    assert sink.stored == [10, 0]  # the second batch was stored first
    assert committer.commits == [{(TOPIC, 0): 10}, {(TOPIC, 0): 20}]
    assert sink.acked[:10] == list(range(10))  # acknowledged in batch order


async def test_a_batch_is_acknowledged_only_once_stored_and_confirmed() -> None:
    committer, sink = FakeCommitter(), FakeSink()
    acked_when: list[list[str]] = []
    record = sink.ack

    async def ack(event: Event) -> None:
        acked_when.append(list(sink.log))
        await record(event)

    sink.ack = ack  # type: ignore[method-assign]
    await loop(committer, sink).run(feed([batch(0, 3)]))
    assert all({"store 0", "confirm 0"} <= set(seen) for seen in acked_when)
    assert committer.commits == [{(TOPIC, 0): 3}]


async def test_a_failed_store_commits_nothing_after_it_and_its_batches_are_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch_loop, "RETRY_PAUSE_S", (0.01, 0.01))
    committer, sink = FakeCommitter(), FakeSink(store_delays={10: 0.05}, store_fails={10})
    done = asyncio.Event()
    runner = asyncio.ensure_future(loop(committer, sink).run(
        feed([batch(0, 10), batch(10, 10), batch(20, 10)], then=done)))
    for _ in range(200):
        if committer.rewound:
            break
        await asyncio.sleep(0.01)
    assert committer.rewound == [{(TOPIC, 0)}]
    # Batch 20 was stored but follows the failed one: neither may commit.
    assert committer.commits == [{(TOPIC, 0): 10}]
    assert 20 in sink.stored
    done.set()
    await runner
    assert committer.tracker.position((TOPIC, 0)) == 10  # read again from the commit


async def test_a_batch_that_fails_computing_is_read_again_without_stopping_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch_loop, "RETRY_PAUSE_S", (0.01, 0.01))
    committer, sink = FakeCommitter(), FakeSink()
    handle = sink.handle

    async def failing_once(events: Sequence[Event]) -> Completion:
        if events[0].message.offset == 10 and not committer.rewound:
            raise ValueError("a bug met by this batch")
        return await handle(events)

    sink.handle = failing_once  # type: ignore[method-assign]
    # Nothing admitted before the failure commits (batch 0 included): the loop waits for
    # the partition to be read again from its commit, as the consumer then delivers it.
    await loop(committer, sink).run(
        feed([batch(0, 10), batch(10, 10), batch(0, 10), batch(10, 10)]))
    assert committer.rewound == [{(TOPIC, 0)}]
    assert committer.commits == [{(TOPIC, 0): 10}, {(TOPIC, 0): 20}]


async def test_no_more_records_complete_at_once_than_the_bound() -> None:
    committer, sink = FakeCommitter(), FakeSink(store_delays={0: 0.1, 10: 0.1})
    completing: list[int] = []
    store = sink.store

    async def counted(rows: ToStore) -> list[Awaitable[Any]]:
        completing.append(1)
        try:
            assert len(completing) <= 2  # two batches of 10 records: the bound is 20
            return await store(rows)
        finally:
            completing.pop()

    sink.store = counted  # type: ignore[method-assign]
    await loop(committer, sink, in_flight=20).run(
        feed([batch(0, 10), batch(10, 10), batch(20, 10)]))
    assert committer.commits[-1] == {(TOPIC, 0): 30}
