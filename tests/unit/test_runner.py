"""`vigie run --events N`'s traffic: a history the baseline can learn, then an incident
the detector fires on, in the order the ingest agent publishes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.brands import BrandDirectory
from core.classify import default_classifier
from core.surge.pipeline import SurgePipeline, sentiment_from
from schemas.alerts import Alert, AlertKind, AlertStatus, Polarity
from schemas.events import Platform
from sinks.clickhouse import EmbeddedClickHouse
from vigie.runner import (
    HISTORY_MINUTES,
    INCIDENT_BRAND,
    LIVE_MINUTES,
    Delivery,
    _string_array,
    demo_traffic,
    live_start,
)

DAY = timedelta(days=1)
# Night, lunch peak, and late evening (where the live part moves back to 22:30).
NOWS = [datetime(2026, 11, 24, 4, 50, tzinfo=UTC), datetime(2026, 11, 24, 13, 31, tzinfo=UTC),
        datetime(2026, 11, 25, 0, 10, tzinfo=UTC)]


@pytest.mark.parametrize(("now", "start"), [
    ("2026-11-24T17:45:12", "2026-11-24T17:30:00"),
    ("2026-11-24T17:30:00", "2026-11-24T17:30:00"),
    ("2026-11-24T17:29:59", "2026-11-24T16:30:00"),
    ("2026-11-24T23:40:00", "2026-11-24T22:30:00"),
    ("2026-11-25T00:10:00", "2026-11-24T22:30:00"),
])
def test_the_live_part_starts_at_the_latest_half_past_but_never_at_23_30(
    now: str, start: str,
) -> None:
    assert live_start(datetime.fromisoformat(now).replace(tzinfo=UTC)) == \
        datetime.fromisoformat(start).replace(tzinfo=UTC)


def detect(deliveries: list[Delivery]) -> list[Alert]:
    """What the stream's detector says, fed in publishing order, with the polarity
    the stream's classifier gives (the script's own label is not on the wire)."""
    pipeline = SurgePipeline(sentiment=sentiment_from(default_classifier()))
    alerts = []
    for delivery in deliveries:
        for event in delivery.message.expected:
            record = event.model_dump(mode="json")
            record.pop("sentiment", None)
            alerts += pipeline.feed_record(record)
    return alerts


def scripted(delivery: Delivery) -> bool:
    """Scripted events carry their polarity as an extra key; simulated ones do not."""
    return any("sentiment" in (e.model_extra or {}) for e in delivery.message.expected)


@pytest.mark.parametrize("now", NOWS, ids=lambda now: f"{now:%H%M}")
def test_yesterdays_history_precedes_the_live_minutes_in_one_ordered_partition(
    now: datetime,
) -> None:
    traffic = demo_traffic(BrandDirectory.load(), events=1500, rate=None, seed=3, now=now)
    live = list(traffic.live)
    start = live_start(now)

    history_at = [d.at for d in traffic.history]
    assert history_at == sorted(history_at)
    assert start + timedelta(minutes=30 - HISTORY_MINUTES) - DAY <= history_at[0]
    assert history_at[-1] < start + timedelta(minutes=30) - DAY
    assert {(d.message.platform, d.partition) for d in traffic.history} == {(Platform.X, 0)}
    assert {e.brand for d in traffic.history for e in d.message.expected} == {INCIDENT_BRAND}

    assert [d.at for d in live] == sorted(d.at for d in live)
    assert start <= live[0].at
    assert live[-1].at < start + timedelta(minutes=LIVE_MINUTES + 1)
    simulated = [d for d in live if not scripted(d)]
    assert len(simulated) == 1500
    assert INCIDENT_BRAND not in {e.brand for d in simulated for e in d.message.expected}
    assert {e.brand for d in live if scripted(d) for e in d.message.expected} == {
        INCIDENT_BRAND}
    assert all(d.partition is None for d in live)


@pytest.mark.parametrize("now", NOWS, ids=lambda now: f"{now:%H%M}")
def test_the_detector_learns_yesterday_and_opens_one_negative_spike_on_the_strike(
    now: datetime,
) -> None:
    traffic = demo_traffic(BrandDirectory.load(), events=1500, rate=None, seed=3, now=now)
    live = list(traffic.live)

    alerts = detect([*traffic.history, *live])

    opened, *later = alerts
    assert (opened.kind, opened.status, opened.brand, opened.polarity) == (
        AlertKind.SPIKE, AlertStatus.OPEN, INCIDENT_BRAND, Polarity.NEGATIVE)
    # (it opens on the strike's first messages: it may grow in an update)
    assert all((a.alert_id, a.status) == (opened.alert_id, AlertStatus.UPDATE) for a in later)
    assert alerts[0].window_start == live_start(now)
    # (the strike starts on X: the alert may open before Facebook has joined in)
    assert Platform.X in alerts[0].platforms
    assert traffic.incident is not None
    assert traffic.incident.brand == INCIDENT_BRAND
    assert detect(live) == []  # no history, no baseline: the detector only learns


def test_a_string_array_parameter_reaches_clickhouse_unchanged(tmp_path: Path) -> None:
    ids = ["x:1", "quote'd", "back\\slash", "new\nline", "tab\there", ""]
    ch = EmbeddedClickHouse(tmp_path, "default")
    try:
        result = ch.query("SELECT arrayJoin({ids:Array(String)})", {"ids": _string_array(ids)})
    finally:
        ch.close()
    assert [row[0] for row in result.rows] == ids
