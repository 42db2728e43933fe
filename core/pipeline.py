"""The per-batch work of a worker, free of Faust: raw records in, everything to emit out.

raw → normalize → exact dedup → classify → near-duplicate clustering → route, in one
pass over a batch, so the stream pays one Kafka hop for the whole chain. The agent
in :mod:`streams.handlers` feeds it records and then performs the outputs in the
order that keeps the at-least-once guarantee.

State: the exact-dedup memory is an injected mapping (a changelog-backed Faust table
in the worker, so a restart remembers what it forwarded); the near-duplicate index
is per worker and in memory (an hour of fingerprints, rebuilt within the hour after
a restart).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

from base.settings import Settings
from core.brands import BrandDirectory
from core.classify import Classifier, classify_each, default_classifier, mask_personal_data
from core.dedupe import ExactDeduper, NearDuplicateIndex, digest, tokenize
from core.expiry import ExpiringMemory
from core.normalize import Source, dead_letter, normalize_or_refuse
from core.route import DM_WINDOW_S, contact_key, route
from core.surge.observation import Observation
from schemas.deadletter import DeadLetter
from schemas.events import Classification, ClassifiedEvent, Kind, Platform, SocialEvent
from schemas.tasks import ResponseTask

SPAM_WAVE = "spam_wave"
Published = TypeVar("Published", bound=SocialEvent)


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
    observations: list[Observation] = field(default_factory=list)
    duplicates: int = 0
    ignored: int = 0

    def extend(self, other: BatchOutput) -> None:
        """Append what a later slice of the same batch produced."""
        self.normalized += other.normalized
        self.classified += other.classified
        self.dead_letters += other.dead_letters
        self.tasks += other.tasks
        self.observations += other.observations
        self.duplicates += other.duplicates
        self.ignored += other.ignored


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


def dedup_key(event: SocialEvent) -> str:
    """An edit or a deletion keeps the message's id but is news: it has a key of its own."""
    change = (event.__pydantic_extra__ or {}).get("change")  # not getattr: it raises to say no
    return f"{event.event_id}|{change}" if change else event.event_id


