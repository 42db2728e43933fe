"""The detection targets of the surge issue, asserted on the scripted scenarios (seed 0)."""

from __future__ import annotations

import itertools
import statistics
from datetime import timedelta

import pytest

from lab.scenarios import SCENARIOS, scenario
from lab.surge.evaluate import ScenarioResult, missed_targets, run_all
from schemas.alerts import AlertStatus


@pytest.fixture(scope="module")
def results() -> dict[str, ScenarioResult]:
    return {r.name: r for r in run_all(seed=0, workers=2)}


def test_every_incident_is_detected(results: dict[str, ScenarioResult]) -> None:
    assert all(r.recall == 1.0 for r in results.values())


def test_the_quiet_day_and_the_spam_wave_raise_no_false_alert(
    results: dict[str, ScenarioResult],
) -> None:
    assert results["quiet_day"].alerts == []
    assert results["noisy_day"].false_positives == 0


def test_one_open_per_incident_and_every_incident_resolves(
    results: dict[str, ScenarioResult],
) -> None:
    for result in results.values():
        assert result.duplicate_opens == 0
        opens = [a for a in result.alerts if a.status is AlertStatus.OPEN]
        resolved = [a for a in result.alerts if a.status is AlertStatus.RESOLVED]
        assert sorted(a.alert_id for a in opens) == sorted(a.alert_id for a in resolved)


def test_detection_is_fast_in_event_time(results: dict[str, ScenarioResult]) -> None:
    delays = [d for r in results.values() for d in r.delays if d is not None]
    assert statistics.median(delays) <= timedelta(minutes=5)
    assert results["sharp_spike"].delays[0] <= timedelta(minutes=10)
    assert results["platform_outage"].delays[0] <= timedelta(minutes=10)
    assert results["slow_crisis"].delays[0] <= timedelta(minutes=45)
    assert missed_targets(list(results.values())) == []


def test_the_sharp_spike_names_its_origin_and_its_terms(
    results: dict[str, ScenarioResult],
) -> None:
    opened = next(a for a in results["sharp_spike"].alerts if a.status is AlertStatus.OPEN)
    truth = results["sharp_spike"].incidents[0]
    assert opened.origin_event_id == truth.origin_event_id
    assert "nice" in opened.top_terms or "#auroreairgate" in opened.top_terms


def test_the_outage_names_the_three_silent_platforms(results: dict[str, ScenarioResult]) -> None:
    alerts = results["platform_outage"].alerts
    assert {p.value for p in alerts[-1].platforms} == {"facebook", "instagram", "whatsapp"}


def test_scenarios_are_deterministic_and_in_event_time_order() -> None:
    first = [e.event_id for e, _ in zip(scenario("sharp_spike", 7).events, range(500),
                                        strict=False)]
    again = scenario("sharp_spike", 7).events
    events = [next(again) for _ in range(500)]
    assert first == [e.event_id for e in events]
    assert all(a.created_at <= b.created_at for a, b in itertools.pairwise(events))
    assert set(SCENARIOS) == {"quiet_day", "sharp_spike", "slow_crisis", "platform_outage",
                              "viral_and_night", "noisy_day"}
