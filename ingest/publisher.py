"""The ingest producer: raw payloads, byte for byte, to ``raw.<platform>``.

Every ingest agent (webhook receiver, replay, simulator) publishes through
:class:`RawPublisher`, so every raw record has the same key and headers: key = the
native message id; headers ``platform``, ``received_at`` (ISO-8601 UTC), ``source``
and ``schema`` (the platform payload format and its version). :meth:`publish`
returns only once the broker acknowledged the write (``acks=all``), which is what
lets the webhook answer 2xx only after Kafka has the payload.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from types import TracebackType

import orjson
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.structs import RecordMetadata  # type: ignore[import-untyped]

from base.kafka import aiokafka_options
from base.settings import Settings
from core.parsers import parser_for
from schemas.events import Platform, utcnow

PAYLOAD_FORMATS: dict[Platform, str] = {
    Platform.FACEBOOK: "meta-webhook-page-feed/v21",
    Platform.MESSENGER: "meta-webhook-messaging/v21",
    Platform.INSTAGRAM: "meta-webhook-instagram/v21",
    Platform.WHATSAPP: "whatsapp-cloud-api/v21",
    Platform.X: "x-api-v2+account-activity/1",
    Platform.LINKEDIN: "linkedin-org-social-actions/202405",
    Platform.TIKTOK: "tiktok-webhook/1",
    Platform.TWITCH: "twitch-eventsub-ws-envelope/1",
    Platform.YOUTUBE: "youtube-data-v3-comments/1",
    Platform.TELEGRAM: "telegram-bot-api-update/7",
    Platform.GOOGLE_REVIEWS: "google-business-profile-review/v4",
    Platform.TRIPADVISOR: "tripadvisor-content-api-review/1",
    Platform.NEWS: "rss2-item-json/1",
    Platform.FORUM: "discourse-post-webhook/1",
    Platform.WEB_COMMENTS: "wp-rest-comment/v2",
}


def message_key(platform: Platform, value: bytes) -> bytes:
    """The native id of the (first) message in ``value``; a content hash when unreadable.

    Unreadable payloads are still published (the normalize stage dead-letters them
    with their bytes), under a key that keeps their retries on one partition.
    """
    try:
        events = parser_for(platform)(orjson.loads(value))
        return events[0].event_id.split(":", 1)[1].encode()
    except Exception:  # a bad payload still deserves a key
        return b"sha256:" + hashlib.sha256(value).hexdigest()[:32].encode()


def raw_headers(platform: Platform, source: str, received_at: datetime) -> list[tuple[str, bytes]]:
    return [
        ("platform", platform.value.encode()),
        ("received_at", received_at.isoformat().encode()),
        ("source", source.encode()),
        ("schema", PAYLOAD_FORMATS[platform].encode()),
    ]


class RawPublisher:
    """An aiokafka producer for the raw topics; ``async with`` starts and stops it.

    At-least-once: a publish that raises may still have been written, and the
    sender retries; duplicates are collapsed downstream by event id.
    """

    def __init__(self, settings: Settings, *, linger_ms: int = 5) -> None:
        self.settings = settings
        self._producer = AIOKafkaProducer(
            **aiokafka_options(settings.kafka),
            acks="all",
            enable_idempotence=False,
            linger_ms=linger_ms,
            max_request_size=max(settings.webhook.max_body_bytes * 2, 1_048_576),
        )

    def topic(self, platform: Platform) -> str:
        return self.settings.topics.raw(platform)

    async def publish(
        self,
        platform: Platform,
        value: bytes,
        *,
        source: str,
        key: bytes | None = None,
        received_at: datetime | None = None,
    ) -> RecordMetadata:
        """Write ``value`` unchanged and wait for the broker's acknowledgement."""
        return await self._producer.send_and_wait(
            self.topic(platform),
            value=value,
            key=key if key is not None else message_key(platform, value),
            headers=raw_headers(platform, source, received_at or utcnow()),
        )

    async def send(
        self, platform: Platform, value: bytes, *, source: str, key: bytes | None = None
    ) -> asyncio.Future[RecordMetadata]:
        """Queue ``value`` (bulk replay); the returned future resolves on acknowledgement."""
        future: asyncio.Future[RecordMetadata] = await self._producer.send(
            self.topic(platform),
            value=value,
            key=key if key is not None else message_key(platform, value),
            headers=raw_headers(platform, source, utcnow()),
        )
        return future

    async def flush(self) -> None:
        await self._producer.flush()

    async def __aenter__(self) -> RawPublisher:
        await self._producer.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._producer.stop()
