"""Worker HTTP endpoints on the Faust web server: /metrics, /health, /ready and /status.

- ``/metrics``: Prometheus exposition of the worker's own registry; consumer lag is
  recomputed on each scrape (end offsets of the owned source partitions minus the
  committed offsets).
- ``/health``: liveness only. It answers while the event loop turns, and fails
  once the app crashed, so an orchestrator restarts the process.
- ``/ready``: 200 once the consumer is connected, owns at least one source
  partition, is not rebalancing and its lag is at most ``settings.ready_max_lag``;
  503 with the reasons otherwise. A worker that owns no partition (more replicas
  than partitions) is alive but not ready.
- ``/status``: the JSON snapshot ``vigie top`` renders: events/s per stage, lag per
  topic and partition, dead letters, open alerts, task queue depth and SLA
  breaches, ClickHouse insert latency. The ClickHouse part is read through the
  writer's thread, cached for a couple of seconds, and degrades to an ``error``
  field instead of failing the whole snapshot.

Open alerts come from ``services.open_alerts()`` when the app provides such a
callable (a live board kept by the surge stage), else from the ClickHouse view
``alerts_latest`` (with each incident's per-minute trajectory from ``alerts``) when
it exists. Task queues come from the ``task_outcomes`` view (open or acknowledged,
and past ``due_by``) when it exists, else from ``tasks`` alone (all counted open).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.lag import PartitionLag, consumer_lag, source_topics
from streams.services import Services
from streams.timers import periodic

STATUS_SCHEMA = "vigie.status.v1"
CLICKHOUSE_TTL_S = 2.0
CLICKHOUSE_TIMEOUT_S = 5.0
MAX_ALERTS = 20


@dataclass
class RateMeter:
    """Events/s per stage over a sliding window of counter samples."""

    window_s: float = 10.0
    samples: deque[tuple[float, dict[str, float]]] = field(default_factory=deque)

    def sample(self, now: float, totals: dict[str, float]) -> None:
        self.samples.append((now, dict(totals)))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window_s:
            self.samples.popleft()

    def rates(self) -> dict[str, float]:
        if len(self.samples) < 2:
            return {}
        (t0, first), (t1, last) = self.samples[0], self.samples[-1]
        span = t1 - t0
        if span <= 0:
            return {}
        return {stage: max(0.0, (last[stage] - first.get(stage, 0.0)) / span) for stage in last}


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reasons: tuple[str, ...]


def judge_readiness(*, running: bool, rebalancing: bool, lags: list[PartitionLag],
                    max_lag: int) -> Readiness:
    """Why a worker should not receive traffic yet; empty reasons mean ready."""
    reasons = []
    if not running:
        reasons.append("consumer not running")
    if rebalancing:
        reasons.append("rebalancing")
    if running and not rebalancing and not lags:
        reasons.append("no source partition assigned")
    total = sum(p.lag for p in lags)
    if total > max_lag:
        reasons.append(f"lag {total} above {max_lag}")
    return Readiness(not reasons, tuple(reasons))


def _consumer_running(app: faust.App) -> bool:
    if app.crashed:
        return False
    try:
        consumer = app.consumer
        return bool(consumer.started) and not consumer.should_stop
    except Exception:
        return False


class ClickHouseView:
    """The ClickHouse side of ``/status``, cached briefly and never raising."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def snapshot(self) -> dict[str, Any]:
        async with self._lock:
            now = time.monotonic()
            if self._cached and now - self._cached[0] < CLICKHOUSE_TTL_S:
                return self._cached[1]
            try:
                value = await asyncio.wait_for(self._read(), CLICKHOUSE_TIMEOUT_S)
            except Exception as exc:
                value = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            self._cached = (now, value)
            return value

    async def _rows(self, sql: str) -> list[list[Any]]:
        return (await self.services.writer.query(sql)).rows

    async def _read(self) -> dict[str, Any]:
        columns: dict[str, set[str]] = {}
        for table, column in await self._rows(
            "SELECT table, name FROM system.columns WHERE database = currentDatabase()"
            " AND table IN ('alerts', 'alerts_latest', 'tasks', 'task_outcomes',"
            " 'dead_letters')"
        ):
            columns.setdefault(table, set()).add(column)
        out: dict[str, Any] = {"dead_letters_stored": None, "tasks": None, "alerts": None}
        if "dead_letters" in columns:
            out["dead_letters_stored"] = {
                str(stage): int(n) for stage, n in await self._rows(
                    "SELECT stage, count() FROM dead_letters FINAL GROUP BY stage")
            }
        if columns.get("task_outcomes", set()) >= {"queue", "priority", "state",
                                                     "sla_breached"}:
            out["tasks"] = await self._tasks(TASKS_WITH_OUTCOMES, feedback=True)
        elif columns.get("tasks", set()) >= {"queue", "priority", "due_by"}:
            out["tasks"] = await self._tasks(TASKS_WITHOUT_FEEDBACK, feedback=False)
        live_board = callable(getattr(self.services, "open_alerts", None))
        if (not live_board and columns.get("alerts_latest", set()) >= ALERT_COLUMNS
                and "trajectory" in columns.get("alerts", set())):
            out["alerts"] = await self._alerts()
        return out

    async def _tasks(self, sql: str, *, feedback: bool) -> dict[str, Any]:
        queues = [{"queue": q, "priority": p, "open": int(n), "breached": int(b)}
                  for q, p, n, b in await self._rows(sql)]
        return {"queues": queues, "open": sum(q["open"] for q in queues),
                "sla_breaches": sum(q["breached"] for q in queues),
                "status_feedback": feedback}

    async def _alerts(self) -> list[dict[str, Any]]:
        return [
            {"alert_id": a, "status": s, "kind": k, "brand": b or None, "platforms": p,
             "polarity": pol or None, "severity": sev, "count": int(n), "score": score,
             "top_terms": terms, "summary": summary, "opened_at": str(opened),
             "trajectory": [int(c) for c in traj or []]}
            for a, s, k, b, p, pol, sev, n, score, terms, summary, opened, traj
            in await self._rows(OPEN_ALERTS)
        ]


