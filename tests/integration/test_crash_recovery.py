"""`vigie worker` killed with SIGKILL at random moments during a replay: nothing lost,
nothing forwarded twice as a new event, one task id per event, one `open` per alert.

One run per module (the expensive part), several checks on what it left behind.
CI size: 20,000 deliveries, 3 kills. Full size (``--run-slow``): 200,000 deliveries,
5 kills. A chdb directory is opened by one process at a time, so ClickHouse is read
only after the last worker stopped; progress is read from the group's committed
offsets, the outputs from the topics with confluent-kafka, as downstream tools do.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from base.kafka import create_topics
from base.settings import Settings
from core.brands import BrandDirectory
from lab.simulator import RawMessage, Simulator
from schemas.events import Kind
from sinks.clickhouse import EmbeddedClickHouse
from tests.support.faults import Ends, GroupProgress, WorkerProcess, replay, wait_until
from tests.support.kafka_reader import read_to_end
from tests.support.worker import isolated_settings
from vigie.embedded import EmbeddedBroker

SEED = 20261102
# The run happens in the module fixture, inside the first test's time limit: the full
# size (~5 min here) needs more than the suite's default.
pytestmark = pytest.mark.timeout(1800)


def crash_settings(broker: EmbeddedBroker, directory: Path) -> Settings:
    """Isolated settings, the surge feed included (its default name is shared)."""
    unique = uuid.uuid4().hex[:8]
    settings = isolated_settings(broker, directory / "clickhouse", unique)
    return settings.model_copy(update={
        "topics": settings.topics.model_copy(update={"surge": f"{unique}.surge.observations"}),
    })


def topic_ends(bootstrap: str, *topics: str) -> Ends:
    """Next offset of every partition of ``topics``, read to their end."""
    ends: Ends = {}
    for topic in topics:
        for m in read_to_end(bootstrap, topic, timeout=60):
            key = (topic, m.partition())
            ends[key] = max(ends.get(key, 0), m.offset() + 1)
    return ends


def refused_deliveries(messages: list[RawMessage]) -> int:
    """Malformed deliveries, and the simulator's redeliveries of malformed ones."""
    count, previous_broken = 0, False
    for m in messages:
        count += m.malformed or (m.duplicate and previous_broken)
        previous_broken = m.malformed
    return count


def wait_caught_up(worker: WorkerProcess, progress: GroupProgress, within: float) -> None:
    def caught_up() -> bool:
        assert worker.exited() is None, f"worker exited with {worker.exited()}"
        return progress.lag()[1] <= 0

    try:
        wait_until(caught_up, within, "the worker to commit every replayed record", every=0.5)
    except AssertionError as timeout:
        raise AssertionError(f"{timeout}; partitions behind (committed, end): "
                             f"{progress.behind()}; worker log:\n{worker.log_tail()}") from None


@dataclass
class CrashRun:
    """What the replay sent, and what Kafka and ClickHouse hold once the last worker stopped."""

    deliveries: int
    kills: int
    starts: int = 0
    expected: set[str] = field(default_factory=set)
    must_answer: set[str] = field(default_factory=set)
    refused: int = 0
    redelivered: set[str] = field(default_factory=set)
    stored: set[str] = field(default_factory=set)
    unique_ids: int = 0
    final_rows: int = 0
    raw_rows: int = 0
    letters: int = 0
    stored_tasks: int = 0
    tasks: list[dict[str, Any]] = field(default_factory=list)
    classified_before: Counter[str] = field(default_factory=Counter)
    classified_after: Counter[str] = field(default_factory=Counter)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    exit_code: int | None = None

    def task_ids_of(self) -> dict[str, set[str]]:
        ids: dict[str, set[str]] = defaultdict(set)
        for task in self.tasks:
            if task.get("alert_id") is None:
                ids[task["event"]["event_id"]].add(task["task_id"])
        return ids


