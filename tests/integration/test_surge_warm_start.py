"""A worker whose detector state is empty learns its baselines from ClickHouse at start.

An earlier deployment left two days of messages in ClickHouse. A worker starting with
no detector state (a new consumer group: no changelog to restore) loads their
per-minute counts before its first event, so a spike ten minutes into its feed opens
an alert, the one ``vigie detect --history`` opens on the same rows. A detector
without that history cannot tell anything in its first hour; a worker restarted with
an empty state again warms up and raises the same alert.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from base.settings import Settings
from core.surge import SurgePipeline
from core.surge.history import HISTORY_SQL, count, day_params
from core.surge.observation import Observation
from schemas.alerts import Alert, AlertStatus
from sinks.clickhouse import EmbeddedClickHouse
from sinks.migrate import migrate
from streams.services import Services
from tests.support.kafka_reader import read_to_end
from tests.support.publish import publish_observations
from tests.support.worker import eventually, running_worker

LIVE = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
HISTORY_DAYS = 2
PLATFORMS = ("x", "facebook", "instagram")
POLARITIES = ("negative", "neutral", "neutral", "positive", "positive")
# One message every 20 s (3 a minute, 0.6 negative), platform and tone in turn (as in
# the insert below); the live feed goes on the same way, plus 6 negative messages a
# minute from minute 10.
HISTORY_SQL_INSERT = """
INSERT INTO events (event_id, platform, brand, sentiment, created_at, processed_at)
SELECT concat('x:past-', toString(number)), ['x', 'facebook', 'instagram'][number % 3 + 1],
       'acme',
       ['negative', 'neutral', 'neutral', 'positive', 'positive'][intDiv(number, 3) % 5 + 1],
       {start:DateTime64(3)} + toIntervalSecond(20 * number), now64(3)
FROM numbers({count:UInt32})
"""


def store_history(settings: Settings) -> None:
    ch = EmbeddedClickHouse(settings.clickhouse.path, settings.clickhouse.database)
    try:
        migrate(ch)
        ch.query(HISTORY_SQL_INSERT, {
            "start": (LIVE - timedelta(days=HISTORY_DAYS)).strftime("%Y-%m-%d %H:%M:%S"),
            "count": HISTORY_DAYS * 1440 * 3})
    finally:
        ch.close()


def history_counts(settings: Settings) -> list[tuple[int, str | None, str, str, float]]:
    """The rows a worker loads, read with the worker's query."""
    ch = EmbeddedClickHouse(settings.clickhouse.path, settings.clickhouse.database)
    until = int(LIVE.timestamp() // 60)
    try:
        return [count(*row) for back in range(HISTORY_DAYS, 0, -1)
                for row in ch.query(HISTORY_SQL, day_params(until, back)).rows]
    finally:
        ch.close()


def live_observations() -> list[Observation]:
    start = LIVE.timestamp()
    observations = [
        Observation(start + 20 * n, "acme", PLATFORMS[n % 3], POLARITIES[n // 3 % 5],
                    f"x:live-{n}", (), 0, False)
        for n in range(3 * 40)]
    observations += [
        Observation(start + 600 + 10 * n, "acme", "x", "negative", f"x:spike-{n}", (), 0, False)
        for n in range(6 * 15)]
    return sorted(observations)


def offline(observations: list[Observation],
            history: list[tuple[int, str | None, str, str, float]] | None) -> list[Alert]:
    pipeline = SurgePipeline(history=history)
    alerts: list[Alert] = []
    for o in observations:
        alerts += pipeline.feed(event_id=o.event_id, ts=o.ts, platform=o.platform,
                                brand=o.brand, text="", author="", followers=0,
                                polarity=o.polarity)
    return alerts


async def test_a_worker_with_an_empty_detector_warms_up_from_clickhouse_and_alerts_at_once(
    settings: Settings,
) -> None:
    store_history(settings)
    observations = live_observations()
    counts = history_counts(settings)
    assert len({c[0] for c in counts}) == HISTORY_DAYS * 1440
    assert not [a for a in offline(observations, None) if a.status is AlertStatus.OPEN]
    expected = offline(observations, counts)
    opened = [a for a in expected if a.status is AlertStatus.OPEN]
    assert len(opened) == 1
    assert opened[0].window_start <= LIVE + timedelta(minutes=11)
    assert opened[0].detected_at <= LIVE + timedelta(minutes=15)

    await publish_observations(settings, observations)
    for run, group in enumerate((settings.kafka.consumer_group,
                                 f"{settings.kafka.consumer_group}-restarted"), start=1):
        # the second worker has an empty state: a new group has no changelog to restore
        worker = settings.model_copy(update={
            "kafka": settings.kafka.model_copy(update={"consumer_group": group})})
        async with running_worker(worker) as services:
            async def all_alerts(services: Services = services) -> bool:
                return services.metrics.stage_totals()["alerts"] >= len(expected)
            await eventually(all_alerts, within=120, what=f"the alerts of worker {run}")

        published = [Alert.model_validate_json(m.value())
                     for m in read_to_end(settings.kafka.bootstrap_servers,
                                          settings.topics.alerts)]
        assert [(a.alert_id, a.status, a.sequence, a.count) for a in published] == [
            (a.alert_id, a.status, a.sequence, a.count) for a in expected] * run
