"""Normalize stage: raw platform bytes → ``SocialEvent``s, or a dead letter saying why.

Pure functions: the Faust agent only feeds them bytes and emits what they return.
Any exception a parser raises is caught here and becomes a dead letter, so a
poison payload can never stop the stream.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from pydantic import ValidationError

from core.brands import BrandDirectory
from core.parsers import parser_for
from core.parsers.base import NoMessage, PayloadError
from schemas.deadletter import DeadLetter
from schemas.events import Platform, SocialEvent, utcnow

MAX_PAYLOAD_BYTES = 1_000_000
MAX_CLOCK_SKEW = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a raw payload was read from (for dead letters and lineage)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None

    @property
    def position(self) -> str:
        """``topic/partition/offset``: names one record for ever."""
        return f"{self.topic}/{self.partition}/{self.offset}"


def reason_of(exc: Exception, subject: str = "payload") -> str:
    """A one-line, human reason for a refused input (first validation error, JSON error)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or subject
        return f"invalid field {where}: {first['msg']}"
    if isinstance(exc, orjson.JSONDecodeError):
        return f"not valid JSON: {exc}"
    return str(exc) or type(exc).__name__


def normalize_payload(
    platform: Platform,
    raw: bytes,
    brands: BrandDirectory,
    received_at: datetime | None = None,
) -> list[SocialEvent]:
    """Decode and adapt one raw payload; raises on anything that is not a valid event."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload of {len(raw)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    payload = orjson.loads(raw)
    events = parser_for(platform)(payload)
    latest = (received_at or utcnow()) + MAX_CLOCK_SKEW
    for event in events:
        if event.created_at > latest:
            # A message from the future would move every event-time clock (dedup TTL,
            # surge windows) ahead and make them forget the present.
            raise PayloadError(
                f"field created_at is in the future: {event.created_at:%Y-%m-%d %H:%M}")
        event.brand = brands.resolve(platform, event.addressed_to, event.text)
        event.received_at = received_at
    return events


def dead_letter(
    exc: Exception, raw: bytes, source: Source, *, stage: str, platform: str | None
) -> DeadLetter:
    """The dead letter for ``raw`` that failed with ``exc``: original bytes and reason."""
    return DeadLetter(
        stage=stage,
        reason=reason_of(exc),
        error_type=type(exc).__name__,
        platform=platform,
        source_topic=source.topic,
        partition=source.partition,
        offset=source.offset,
        key=source.key.decode("utf-8", "replace") if source.key is not None else None,
        payload_b64=base64.b64encode(raw).decode("ascii"),
        failed_at=utcnow(),
    )


def normalize_or_refuse(
    platform: Platform,
    raw: bytes,
    brands: BrandDirectory,
    source: Source,
    received_at: datetime | None = None,
) -> list[SocialEvent] | DeadLetter:
    """Events for a good payload (none for a delivery that carries no message), a dead
    letter for a bad one; never raises."""
    try:
        return normalize_payload(platform, raw, brands, received_at)
    except NoMessage:
        return []  # receipts, reactions, statuses: valid deliveries that say nothing
    except Exception as exc:  # every failure is data (a dead letter), never a crash
        return dead_letter(exc, raw, source, stage="normalize", platform=platform.value)
