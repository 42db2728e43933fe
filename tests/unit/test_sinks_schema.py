"""Migrations, retention and row builders on the real embedded engine (chdb)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from base.settings import ClickHouseSettings
from schemas.alerts import Alert, AlertKind, AlertStatus, Polarity, Severity, TermExcess
from schemas.alerts import TrajectoryPoint as Point
from schemas.events import Author, ClassifiedEvent, Intent, Kind, Platform, Risk, Sentiment
from schemas.tasks import TaskStatus, TaskStatusValue
from sinks.clickhouse import EmbeddedClickHouse, scalar
from sinks.migrate import (
    TTL_COLUMNS,
    apply_retention,
    current_ttls,
    discover,
    migrate,
    retention_of,
    ttl_statement,
)
from sinks.rows import alert_rows, event_rows, task_status_rows

T0 = datetime(2026, 11, 3, 10, 6, tzinfo=UTC)
TABLES = {"events", "dead_letters", "tasks", "alerts", "task_status", "events_per_minute"}
VIEWS = {"alerts_latest", "task_outcomes", "events_per_minute_mv"}


@pytest.fixture
def ch(clickhouse_dir: Path) -> Iterator[EmbeddedClickHouse]:
    db = EmbeddedClickHouse(clickhouse_dir, "vigie")
    migrate(db)
    yield db
    db.close()


def rows_of(ch: EmbeddedClickHouse, sql: str) -> list[dict[str, Any]]:
    result = ch.query(sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_migrations_create_every_table_and_view_once(ch: EmbeddedClickHouse) -> None:
    names = {r["name"] for r in rows_of(
        ch, "SELECT name FROM system.tables WHERE database = currentDatabase()")}

    assert names >= TABLES | VIEWS
    assert migrate(ch) == []
    assert scalar(ch, "SELECT count() FROM schema_migrations FINAL") == len(discover())


def test_retention_from_settings_becomes_a_ttl_on_each_table_and_is_applied_only_on_change(
    ch: EmbeddedClickHouse,
) -> None:
    settings = ClickHouseSettings(retention_days=30, rollup_retention_days=400)

    first = apply_retention(ch, retention_of(settings))
    again = apply_retention(ch, retention_of(settings))

    assert len(first) == len(TTL_COLUMNS)
    assert again == []
    ttls = current_ttls(ch)
    assert {t: ttls[t] for t in TTL_COLUMNS} == {
        "events": 30, "tasks": 30, "task_status": 30, "dead_letters": 30,
        "alerts": 400, "events_per_minute": 400}


def test_unsetting_retention_removes_the_ttl(ch: EmbeddedClickHouse) -> None:
    apply_retention(ch, {"events": 7})

    apply_retention(ch, retention_of(ClickHouseSettings()))

    assert current_ttls(ch)["events"] is None


@pytest.mark.parametrize("days", [0, -1, 2.5, "30; DROP TABLE events", True])
def test_a_ttl_is_built_only_from_a_positive_integer(days: Any) -> None:
    with pytest.raises(ValueError, match="positive number of days"):
        ttl_statement("events", days)


def alert(status: AlertStatus, sequence: int, at: datetime, count: int) -> Alert:
    return Alert(
        alert_id="spike-aurore_air-negative-20261103T1006", kind=AlertKind.SPIKE,
        status=status, brand="aurore_air", platforms=[Platform.X, Platform.TIKTOK],
        polarity=Polarity.NEGATIVE, window_start=T0, detected_at=at,
        severity=Severity.CRITICAL if count > 100 else Severity.MEDIUM, count=count,
        baseline=3.06, score=9.8, top_terms=["nice", "#annulation"],
        sample_event_ids=["x:origin"], origin_event_id="x:origin", sequence=sequence,
        summary="negative surge", trajectory=[Point(minute=T0, count=21, baseline=3.06)],
        polarity_mix={"negative": 21}, term_excess=[TermExcess(term="nice", count=8,
                                                               expected=0.0)],
        platform_counts={"x": 13, "tiktok": 3},
    )


def test_every_alert_message_is_a_row_and_the_latest_state_ignores_redeliveries(
    ch: EmbeddedClickHouse,
) -> None:
    messages = [alert(AlertStatus.OPEN, 0, T0 + timedelta(minutes=1), 21),
                alert(AlertStatus.UPDATE, 1, T0 + timedelta(minutes=9), 303),
                alert(AlertStatus.RESOLVED, 2, T0 + timedelta(hours=2), 280)]
    ch.insert(alert_rows(messages, T0))
    ch.insert(alert_rows(messages[1:], T0 + timedelta(seconds=5)))  # redelivered

    [latest] = rows_of(ch, "SELECT * FROM alerts_latest")
    stored = rows_of(ch, "SELECT trajectory, polarity_mix, term_excess FROM alerts FINAL "
                         "WHERE sequence = 0")

    assert (latest["status"], latest["messages"], latest["peak_count"], latest["count"]) == (
        "resolved", 2 + 1, 303, 280)
    assert latest["opened_at"].startswith("2026-11-03 10:07:00")
    assert latest["resolved_at"].startswith("2026-11-03 12:06:00")
    assert stored[0]["polarity_mix"] == {"negative": 21}
    assert stored[0]["term_excess"] == [{"term": "nice", "count": 8, "expected": 0}]


def test_task_status_rows_give_each_task_its_outcome_against_its_sla(
    ch: EmbeddedClickHouse,
) -> None:
    ch.command("INSERT INTO tasks (task_id, queue, priority, platform, created_at, due_by, "
               "published_at) VALUES ('t1', 'support', 'high', 'x', '2026-11-03 10:00:00', "
               "'2026-11-03 11:00:00', now()), ('t2', 'sales', 'normal', 'x', "
               "'2026-11-03 10:00:00', '2026-11-03 10:30:00', now()), ('t3', 'support', "
               "'low', 'x', '2026-11-03 10:00:00', '2026-11-03 12:00:00', now())")
    statuses = [
        TaskStatus(task_id="t1", status=TaskStatusValue.ACKNOWLEDGED, at=T0, by="ana"),
        TaskStatus(task_id="t1", status=TaskStatusValue.DONE, at=T0 + timedelta(minutes=20)),
        TaskStatus(task_id="t2", status=TaskStatusValue.DONE, at=T0 + timedelta(hours=1),
                   note="late"),
    ]
    ch.insert(task_status_rows(statuses, T0))
    ch.insert(task_status_rows(statuses, T0))  # redelivered

    outcomes = {r["task_id"]: r for r in rows_of(ch, "SELECT * FROM task_outcomes")}

    assert {t: (o["state"], o["done_within_sla"], o["sla_breached"])
            for t, o in outcomes.items()} == {
        "t1": ("done", True, False), "t2": ("done", False, True), "t3": ("open", False, True)}
    assert outcomes["t1"]["seconds_to_done"] == 26 * 60


def classified(i: int, sentiment: Sentiment, risks: list[Risk]) -> ClassifiedEvent:
    return ClassifiedEvent(
        event_id=f"x:{i}", platform=Platform.X, kind=Kind.MENTION, brand="aurore_air",
        author=Author(id=f"a{i % 3}"), text="...", created_at=T0 + timedelta(seconds=i),
        sentiment=sentiment, intent=Intent.COMPLAINT, risks=risks, direct=i % 2 == 0,
    )


def test_the_per_minute_rollup_counts_a_redelivered_event_once(
    ch: EmbeddedClickHouse,
) -> None:
    batch = [(classified(i, Sentiment.NEGATIVE, [Risk.SPAM] if i < 2 else []), "raw.x", 0, i)
             for i in range(10)]
    ch.insert(event_rows(batch, T0), "events:a")
    ch.insert(event_rows(batch[5:], T0), "events:b")  # redelivered in another batch
    ch.insert(event_rows(batch, T0), "events:a")  # the same insert retried

    [row] = rows_of(ch, "SELECT uniqMerge(events) AS events, uniqMerge(authors) AS authors, "
                        "uniqIfMerge(direct) AS direct, uniqIfMerge(flagged) AS flagged "
                        "FROM events_per_minute GROUP BY minute, sentiment, intent")

    assert row == {"events": 10, "authors": 3, "direct": 5, "flagged": 2}
    assert scalar(ch, "SELECT count() FROM events") == 15
