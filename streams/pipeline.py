"""The per-batch work of a worker, free of Faust: raw records in, everything to emit out.

raw → normalize → (exact dedup) → classify → route, in one pass over a batch, so
the stream pays one Kafka hop for the whole chain. The agent in
:mod:`streams.agents` feeds it records and then performs the outputs in the order
that keeps the at-least-once guarantee.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from schemas.deadletter import DeadLetter
from schemas.events import Classification, ClassifiedEvent, Platform, SocialEvent
from schemas.tasks import ResponseTask
from streams.brands import BrandDirectory
from streams.normalize import Source, normalize_or_refuse
from streams.route import route
from vigie.settings import Settings

Classify = Callable[[SocialEvent], Classification]


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record of a ``raw.<platform>`` topic, as the consumer saw it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp: float | None = None
    headers: Mapping[str, bytes] = field(default_factory=dict)


@dataclass
class BatchOutput:
    """What one batch produced, ready to be emitted and stored."""

    normalized: list[tuple[SocialEvent, RawRecord]] = field(default_factory=list)
    classified: list[tuple[ClassifiedEvent, RawRecord]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    tasks: list[ResponseTask] = field(default_factory=list)
    duplicates: int = 0


def _received_at(record: RawRecord) -> datetime | None:
    header = record.headers.get("received_at")
    if header:
        try:
            return datetime.fromisoformat(header.decode())
        except ValueError:
            pass
    if record.timestamp:
        return datetime.fromtimestamp(record.timestamp, UTC)
    return None


def no_classification(event: SocialEvent) -> Classification:
    """Used until a classifier is configured: only the language hint is kept."""
    return Classification(lang=event.lang)


class Pipeline:
    """Stateless apart from what it is given: brand directory, classifier, settings."""

    def __init__(
        self,
        settings: Settings,
        brands: BrandDirectory,
        classify: Classify = no_classification,
    ) -> None:
        self.settings = settings
        self.brands = brands
        self.classify = classify
        self.platform_of_topic = {settings.topics.raw(p): p for p in Platform}

    def process(self, records: Sequence[RawRecord]) -> BatchOutput:
        out = BatchOutput()
        for record in records:
            platform = self.platform_of_topic[record.topic]
            source = Source(record.topic, record.partition, record.offset, record.key)
            result = normalize_or_refuse(
                platform, record.value, self.brands, source, _received_at(record)
            )
            if isinstance(result, DeadLetter):
                out.dead_letters.append(result)
                continue
            for event in result:
                out.normalized.append((event, record))
                classified = ClassifiedEvent.of(event, self.classify(event))
                out.classified.append((classified, record))
                task = route(classified, self.settings.sla)
                if task is not None:
                    out.tasks.append(task)
        return out


def encode(model: SocialEvent | DeadLetter | ResponseTask) -> bytes:
    """Wire form of every model vigie publishes: compact JSON, aliases, no nulls dropped."""
    return orjson.dumps(model.model_dump(mode="json", by_alias=True))
