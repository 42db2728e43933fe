"""The offline chain the stream also runs: exact dedup → near-dup → sentiment → detector.

:class:`SurgePipeline` is what ``vigie detect`` and ``vigie eval-surge`` feed, one
normalized event at a time, in event-time order. The Faust agents call the same
pieces (:class:`~core.dedupe.ExactDeduper`, :class:`~core.dedupe.NearDuplicateIndex`,
:class:`~core.surge.detector.SurgeDetector`) with table-backed state.

Polarity comes from the event's ``sentiment`` key when it is there; otherwise the
classify stage's classifier labels the event (``vigie detect`` classifies what is
missing), else it counts as neutral.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypedDict

from typing_extensions import Unpack

from core.classify import Classifier
from core.dedupe import ExactDeduper, NearDup, NearDuplicateIndex, tokenize
from core.surge.detector import Count, SurgeDetector
from core.surge.observation import Observation
from schemas.alerts import Alert
from schemas.events import SocialEvent

SentimentOf = Callable[[Mapping[str, Any]], str]


class EventFields(TypedDict):
    """What the offline chain needs of one event (polarity already decided)."""

    event_id: str
    ts: float
    platform: str
    brand: str | None
    text: str
    author: str
    followers: int
    polarity: str


def sentiment_from(classifier: Classifier) -> SentimentOf:
    """Polarity of an event that arrived without classification keys."""

    def sentiment(event: Mapping[str, Any]) -> str:
        return classifier.classify(SocialEvent.model_validate(event)).sentiment.value

    return sentiment


class SurgePipeline:
    """Feeds events through dedup and near-dup into the detector; collects counters."""

    def __init__(
        self,
        detector: SurgeDetector | None = None,
        deduper: ExactDeduper | None = None,
        near: NearDuplicateIndex | None = None,
        sentiment: SentimentOf | None = None,
        history: Iterable[Count] | None = None,
    ) -> None:
        """``history``: per-minute counts the detector learns from before its first
        event, those of earlier minutes (``vigie detect --history``)."""
        self.detector = detector or SurgeDetector()
        self.deduper = deduper or ExactDeduper()
        self.near = near or NearDuplicateIndex()
        self.sentiment = sentiment
        self.history = history
        self.events = 0
        self.spam_wave = 0
        self.history_minutes = 0

    def feed(self, **fields: Unpack[EventFields]) -> list[Alert]:
        """One event's fields; returns the alerts it caused (empty for a repeat)."""
        observation = self.observation(**fields)
        return [] if observation is None else observation.feed(self.detector)

    def observation(self, **fields: Unpack[EventFields]) -> Observation | None:
        """What the detector is fed for this event (the stream's surge feed record);
        None for a repeat."""
        event_id, ts, brand = fields["event_id"], fields["ts"], fields["brand"]
        if self.history is not None:
            first = int(ts // 60)
            self.history_minutes = self.detector.preload(
                row for row in self.history if row[0] < first)
            self.history = None
        if self.deduper.is_duplicate(event_id, ts):
            return None
        self.events += 1
        tokens = tokenize(fields["text"])
        near: NearDup = self.near.observe(brand, tokens, fields["author"], ts, event_id)
        self.spam_wave += near.spam_wave
        return Observation.of(
            ts=ts, brand=brand, platform=fields["platform"], polarity=fields["polarity"],
            event_id=event_id, tokens=tokens, followers=fields["followers"], near=near,
        )

    def feed_record(self, record: Mapping[str, Any]) -> list[Alert]:
        """A normalized-event JSON object (classification keys optional)."""
        created = record["created_at"]
        stamp = created if isinstance(created, datetime) else datetime.fromisoformat(created)
        polarity = record.get("sentiment")
        if polarity is None:
            polarity = self.sentiment(record) if self.sentiment else "neutral"
        author = record.get("author") or {}
        return self.feed(
            event_id=record["event_id"], ts=stamp.timestamp(), platform=record["platform"],
            brand=record.get("brand"), text=record.get("text") or "",
            author=str(author.get("id", "")), followers=author.get("followers") or 0,
            polarity=str(polarity),
        )

    def feed_event(self, event: SocialEvent) -> list[Alert]:
        """A ``SocialEvent`` whose ``sentiment`` extra (or classifier) gives the polarity."""
        extra = event.model_extra or {}
        polarity = extra.get("sentiment")
        if polarity is None:
            polarity = self.sentiment(event.model_dump(mode="json")) if self.sentiment \
                else "neutral"
        return self.feed(
            event_id=event.event_id, ts=event.created_at.timestamp(),
            platform=event.platform.value, brand=event.brand, text=event.text,
            author=event.author.id, followers=event.author.followers or 0,
            polarity=str(polarity),
        )

    def run(self, records: Iterable[Mapping[str, Any]]) -> Iterator[Alert]:
        for record in records:
            yield from self.feed_record(record)