ALERT_COLUMNS = {"alert_id", "status", "kind", "brand", "platforms", "polarity", "severity",
                 "count", "peak_score", "top_terms", "summary", "opened_at"}
OPEN_ALERTS = f"""
SELECT l.alert_id, l.status, l.kind, l.brand, l.platforms, l.polarity, l.severity, l.count,
       l.peak_score, l.top_terms, l.summary, l.opened_at, t.counts
FROM alerts_latest AS l
LEFT JOIN (SELECT alert_id, arrayMap(x -> x.2, argMax(trajectory, sequence)) AS counts
           FROM alerts GROUP BY alert_id) AS t ON t.alert_id = l.alert_id
WHERE l.status != 'resolved'
ORDER BY l.opened_at DESC
LIMIT {MAX_ALERTS}
"""
TASKS_WITH_OUTCOMES = """
SELECT queue, priority, count(), countIf(sla_breached)
FROM task_outcomes WHERE state IN ('open', 'acknowledged')
GROUP BY queue, priority ORDER BY queue, priority
"""
TASKS_WITHOUT_FEEDBACK = """
SELECT queue, priority, count(), countIf(due_by < now64(3))
FROM tasks FINAL GROUP BY queue, priority ORDER BY queue, priority
"""


@dataclass
class WorkerWeb:
    """What the views share: the app, its services and the rate meter."""

    app: faust.App
    services: Services
    meter: RateMeter = field(default_factory=RateMeter)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self.clickhouse = ClickHouseView(self.services)
        self.topics = source_topics(self.app)

    async def lags(self) -> list[PartitionLag]:
        lags = await consumer_lag(self.app, self.services.settings.kafka, self.topics)
        self.services.metrics.set_lag({(p.topic, p.partition): p.lag for p in lags},
                                      {(p.topic, p.partition): (p.end, p.committed) for p in lags})
        return lags

    async def readiness(self, lags: list[PartitionLag] | None = None) -> Readiness:
        if lags is None:
            lags = await self.lags()
        verdict = judge_readiness(
            running=_consumer_running(self.app), rebalancing=bool(self.app.rebalancing),
            lags=lags, max_lag=self.services.settings.ready_max_lag,
        )
        self.services.metrics.ready.set(1 if verdict.ready else 0)
        return verdict

    async def status(self) -> dict[str, Any]:
        lags = await self.lags()
        verdict = await self.readiness(lags)
        totals = self.services.metrics.stage_totals()
        rates = self.meter.rates()
        clickhouse = await self.clickhouse.snapshot()
        open_alerts: Callable[[], Iterable[dict[str, Any]]] | None = getattr(
            self.services, "open_alerts", None)
        alerts = list(open_alerts()) if callable(open_alerts) else clickhouse.get("alerts")
        settings = self.services.settings
        return {
            "schema": STATUS_SCHEMA,
            "worker": {
                "id": f"{socket.gethostname()}:{os.getpid()}",
                "group": settings.kafka.consumer_group,
                "started_at": self.started_at.isoformat(),
                "now": datetime.now(UTC).isoformat(),
                "ready": verdict.ready,
                "reasons": list(verdict.reasons),
            },
            "stages": {s: {"total": totals[s], "rate": rates.get(s, 0.0)} for s in totals},
            "lag": [asdict(p) for p in lags],
            "lag_total": sum(p.lag for p in lags),
            "dead_letters": {"published": totals.get("deadletter", 0.0),
                             "stored": clickhouse.get("dead_letters_stored")},
            "alerts": alerts,
            "tasks": clickhouse.get("tasks"),
            "insert_latency": {t: asdict(s) for t, s in
                               self.services.metrics.insert_latency().items()},
            "clickhouse_error": clickhouse.get("error"),
        }