class Pipeline:
    """One worker's chain of stages; its state is the memories it is given (message ids,
    private contacts) and the near-duplicate index."""

    def __init__(
        self,
        settings: Settings,
        brands: BrandDirectory,
        classifier: Classifier | None = None,
        seen: MutableMapping[str, Any] | None = None,
        contacts: MutableMapping[str, int] | None = None,
    ) -> None:
        self.settings = settings
        self.brands = brands
        self.classifier = classifier or default_classifier()
        dedup = settings.dedup
        self.exact = ExactDeduper(seen, ttl=dedup.ttl_hours * 3600, max_entries=dedup.max_ids)
        self.near = NearDuplicateIndex(window=dedup.near_window_s)
        # digest of contact_key → event time (whole seconds) of the person's last DM
        self.contacts: MutableMapping[str, int] = {} if contacts is None else contacts
        self.contact_memory = ExpiringMemory(
            self.contacts, ttl=dedup.contacts_ttl_days * 86_400, shift=0, stamp=float,
            max_entries=dedup.max_ids)
        self.platform_of_topic = {settings.topics.raw(p): p for p in Platform}

    def process(
        self, records: Sequence[RawRecord], focus: Callable[[int], None] | None = None
    ) -> BatchOutput:
        """Run every stage on ``records``; ``focus(i)`` is called before record ``i``'s
        memory writes so a changelog-backed table files them under that record's
        partition.

        Three passes: normalize and drop redeliveries record by record; label every new
        event of the batch in one classifier call; then, in order, near-duplicate
        clustering, surge observation and routing."""
        out = BatchOutput()
        fresh: list[tuple[int, SocialEvent, RawRecord, Source]] = []
        for index, record in enumerate(records):
            if focus is not None:
                focus(index)
            platform = self.platform_of_topic[record.topic]
            source = Source(record.topic, record.partition, record.offset, record.key)
            result = normalize_or_refuse(
                platform, record.value, self.brands, source, _received_at(record)
            )
            if isinstance(result, DeadLetter):
                out.dead_letters.append(result)
                continue
            out.ignored += not result
            for event in result:
                out.normalized.append((event, record))
                if self.exact.is_duplicate(
                        dedup_key(event), event.created_at.timestamp(), source.position):
                    out.duplicates += 1
                else:
                    fresh.append((index, event, record, source))
        labels = classify_each(self.classifier, [event for _, event, _, _ in fresh])
        for (index, event, record, source), label in zip(fresh, labels, strict=True):
            if focus is not None:
                focus(index)
            try:
                if isinstance(label, Exception):
                    raise label
                classified = self._cluster(event, label, out.observations)
                task = route(classified, self.settings.sla, self._last_private(classified))
            except Exception as exc:  # a classifier/router bug on one event: a dead
                # letter with the exception, never a crash loop on the same record
                out.dead_letters.append(dead_letter(
                    exc, record.value, source, stage="classify", platform=event.platform.value))
                continue
            out.classified.append((classified, record))
            if task is not None:
                out.tasks.append(task)
        return out

    def _last_private(self, event: SocialEvent) -> float | None:
        """When the author last wrote to the brand in private (this event included);
        None where the platform has no DM window (the routing never asks)."""
        if event.platform not in DM_WINDOW_S:
            return None
        ts = int(event.created_at.timestamp())
        self.contact_memory.advance(ts)
        key = digest(contact_key(event))
        last = self.contacts.get(key)
        if last is not None and last < self.contact_memory.horizon:
            last = None  # expired, not swept yet
        if event.kind == Kind.DM and (last is None or ts > last):
            self.contacts[key] = last = ts
            self.contact_memory.added()
        return last

    def _cluster(
        self, event: SocialEvent, labels: Classification, observations: list[Observation]
    ) -> ClassifiedEvent:
        """The labelled event with its near-duplicate cluster; its surge observation is
        appended to ``observations``."""
        ts = event.created_at.timestamp()
        tokens = tokenize(event.text)
        near = self.near.observe(event.brand, tokens, event.author.id, ts, event.event_id)
        if near.spam_wave:
            labels.tags.append(SPAM_WAVE)
        observations.append(Observation.of(
            ts=ts, brand=event.brand, platform=event.platform.value,
            polarity=labels.sentiment.value, event_id=event.event_id, tokens=tokens,
            followers=event.author.followers, near=near,
        ))
        return ClassifiedEvent.of(
            event, labels, dup_cluster=near.dup_cluster, dup_count=near.dup_count
        )


def masked(event: Published) -> Published:
    """``event`` as it may leave the worker on ``events.normalized`` / ``events.classified``:
    personal data in its text masked (the raw topics keep the payload as it came, under
    their retention). The same event when there is nothing to mask."""
    text = mask_personal_data(event.text, lang=event.lang)
    return event if text is event.text else event.model_copy(update={"text": text})


def encode(model: BaseModel) -> bytes:
    """Wire form of every model vigie publishes: compact JSON, aliases, no nulls dropped.

    Serialized straight to bytes by pydantic-core (the same bytes as orjson on
    ``model_dump(mode="json")``, without building the intermediate dict).
    """
    return type(model).__pydantic_serializer__.to_json(model, by_alias=True)


OBSERVATIONS_PER_RECORD = 1000


def encode_observations(observations: Sequence[Observation]) -> list[bytes]:
    """The surge feed's records for a batch: JSON arrays of up to 1,000 observations, so
    the feed costs one producer send per thousand events instead of one per event."""
    return [
        b"[" + b",".join(o.encode() for o in observations[i : i + OBSERVATIONS_PER_RECORD])
        + b"]"
        for i in range(0, len(observations), OBSERVATIONS_PER_RECORD)
    ]


def decode_observations(raw: bytes) -> list[Observation]:
    """Observations of one surge-feed record: a batch array, or a single observation."""
    items = orjson.loads(raw)
    if items and isinstance(items[0], list):
        return [Observation.decode(orjson.dumps(item)) for item in items]
    return [Observation.decode(raw)]
