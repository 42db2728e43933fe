"""The simulator's ground truth is exactly what the parsers make of its payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.brands import BrandDirectory
from core.normalize import Source, normalize_or_refuse, normalize_payload
from lab.scenarios import SCENARIOS, scenario
from lab.simulator import Simulator, daily_rate, for_wire, render
from schemas.events import Platform

SOURCE = Source("raw.test", 0, 0)


@pytest.fixture(scope="module")
def brands() -> BrandDirectory:
    return BrandDirectory.load()


@pytest.mark.parametrize("platform", list(Platform), ids=lambda p: p.value)
def test_normalized_payload_equals_expected_event_field_for_field(
    platform: Platform, brands: BrandDirectory
) -> None:
    simulator = Simulator(brands, seed=7, invalid_share=0, duplicate_share=0,
                          platforms=(platform,))
    for message in simulator.messages(150):
        got = normalize_payload(platform, message.value, brands)
        assert [e.model_dump() for e in got] == [e.model_dump() for e in message.expected]
        assert message.key.decode() == got[0].event_id.split(":", 1)[1]


def test_every_kind_of_every_platform_is_simulated(brands: BrandDirectory) -> None:
    from lab.encoders import KINDS

    seen = {(e.platform, e.kind) for m in Simulator(brands, seed=1, invalid_share=0)
            .messages(3000) for e in m.expected}
    assert seen == {(p, k) for p, kinds in KINDS.items() for k in kinds}


def test_same_seed_same_traffic(brands: BrandDirectory) -> None:
    first = [m.value for m in Simulator(brands, seed=3).messages(200)]
    again = [m.value for m in Simulator(brands, seed=3).messages(200)]
    other = [m.value for m in Simulator(brands, seed=4).messages(200)]
    assert first == again != other


def test_retried_deliveries_repeat_the_payload_and_expect_nothing_new(
    brands: BrandDirectory,
) -> None:
    messages = list(Simulator(brands, seed=5, duplicate_share=0.2).messages(500))
    duplicates = [(i, m) for i, m in enumerate(messages) if m.duplicate]
    assert len(duplicates) > 30
    for i, message in duplicates:
        assert (message.key, message.value) == (messages[i - 1].key, messages[i - 1].value)
        assert message.expected == ()
    ids = [e.event_id for m in messages for e in m.expected]
    assert len(ids) == len(set(ids))


def test_malformed_payloads_always_end_as_dead_letters(brands: BrandDirectory) -> None:
    messages = list(Simulator(brands, seed=6, invalid_share=0.3, duplicate_share=0)
                    .messages(600))
    malformed = [m for m in messages if not m.valid]
    assert len(malformed) > 100
    for message in malformed:
        assert not isinstance(
            normalize_or_refuse(message.platform, message.value, brands, SOURCE), list
        )


def test_traffic_follows_a_daily_cycle() -> None:
    night = daily_rate(datetime(2026, 11, 2, 4, tzinfo=UTC))
    lunch = daily_rate(datetime(2026, 11, 2, 13, tzinfo=UTC))
    evening = daily_rate(datetime(2026, 11, 2, 21, tzinfo=UTC))
    assert night < 0.2 < 0.95 < min(lunch, evening)


def test_night_traffic_is_sparser_than_evening_traffic(brands: BrandDirectory) -> None:
    def span(hour: int) -> float:
        start = datetime(2026, 11, 2, hour, tzinfo=UTC)
        simulator = Simulator(brands, seed=2, start=start, events_per_second=5)
        events = [e for m in simulator.messages(300) for e in m.expected]
        return (events[-1].created_at - events[0].created_at).total_seconds()

    assert span(3) > 3 * span(20)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scripted_scenarios_render_to_payloads_that_normalize_to_their_brand(
    name: str, brands: BrandDirectory
) -> None:
    for i, event in enumerate(scenario(name, 0, brands).events):
        if i == 400:
            break
        message = render(for_wire(event, brands))
        got = normalize_payload(event.platform, message.value, brands)
        assert (got[0].platform, got[0].kind, got[0].brand, got[0].text) == (
            event.platform, event.kind, event.brand, event.text)
