"""`vigie run --events N` as a newcomer runs it: every table filled, an alert among them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from schemas.alerts import Alert, AlertKind, AlertStatus, Polarity
from sinks.clickhouse import EmbeddedClickHouse
from sinks.rows import ALERT_COLUMNS
from vigie.runner import HISTORY_MINUTES, INCIDENT_BRAND

VIGIE = str(Path(sys.executable).parent / "vigie")


def rows_of(ch: EmbeddedClickHouse, sql: str) -> list[dict[str, Any]]:
    result = ch.query(sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def run_vigie(directory: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    run = subprocess.run([VIGIE, "run", "--events", "1000"], cwd=directory,
                         capture_output=True, text=True, timeout=180,
                         env={**env, "COLUMNS": "160"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "done" in run.stdout
    return run.stdout


def identities(directory: Path) -> dict[str, Any]:
    """Distinct event and event-task ids, and event rows after merges."""
    ch = EmbeddedClickHouse(directory / ".vigie" / "clickhouse", "vigie")
    try:
        [found] = rows_of(
            ch, "SELECT (SELECT uniqExact(event_id) FROM events) AS event_ids, "
                "(SELECT count() FROM events FINAL) AS merged_rows, "
                "(SELECT uniqExact(task_id) FROM tasks "
                " WHERE event_id IN (SELECT event_id FROM events)) AS event_task_ids")
    finally:
        ch.close()
    return found


def alert_of(row: dict[str, Any]) -> Alert:
    """The alert message an ``alerts`` row was stored from (nulls are stored as '')."""
    message = {k: v for k, v in row.items() if k != "stored_at"}
    for key in ("brand", "polarity", "origin_event_id"):
        message[key] = message[key] or None
    return Alert.model_validate(message)


def test_a_small_run_fills_every_table_and_the_detector_fires_on_the_incident(
    tmp_path: Path,
) -> None:
    output = run_vigie(tmp_path)

    ch = EmbeddedClickHouse(tmp_path / ".vigie" / "clickhouse", "vigie")
    try:
        counts = {r["name"]: r["total_rows"] for r in rows_of(
            ch, "SELECT name, total_rows FROM system.tables "
                "WHERE database = currentDatabase() AND total_rows IS NOT NULL")}
        alerts = [alert_of(r) for r in rows_of(
            ch, f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts ORDER BY sequence")]
        [history] = rows_of(
            ch, "SELECT count() AS n, min(created_at) AS first, max(processed_at) AS done, "
                "groupUniqArray(platform) AS platforms, groupUniqArray(brand) AS brands "
                "FROM events WHERE event_id LIKE 'x:hist%'")
        [live] = rows_of(
            ch, "SELECT min(created_at) AS first, min(processed_at) AS begun FROM events "
                "WHERE event_id NOT LIKE 'x:hist%'")
    finally:
        ch.close()

    assert {"events", "dead_letters", "tasks", "task_status", "alerts", "events_per_minute"} \
        <= counts.keys()
    assert all(counts.values()), counts
    # The strike opens a negative spike on its brand. At some hours the texts drawn also
    # open a small positive one beside it: angry posts the classifier labels positive
    # (docs/classification.md, "Known errors"); both open at sequence 1, in either order.
    opened = [(a.brand, a.polarity) for a in alerts
              if a.kind is AlertKind.SPIKE and a.status is AlertStatus.OPEN]
    assert (INCIDENT_BRAND, Polarity.NEGATIVE) in opened, opened
    assert int(history["n"]) > 0
    assert history["platforms"] == ["x"]
    assert history["brands"] == [INCIDENT_BRAND]
    # Yesterday's last minutes of the hour whose second half the live part starts.
    since = (datetime.fromisoformat(history["first"]) + timedelta(days=1)
             - datetime.fromisoformat(live["first"]))
    assert timedelta(minutes=29 - HISTORY_MINUTES) <= since < timedelta(minutes=30)
    # Processed before the live part was sent.
    assert datetime.fromisoformat(history["done"]) < datetime.fromisoformat(live["begun"])
    # It ends with what the person on duty needs: the alert explained, the most urgent
    # tasks, and where the console was.
    ending = output[output.index("done:"):]
    # The origin is the earliest high-reach post labelled negative: the scripted 250,000-
    # follower post is one of several texts drawn at random, one of which the classifier
    # labels positive (docs/classification.md, "Known errors"), so which post is named
    # depends on the draw; that one is named is what the run must show.
    for line in ("alert: spike on Aurore Air — negative", "per minute", "top terms vs baseline",
                 "origin: x @", " followers) ", "platforms: x", "polarity mix: negative",
                 "lifecycle: open", "crisis task: crisis_response → crisis",
                 "the 5 most urgent open tasks"):
        assert line in ending, line
    assert ending.rstrip().splitlines()[-1].startswith("console: http://127.0.0.1:")


def test_running_the_same_input_again_adds_no_event_and_no_task(tmp_path: Path) -> None:
    run_vigie(tmp_path)
    first = identities(tmp_path)
    run_vigie(tmp_path)  # the same seed: the same deliveries, into the same ClickHouse
    assert first["event_ids"] > 1000
    assert identities(tmp_path) == first
