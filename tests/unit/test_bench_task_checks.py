"""The soak's task checks on the real embedded engine."""

from __future__ import annotations

from pathlib import Path

from sinks.clickhouse import EmbeddedClickHouse
from sinks.migrate import migrate
from vigie.bench.harness import task_checks
from vigie.bench.setup import BenchConfig


def test_an_events_crisis_task_is_not_a_second_task_of_that_event(clickhouse_dir: Path) -> None:
    ch = EmbeddedClickHouse(clickhouse_dir, "vigie")
    migrate(ch)
    ch.command(
        "INSERT INTO tasks (task_id, event_id, alert_id, created_at, due_by, published_at)"
        " VALUES ('t1', 'x:1', '', now(), now(), now()),"  # its own task
        " ('t2', 'x:1', 'spike-acme-negative-1', now(), now(), now()),"  # its alert's
        " ('t3', 'x:2', '', now(), now(), now()), ('t4', 'x:2', '', now(), now(), now()),"
        " ('t5', 'sla:t3', '', now(), now(), now())")
    ch.close()

    checks = task_checks(BenchConfig(scenario="vigie", bootstrap="", prefix="",
                                     chdb_dir=str(clickhouse_dir)))

    assert checks == {"event_tasks": 2, "events_with_two_task_ids": 1, "sla_escalations": 1}