def _json(view: View, value: Any, status: int = 200) -> Response:
    return view.bytes(orjson.dumps(value), content_type="application/json", status=status)


def register_web(app: faust.App, services: Services) -> WorkerWeb:
    """Add the operational views, the 1 s rate sampler and the loop-lag probe to ``app``."""
    web = WorkerWeb(app, services)

    async def sample_rates() -> None:
        web.meter.sample(time.monotonic(), services.metrics.stage_totals())

    async def metrics(view: View, request: Request) -> Response:
        """Prometheus exposition; lag and readiness refreshed first."""
        await web.readiness()
        return view.bytes(generate_latest(services.metrics.registry),
                          headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health(view: View, request: Request) -> Response:
        """Liveness: the loop answers and the app has not crashed."""
        crashed = bool(app.crashed)
        return _json(view, {"alive": not crashed}, status=503 if crashed else 200)

    async def ready(view: View, request: Request) -> Response:
        """Readiness: connected, partitions assigned, caught up."""
        verdict = await web.readiness()
        return _json(view, {"ready": verdict.ready, "reasons": list(verdict.reasons)},
                     status=200 if verdict.ready else 503)

    async def status(view: View, request: Request) -> Response:
        """The snapshot `vigie top` renders."""
        return _json(view, await web.status())

    periodic(app, services.metrics, "vigie.web.sample_rates", 1.0, sample_rates)
    first_start = app.on_first_start

    async def start_probe() -> None:
        """From the app's start, so table restores are measured too (Faust starts its
        tasks only once they are done)."""
        await first_start()
        app.add_future(services.loop_lag.run())

    app.on_first_start = start_probe  # type: ignore[method-assign]
    for path, handler in (("/metrics", metrics), ("/health", health), ("/ready", ready),
                          ("/status", status)):
        app.page(path, name=f"vigie.{handler.__name__}")(handler)
    return web
