"""Poison messages: a payload that makes a parser, the classifier or the surge detector
raise is a dead letter carrying the exception, and the records after it are still
processed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiohttp import ClientSession

from base.kafka import create_topics
from base.settings import Settings
from core import parsers
from core.brands import BrandDirectory
from core.classify import default_classifier
from core.parsers.base import Json, Parser
from core.surge.detector import SurgeDetector
from core.surge.observation import Observation
from lab.simulator import RawMessage, Simulator
from schemas.alerts import Alert
from schemas.deadletter import DeadLetter
from schemas.events import Classification, Platform, SocialEvent
from tests.support.faults import replay
from tests.support.kafka_reader import read_to_end
from tests.support.worker import eventually, running_workers

MARKER = "POISON-7f3a"


class PoisonError(RuntimeError):
    """What the doctored stage raises on the marker."""


def poisoned_traffic(count: int, platform: Platform, poison_at: int,
                     poison: Callable[[RawMessage], RawMessage]) -> list[RawMessage]:
    messages = list(Simulator(BrandDirectory.load(), seed=11, invalid_share=0,
                              duplicate_share=0, platforms=(platform,)).messages(count))
    messages[poison_at] = poison(messages[poison_at])
    return messages


def with_marker(message: RawMessage) -> RawMessage:
    """The same delivery with the marker in its text (the text is a JSON string);
    nothing is expected from it but a dead letter."""
    [event] = message.expected
    value = message.value.replace(orjson.dumps(event.text)[1:-1],
                                  orjson.dumps(f"{event.text} {MARKER}")[1:-1], 1)
    assert MARKER.encode() in value
    return RawMessage(message.platform, message.key, value, ())


class RaisingClassifier:
    """The default classifier, raising on events whose text holds the marker."""

    def __init__(self) -> None:
        self.inner = default_classifier()

    def classify(self, event: SocialEvent) -> Classification:
        if MARKER in event.text:
            raise PoisonError(f"classifier cannot handle event {event.event_id}")
        return self.inner.classify(event)


async def healthy(settings: Settings) -> bool:
    url = f"http://{settings.web_host}:{settings.web_port}/health"
    async with ClientSession() as session, session.get(url) as answer:
        return answer.status == 200


async def run_and_collect(settings: Settings, messages: list[RawMessage], workers: int,
                          **app_options: Any) -> tuple[list[DeadLetter], set[str]]:
    """Replay ``messages`` through ``workers`` workers; the dead letters (one per source
    record: a batch redone after a rebalance publishes its own again) and the stored
    event ids."""
    await create_topics(settings)
    valid = {e.event_id for m in messages for e in m.expected}
    async with running_workers(settings, workers, **app_options) as group:
        services = group[0]
        await replay(settings, messages, {})

        async def all_stored() -> bool:
            assert await healthy(settings), "the worker crashed on the poison message"
            rows = await services.writer.query("SELECT uniqExact(event_id) FROM events")
            return int(rows.rows[0][0]) >= len(valid)

        await eventually(all_stored, within=60, what="every other event stored")
        stored = {r[0] for r in (await services.writer.query(
            "SELECT DISTINCT event_id FROM events")).rows}
    letters = {(d.source_topic, d.partition, d.offset): d for d in (
        DeadLetter.model_validate_json(m.value())
        for m in read_to_end(settings.kafka.bootstrap_servers, settings.topics.deadletter))}
    assert stored == valid
    return list(letters.values()), stored


@pytest.mark.parametrize("workers", [1, 2])
async def test_payload_that_makes_a_parser_raise_is_dead_lettered_and_the_stream_goes_on(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, workers: int,
) -> None:
    original = parsers.PARSERS[Platform.X]

    def parse(payload: Json) -> list[SocialEvent]:
        if MARKER in orjson.dumps(payload).decode():
            raise PoisonError("parser bug on this payload")
        return original.parse(payload)

    monkeypatch.setitem(parsers.PARSERS, Platform.X, Parser(Platform.X, parse))
    messages = poisoned_traffic(200, Platform.X, 50, with_marker)
    letters, _ = await run_and_collect(settings, messages, workers)

    [letter] = letters
    assert (letter.stage, letter.error_type, letter.reason) == (
        "normalize", "PoisonError", "parser bug on this payload")
    assert letter.payload == messages[50].value
    assert letter.source_topic == settings.topics.raw(Platform.X)


@pytest.mark.parametrize("workers", [1, 2])
async def test_event_that_makes_the_classifier_raise_is_dead_lettered_and_the_stream_goes_on(
    settings: Settings, workers: int,
) -> None:
    messages = poisoned_traffic(200, Platform.TELEGRAM, 120, with_marker)
    letters, _ = await run_and_collect(settings, messages, workers,
                                       classifier=RaisingClassifier())

    [letter] = letters
    assert (letter.stage, letter.error_type, letter.platform) == (
        "classify", "PoisonError", "telegram")
    assert letter.reason.startswith("classifier cannot handle event telegram:")
    assert letter.payload == messages[120].value


@pytest.mark.parametrize("workers", [1, 2])
async def test_record_that_makes_the_surge_detector_raise_is_dead_lettered_and_the_feed_goes_on(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, workers: int,
) -> None:
    """Fake fault: no known data makes the detector raise any more (the last that did, a
    count taken below zero, is fixed), so its ``feed`` is doctored to raise on one
    event's observation. Before, the surge agent stopped on it, and again on the same
    record after every restart."""
    first = poisoned_traffic(200, Platform.TELEGRAM, 120, lambda message: message)
    [poisoned] = first[120].expected
    later = list(Simulator(BrandDirectory.load(), seed=12, invalid_share=0, duplicate_share=0,
                           platforms=(Platform.TELEGRAM,)).messages(50))
    later_ids = {e.event_id for m in later for e in m.expected}
    fed: set[str] = set()
    feed = Observation.feed

    def doctored(observation: Observation, detector: SurgeDetector) -> list[Alert]:
        if observation.event_id == poisoned.event_id:
            raise PoisonError(f"detector cannot handle event {observation.event_id}")
        fed.add(observation.event_id)
        return feed(observation, detector)

    monkeypatch.setattr(Observation, "feed", doctored)

    def surge_letters() -> list[DeadLetter]:
        return [d for d in (DeadLetter.model_validate_json(m.value()) for m in read_to_end(
            settings.kafka.bootstrap_servers, settings.topics.deadletter))
            if d.stage == "surge"]

    async with running_workers(settings, workers):
        await replay(settings, first, {})

        async def dead_lettered() -> bool:
            assert await healthy(settings), "the worker crashed on the detector's failure"
            return bool(surge_letters())

        await eventually(dead_lettered, within=60, what="the surge dead letter")
        await replay(settings, later, {})

        async def later_fed() -> bool:
            return later_ids <= fed

        await eventually(later_fed, within=60, what="the later events fed to the detector")
    [letter] = {(d.source_topic, d.partition, d.offset): d for d in surge_letters()}.values()
    assert (letter.error_type, letter.reason) == (
        "PoisonError", f"detector cannot handle event {poisoned.event_id}")
    assert letter.source_topic == settings.topics.surge
    assert poisoned.event_id.encode() in letter.payload
