"""The worker's HTTP endpoints against a real broker and the real ClickHouse engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson

from base.settings import Settings
from core.brands import BrandDirectory
from lab.simulator import Simulator
from sinks.clickhouse import Rows
from tests.support.publish import publish
from tests.support.worker import eventually, running_worker


async def get(url: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


async def test_endpoints_report_health_readiness_metrics_and_status_of_a_busy_worker(
    settings: Settings,
) -> None:
    messages = list(Simulator(BrandDirectory.load(), seed=3, invalid_share=0.02).messages(600))
    valid = len({e.event_id for m in messages for e in m.expected})
    base = f"http://{settings.web_host}:{settings.web_port}"
    async with running_worker(settings) as services:
        status, _, body = await get(f"{base}/health")
        assert status == 200
        assert orjson.loads(body) == {"alive": True}
        await publish(settings, messages)

        async def stored() -> bool:
            rows = await services.writer.query("SELECT uniqExact(event_id) FROM events")
            return int(rows.rows[0][0]) >= valid

        await eventually(stored, within=90, what="events stored")

        async def ready() -> bool:
            return (await get(f"{base}/ready"))[0] == 200

        await eventually(ready, within=30, what="/ready once caught up")

        status, content_type, body = await get(f"{base}/metrics")
        exposition = body.decode()
        assert status == 200
        assert content_type.startswith("text/plain")
        assert f'vigie_events_total{{stage="raw"}} {float(len(messages))}' in exposition
        assert 'vigie_consumer_lag{partition="0",topic="' in exposition
        assert "vigie_clickhouse_insert_seconds_count" in exposition
        assert "vigie_batch_size_bucket" in exposition
        assert "vigie_ready 1.0" in exposition

        snapshot: dict[str, Any] = {}

        async def status_lists_every_partition() -> bool:
            nonlocal snapshot
            snapshot = orjson.loads((await get(f"{base}/status"))[2])
            return snapshot["tasks"] is not None and snapshot["lag_total"] == 0

        await eventually(status_lists_every_partition, within=30, what="/status caught up")

    raw_topics = {t for t in settings.topics.all_raw()}
    owned = {(p["topic"], p["partition"]) for p in snapshot["lag"]}
    assert {(t, p) for t in raw_topics for p in range(settings.topics.partitions)} <= owned
    assert snapshot["stages"]["raw"]["total"] == len(messages)
    assert snapshot["worker"]["ready"] is True
    assert snapshot["tasks"]["open"] == services.metrics.stage_totals()["tasks"]
    assert set(snapshot["insert_latency"]) >= {"events", "tasks"}
    assert snapshot["clickhouse_error"] is None


async def test_status_lists_open_alerts_with_their_trajectory_and_closes_done_tasks(
    settings: Settings,
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    minute = now.replace(second=0, microsecond=0)
    base = f"http://{settings.web_host}:{settings.web_port}"
    async with running_worker(settings) as services:
        writer = services.writer
        alert_columns = ("alert_id", "sequence", "kind", "status", "brand", "platforms",
                         "window_start", "detected_at", "severity", "count", "score",
                         "top_terms", "summary", "trajectory", "stored_at")

        def alert(alert_id: str, sequence: int, status: str, count: int) -> tuple[Any, ...]:
            trajectory = [(minute - timedelta(minutes=2 - i), c, 2.0)
                          for i, c in enumerate((3, 12, count))]
            return (alert_id, sequence, "spike", status, "acme", ["x", "facebook"], minute,
                    now, "high", count, 9.5, ["panne", "remboursement"], "spike on acme",
                    trajectory, now)

        await writer.write(Rows("alerts", alert_columns, [
            alert("open-one", 0, "open", 30), alert("open-one", 1, "update", 41),
            alert("gone", 0, "open", 20), alert("gone", 1, "resolved", 5),
        ]))
        task_columns = ("task_id", "event_id", "queue", "priority", "created_at", "due_by",
                        "published_at")
        await writer.write(Rows("tasks", task_columns, [
            ("t-late", "e1", "support", "high", now, now - timedelta(minutes=5), now),
            ("t-done", "e2", "support", "high", now, now + timedelta(hours=1), now),
            ("t-fresh", "e3", "sales", "normal", now, now + timedelta(hours=1), now),
        ]))
        await writer.write(Rows("task_status", ("task_id", "status", "at", "stored_at"),
                                [("t-done", "done", now, now)]))

        snapshot: dict[str, Any] = {}

        async def visible() -> bool:
            nonlocal snapshot
            snapshot = orjson.loads((await get(f"{base}/status"))[2])
            return bool(snapshot["alerts"]) and snapshot["tasks"] is not None

        await eventually(visible, within=20, what="alerts and tasks in /status")

    assert [a["alert_id"] for a in snapshot["alerts"]] == ["open-one"]
    assert snapshot["alerts"][0]["trajectory"] == [3, 12, 41]
    assert snapshot["alerts"][0]["top_terms"] == ["panne", "remboursement"]
    queues = {(q["queue"], q["priority"]): (q["open"], q["breached"])
              for q in snapshot["tasks"]["queues"]}
    assert queues == {("support", "high"): (1, 1), ("sales", "normal"): (1, 0)}
    assert snapshot["tasks"]["sla_breaches"] == 1
