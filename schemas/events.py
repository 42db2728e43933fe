"""Normalized social events and their classification (the contracts of DESIGN.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

EVENT_SCHEMA = "vigie.event.v1"

M = TypeVar("M", bound=BaseModel)


@cache
def _field_names(cls: type[BaseModel]) -> tuple[str, ...]:
    if cls.__pydantic_post_init__ or cls.__pydantic_root_model__:
        raise TypeError(f"{cls.__name__} needs pydantic's own model_construct")
    return tuple(cls.__pydantic_fields__)


def assemble(cls: type[M], values: dict[str, Any], extra: dict[str, Any] | None = None) -> M:
    """What ``cls.model_construct(**{**extra, **fields})`` makes, ``fields`` being the
    fields of ``cls`` taken from ``values``, which holds them all, valid already (the
    stream's hot path builds its models from validated ones).

    Without model_construct's per-field look-up of aliases and defaults, which costs
    more than the rest on the hot path; the objects are equal (test_pipeline_wire).
    """
    names = _field_names(cls)
    return _instance(cls, {name: values[name] for name in names}, extra)


def _instance(cls: type[M], fields: dict[str, Any], extra: dict[str, Any] | None) -> M:
    """:func:`assemble`'s model, ``fields`` holding exactly the fields of ``cls``, in order."""
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", fields)
    object.__setattr__(model, "__pydantic_fields_set__", set(fields))
    object.__setattr__(model, "__pydantic_extra__", {
        key: value for key, value in (extra or {}).items() if key not in cls.__pydantic_fields__
    } if cls.model_config.get("extra") == "allow" else None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


class Platform(StrEnum):
    FACEBOOK = "facebook"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"
    X = "x"
    LINKEDIN = "linkedin"
    TIKTOK = "tiktok"
    TWITCH = "twitch"
    YOUTUBE = "youtube"
    TELEGRAM = "telegram"
    GOOGLE_REVIEWS = "google_reviews"
    TRIPADVISOR = "tripadvisor"
    NEWS = "news"
    FORUM = "forum"
    WEB_COMMENTS = "web_comments"


class Kind(StrEnum):
    COMMENT = "comment"
    DM = "dm"
    MENTION = "mention"
    POST = "post"
    REPLY = "reply"
    REVIEW = "review"
    ARTICLE = "article"
    CHAT = "chat"


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Intent(StrEnum):
    COMPLAINT = "complaint"
    QUESTION = "question"
    PRAISE = "praise"
    PURCHASE_INTENT = "purchase_intent"
    OTHER = "other"


class Risk(StrEnum):
    HATE = "hate"
    THREAT = "threat"
    SCAM = "scam"
    SPAM = "spam"
    PERSONAL_DATA = "personal_data"
    CRISIS_SIGNAL = "crisis_signal"


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


def _as_utc(value: datetime) -> datetime:
    """Naive timestamps are taken as UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class Author(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    handle: str | None = None
    followers: int | None = Field(default=None, ge=0)


class SocialEvent(BaseModel):
    """One message from one network, in the minimal form every tool accepts.

    ``event_id`` is ``<platform>:<native id>``: stable across redeliveries, so it is
    the key for exact deduplication and for ReplacingMergeTree in ClickHouse.
    Extra keys are allowed (and kept) so classification can ride along.
    """

    model_config = ConfigDict(extra="allow")

    event_id: str = Field(min_length=1)
    platform: Platform
    kind: Kind
    brand: str | None = None
    author: Author
    text: str
    created_at: UtcDatetime
    lang: str | None = None
    url: str | None = None
    thread_id: str | None = None
    in_reply_to: str | None = None
    received_at: UtcDatetime | None = None
    attachments: list[str] = Field(default_factory=list)
    addressed_to: str | None = Field(
        default=None, description="Native id of the brand account the message was sent to."
    )
    direct: bool = Field(
        default=False,
        description="True when the author addressed the brand (DM, reply, @mention, "
        "comment on its page); False for indirect mentions found by monitoring.",
    )

    @staticmethod
    def make_id(platform: Platform, native_id: str) -> str:
        return f"{platform.value}:{native_id}"


class Classification(BaseModel):
    """Labels added by the classify stage; ``reasons`` explains each of them."""

    lang: str | None = None
    sentiment: Sentiment = Sentiment.NEUTRAL
    intent: Intent = Intent.OTHER
    risks: list[Risk] = Field(default_factory=list)
    priority: Priority = Priority.NORMAL
    tags: list[str] = Field(default_factory=list)
    reasons: dict[str, list[str]] = Field(default_factory=dict)


def utcnow() -> datetime:
    return datetime.now(UTC)


class ClassifiedEvent(SocialEvent):
    """A normalized event with its classification keys and near-duplicate cluster,
    as published on ``events.classified`` and stored in ClickHouse."""

    sentiment: Sentiment = Sentiment.NEUTRAL
    intent: Intent = Intent.OTHER
    risks: list[Risk] = Field(default_factory=list)
    priority: Priority = Priority.NORMAL
    tags: list[str] = Field(default_factory=list)
    reasons: dict[str, list[str]] = Field(default_factory=dict)
    dup_cluster: str | None = None
    dup_count: int = 1

    @classmethod
    def of(
        cls,
        event: SocialEvent,
        labels: Classification,
        *,
        dup_cluster: str | None = None,
        dup_count: int = 1,
    ) -> ClassifiedEvent:
        """The event with its labels, built without validation: both are validated models
        already, so their values are copied as they are (the stream's hot path)."""
        # The event's fields, then the labels' (``lang`` keeps its place), then the
        # cluster's: exactly this model's fields, in order, so no second pass picks them.
        fields = {**event.__dict__, **labels.__dict__}
        fields.update(risks=list(labels.risks), tags=list(labels.tags),
                      reasons=dict(labels.reasons), lang=labels.lang or event.lang,
                      dup_cluster=dup_cluster, dup_count=dup_count)
        return _instance(cls, fields, event.__pydantic_extra__)

    def classification(self) -> Classification:
        """The labels of this (validated) event, as the model tasks carry."""
        return assemble(Classification, self.__dict__)
