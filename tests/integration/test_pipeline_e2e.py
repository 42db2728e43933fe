"""The walking skeleton end to end: raw payloads through Kafka into ClickHouse and tasks."""

from __future__ import annotations

import orjson
import pytest

from base.settings import Settings
from core.brands import BrandDirectory
from lab.simulator import Simulator
from schemas.deadletter import DeadLetter
from schemas.events import Kind
from schemas.tasks import ResponseTask
from tests.support.kafka_reader import read_to_end
from tests.support.publish import publish
from tests.support.schemas import invalid_records
from tests.support.worker import eventually, running_workers


@pytest.mark.parametrize("workers", [1, 2])
async def test_valid_events_reach_clickhouse_tasks_and_bad_ones_the_dead_letter_topic(
    settings: Settings, workers: int,
) -> None:
    messages = list(Simulator(BrandDirectory.load(), seed=7, invalid_share=0.05).messages(1000))
    expected = {e.event_id: e for m in messages for e in m.expected}
    invalid = [m for m in messages if m.malformed]
    assert invalid, "the sample must hold malformed payloads"
    async with running_workers(settings, workers) as group:
        services = group[0]
        await publish(settings, messages)

        async def stored() -> bool:
            result = await services.writer.query(
                "SELECT (SELECT uniqExact(event_id) FROM events),"
                " (SELECT count() FROM dead_letters)")
            events, letters = result.rows[0]
            return int(events) >= len(expected) and int(letters) >= len(invalid)

        await eventually(stored, within=90, what="events and dead letters in ClickHouse")
        assert all(s.metrics.stage_totals()["raw"] > 0 for s in group), "every worker took part"
        rows = await services.writer.query(
            "SELECT event_id, platform, kind, brand, author_id, text, created_at"
            " FROM events FINAL ORDER BY event_id")

    assert len(rows.rows) == len(expected)
    for event_id, platform, kind, brand, author_id, text, created_at in rows.rows:
        truth = expected[event_id]
        assert (platform, kind, brand, author_id, text) == (
            truth.platform.value, truth.kind.value, truth.brand, truth.author.id, truth.text)
        assert created_at.startswith(truth.created_at.strftime("%Y-%m-%d %H:%M:%S"))

    bootstrap = settings.kafka.bootstrap_servers
    letters = [DeadLetter.model_validate(orjson.loads(m.value()))
               for m in read_to_end(bootstrap, settings.topics.deadletter)]
    # A batch redone after a rebalance publishes its records again (at-least-once):
    # what must hold is one dead letter per bad record and one task id per event.
    by_source = {(d.source_topic, d.partition, d.offset): d for d in letters}
    assert len(by_source) == len(invalid)
    assert all(d.reason and d.stage == "normalize" for d in letters)
    assert sorted(d.payload for d in by_source.values()) == sorted(m.value for m in invalid)

    must_answer = {i for i, e in expected.items() if e.kind in (Kind.DM, Kind.MENTION)}
    records = read_to_end(bootstrap, settings.topics.tasks)
    assert invalid_records("vigie.task.v1", records) == [], "tasks must match schemas/json"
    tasks = [ResponseTask.model_validate_json(m.value()) for m in records]
    assert {t.event["event_id"] for t in tasks} >= must_answer
    assert len({t.task_id for t in tasks}) == len({t.event["event_id"] for t in tasks})
    assert all(m.key() == t.key.encode() for m, t in zip(records, tasks, strict=True))