async def crash_and_recover(broker: EmbeddedBroker, directory: Path, full_size: bool
                            ) -> CrashRun:
    run = CrashRun(*((200_000, 5) if full_size else (20_000, 3)))
    started, rng = time.monotonic(), random.Random(SEED)

    def mark(what: str) -> None:
        run.timeline.append(f"{time.monotonic() - started:6.1f}s {what}")

    settings = crash_settings(broker, directory)
    bootstrap = settings.kafka.bootstrap_servers
    await create_topics(settings)
    messages = list(Simulator(BrandDirectory.load(), seed=SEED, invalid_share=0.02,
                              duplicate_share=0.02).messages(run.deliveries))
    run.expected = {e.event_id for m in messages for e in m.expected}
    run.must_answer = {e.event_id for m in messages for e in m.expected
                       if e.kind in (Kind.DM, Kind.MENTION)}
    run.refused = refused_deliveries(messages)
    cut = run.deliveries * 9 // 10
    ends = await replay(settings, messages[:cut], {})
    mark(f"replayed {cut} deliveries")

    worker = WorkerProcess(settings, directory / "worker.log")
    progress = GroupProgress(bootstrap, settings.kafka.consumer_group, ends)
    try:
        # 1. Kill once while starting (group join, table recovery), then at random
        #    points of the replay, each after a random extra delay within a batch cycle.
        worker.start()
        await asyncio.sleep(rng.uniform(2.0, 8.0))  # the random moment, not a wait
        worker.kill()
        mark("killed while starting")
        for share in sorted(rng.uniform(0.1, 0.9) for _ in range(run.kills - 1)):
            worker.start()
            target = int(share * sum(ends.values()))
            wait_until(lambda t=target: progress.lag()[0] >= t, 300, f"{target} records done")
            await asyncio.sleep(rng.uniform(0.0, 1.5))  # the random moment itself
            worker.kill()
            mark(f"killed after {progress.lag()[0]} committed records")
        # 2. A worker that recovered its tables from their changelogs finishes the replay.
        worker.start()
        wait_caught_up(worker, progress, within=600)
        mark("replay caught up")
        run.classified_before = Counter(orjson.loads(m.value())["event_id"] for m in
                                        read_to_end(bootstrap, settings.topics.classified, 60))
        # 3. Redeliveries of events it forwarded before the restarts, and the rest.
        again = rng.sample([m for m in messages[:cut] if m.valid], len(run.expected) // 50)
        run.redelivered = {m.expected[0].event_id for m in again}
        await replay(settings, [RawMessage(m.platform, m.key, m.value, (), True) for m in again]
                     + messages[cut:], ends)
        wait_caught_up(worker, progress, within=300)
        mark(f"{len(again)} redeliveries and the last {run.deliveries - cut} caught up")
        sinks = GroupProgress(bootstrap, settings.kafka.consumer_group,
                              topic_ends(bootstrap, settings.topics.deadletter,
                                         settings.topics.surge))
        try:
            wait_caught_up(worker, sinks, within=300)
        finally:
            sinks.close()
        mark("dead letters and surge feed caught up")
        run.exit_code = worker.stop()
    finally:
        progress.close()
        worker.stop()
    run.starts = worker.starts

    run.tasks = [orjson.loads(m.value()) for m in read_to_end(bootstrap, settings.topics.tasks,
                                                                60)]
    run.classified_after = Counter(orjson.loads(m.value())["event_id"] for m in
                                   read_to_end(bootstrap, settings.topics.classified, 60))
    run.alerts = [orjson.loads(m.value()) for m in read_to_end(bootstrap, settings.topics.alerts,
                                                                 60)]
    ch = EmbeddedClickHouse(settings.clickhouse.path, settings.clickhouse.database)
    try:
        run.stored = {row[0] for row in ch.query("SELECT DISTINCT event_id FROM events").rows}
        [[run.unique_ids, run.final_rows, run.raw_rows]] = ch.query(
            "SELECT uniqExact(event_id), (SELECT count() FROM events FINAL), count()"
            " FROM events").rows
        [[run.letters]] = ch.query(
            "SELECT uniqExact(source_topic, partition, offset) FROM dead_letters"
            " WHERE stage = 'normalize'").rows
        [[run.stored_tasks]] = ch.query(
            "SELECT uniqExact(task_id) FROM tasks WHERE alert_id = ''").rows
    finally:
        ch.close()
    mark("read back")
    print("\n" + "\n".join(run.timeline))
    print(f"crash recovery: deliveries={run.deliveries} kills={run.kills} "
          f"valid={len(run.expected)} stored={len(run.stored)} raw_rows={run.raw_rows} "
          f"refused={run.refused} dead_letters={run.letters} tasks_on_topic={len(run.tasks)} "
          f"distinct_event_tasks={len(run.task_ids_of())} redelivered={len(run.redelivered)} "
          f"alerts={len(run.alerts)} exit={run.exit_code}")
    return run


@pytest.fixture(scope="module")
async def crashed(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory,
                  full_size: bool) -> CrashRun:
    return await crash_and_recover(broker, tmp_path_factory.mktemp("crash"), full_size)


def test_the_worker_was_killed_and_restarted_as_planned(crashed: CrashRun) -> None:
    assert crashed.starts == crashed.kills + 1


def test_the_worker_exits_cleanly_on_sigterm(crashed: CrashRun) -> None:
    assert crashed.exit_code == 0


def test_clickhouse_holds_exactly_the_distinct_valid_events(crashed: CrashRun) -> None:
    missing, extra = crashed.expected - crashed.stored, crashed.stored - crashed.expected
    assert (len(missing), len(extra)) == (0, 0)
    assert crashed.unique_ids == crashed.final_rows == len(crashed.expected)


def test_every_refused_delivery_is_one_dead_letter(crashed: CrashRun) -> None:
    assert crashed.letters == crashed.refused


def test_every_event_that_needs_an_answer_has_a_task_also_stored(crashed: CrashRun) -> None:
    ids = crashed.task_ids_of()
    assert crashed.must_answer <= ids.keys()
    assert crashed.stored_tasks == len({t for s in ids.values() for t in s})


def test_a_redone_batch_gives_each_event_the_same_task_id(crashed: CrashRun) -> None:
    twice = {e: ids for e, ids in crashed.task_ids_of().items() if len(ids) > 1}
    assert not twice, f"{len(twice)} events got two task ids"


def test_redeliveries_after_restarts_are_not_forwarded_again(crashed: CrashRun) -> None:
    before, after = crashed.classified_before, crashed.classified_after
    assert crashed.redelivered <= before.keys()
    assert [e for e in crashed.redelivered if after[e] != before[e]] == []


def test_no_alert_is_opened_twice(crashed: CrashRun) -> None:
    opens = Counter(a["alert_id"] for a in crashed.alerts if a["status"] == "open")
    assert [a for a, n in opens.items() if n > 1] == []
