"""The webhook receiver on loopback, publishing to the real broker: what gets in, what does not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient, NewTopic
from pydantic import SecretStr

from base.settings import KafkaSettings, Settings, TopicSettings, WebhookSettings
from ingest.publisher import RawPublisher
from ingest.webhook import Receiver
from schemas.events import Platform
from tests.support.kafka_reader import read_to_end
from vigie.embedded import EmbeddedBroker

PAYLOADS = Path(__file__).parents[1] / "data" / "payloads"
SECRETS = {
    "meta_app_secret": "meta-app-secret", "meta_verify_token": "verify-me",
    "x_consumer_secret": "x-consumer-secret", "twitch_secret": "twitch-secret-0123",
    "telegram_secret_token": "tg-token", "linkedin_client_secret": "li-secret",
    "tiktok_client_secret": "tt-secret", "forum_secret": "discourse-secret",
    "shared_secret": "poller-secret",
}


def sign(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def body_of(platform: str, case: str) -> bytes:
    return orjson.dumps(orjson.loads((PAYLOADS / platform / f"{case}.json").read_bytes()))


class Hook:
    """A running receiver and a way to read back what reached each raw topic."""

    def __init__(self, url: str, settings: Settings, broker: EmbeddedBroker) -> None:
        self.url = url
        self.settings = settings
        self.broker = broker

    def records(self, platform: Platform, timeout: float = 10.0) -> list[Message]:
        """Every record of the platform's raw topic, read up to its end.

        The receiver answers only after Kafka acknowledged, so once a request has
        been answered its record is already there: reading to the end is exact.
        """
        return read_to_end(self.broker.bootstrap_servers, self.settings.topics.raw(platform),
                           timeout)


@pytest.fixture
async def hook(broker: EmbeddedBroker, unique: str) -> AsyncIterator[Hook]:
    settings = Settings(
        kafka=KafkaSettings(bootstrap_servers=broker.bootstrap_servers),
        topics=TopicSettings(raw_prefix=f"wh{unique}.raw.", partitions=1),
        webhook=WebhookSettings(max_body_bytes=20_000, burst=40, rate_per_s=5.0,
                                **{k: SecretStr(v) for k, v in SECRETS.items()}),
    )
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    futures = admin.create_topics([NewTopic(t, 1, 1) for t in settings.topics.all_raw()])
    for future in futures.values():
        future.result(timeout=10)
    async with RawPublisher(settings, linger_ms=0) as publisher:
        server = TestServer(Receiver(settings, publisher).app(), host="127.0.0.1")
        await server.start_server()
        try:
            yield Hook(str(server.make_url("/webhooks")), settings, broker)
        finally:
            await server.close()


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    async with ClientSession() as session, session.post(url, data=body, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_signed_meta_delivery_is_published_unchanged_with_key_and_headers(
    hook: Hook,
) -> None:
    body = body_of("facebook", "comment_with_emoji")
    signature = "sha256=" + sign(SECRETS["meta_app_secret"], body).hex()
    status, answer = await post(f"{hook.url}/facebook", body,
                                {"X-Hub-Signature-256": signature})
    assert (status, answer["status"]) == (200, "accepted")
    [record] = hook.records(Platform.FACEBOOK)
    assert record.value() == body
    assert record.key() == b"90001_7001"
    headers = dict(record.headers())
    assert headers["platform"] == b"facebook"
    assert headers["source"] == b"webhook"
    assert headers["schema"].startswith(b"meta-webhook")
    assert datetime.fromisoformat(headers["received_at"].decode()).tzinfo is not None


async def test_forged_and_unsigned_deliveries_never_reach_kafka(hook: Hook) -> None:
    body = body_of("instagram", "comment")
    forged = "sha256=" + sign("not-the-secret", body).hex()
    assert (await post(f"{hook.url}/instagram", body, {"X-Hub-Signature-256": forged}))[0] == 403
    status, answer = await post(f"{hook.url}/instagram", body, {})
    assert status == 401
    assert "X-Hub-Signature-256" in answer["error"]
    assert hook.records(Platform.INSTAGRAM) == []


def twitch_headers(body: bytes, message_id: str, at: datetime) -> dict[str, str]:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # Twitch sends nanoseconds
    signature = sign(SECRETS["twitch_secret"], message_id.encode() + stamp.encode() + body)
    return {
        "Twitch-Eventsub-Message-Id": message_id,
        "Twitch-Eventsub-Message-Timestamp": stamp,
        "Twitch-Eventsub-Message-Signature": "sha256=" + signature.hex(),
        "Twitch-Eventsub-Message-Type": "notification",
        "Twitch-Eventsub-Subscription-Type": "channel.chat.message",
        "Twitch-Eventsub-Subscription-Version": "1",
    }


async def test_twitch_replayed_message_id_and_stale_timestamp_are_refused(
    hook: Hook, unique: str
) -> None:
    body = orjson.dumps(orjson.loads(body_of("twitch", "chat_message_with_emote"))["payload"])
    headers = twitch_headers(body, f"msg-{unique}", datetime.now(UTC))
    assert (await post(f"{hook.url}/twitch", body, headers))[0] == 200
    status, answer = await post(f"{hook.url}/twitch", body, headers)
    assert (status, "replayed" in answer["error"]) == (403, True)
    stale = twitch_headers(body, f"old-{unique}", datetime.now(UTC) - timedelta(minutes=11))
    status, answer = await post(f"{hook.url}/twitch", body, stale)
    assert (status, "stale" in answer["error"]) == (403, True)
    [record] = hook.records(Platform.TWITCH)
    envelope = orjson.loads(record.value())
    assert envelope["payload"] == orjson.loads(body)
    assert envelope["metadata"]["message_id"] == f"msg-{unique}"


async def test_twitch_callback_verification_answers_the_challenge(hook: Hook) -> None:
    body = orjson.dumps({"challenge": "pogchamp-kappa-360noscope", "subscription": {}})
    headers = twitch_headers(body, "verify-1", datetime.now(UTC))
    headers["Twitch-Eventsub-Message-Type"] = "webhook_callback_verification"
    async with ClientSession() as session, session.post(
        f"{hook.url}/twitch", data=body, headers=headers
    ) as response:
        assert (response.status, await response.text()) == (200, "pogchamp-kappa-360noscope")


async def test_oversized_body_is_refused_with_413(hook: Hook) -> None:
    body = b'{"padding": "' + b"x" * 30_000 + b'"}'
    signature = "sha256=" + sign(SECRETS["meta_app_secret"], body).hex()
    status, answer = await post(f"{hook.url}/facebook", body, {"X-Hub-Signature-256": signature})
    assert status == 413
    assert "exceeds" in answer["error"]


async def test_other_platforms_signatures_are_checked(hook: Hook) -> None:
    now = str(int(time.time()))
    x_body = body_of("x", "mention_with_metrics")
    x_sig = "sha256=" + base64.b64encode(sign(SECRETS["x_consumer_secret"], x_body)).decode()
    tg_body = body_of("telegram", "business_dm")
    tt_body = body_of("tiktok", "comment_content_as_string")
    tt_sig = f"t={now},s=" + sign(SECRETS["tiktok_client_secret"], now.encode() + b"." +
                                   tt_body).hex()
    yt_body = body_of("youtube", "thread_with_replies")
    yt_sig = f"t={now},s=" + sign(SECRETS["shared_secret"], f"{now}.youtube.".encode() +
                                   yt_body).hex()
    cases = [
        ("x", x_body, {"X-Twitter-Webhooks-Signature": x_sig}),
        ("telegram", tg_body, {"X-Telegram-Bot-Api-Secret-Token": "tg-token"}),
        ("tiktok", tt_body, {"TikTok-Signature": tt_sig}),
        ("youtube", yt_body, {"X-Vigie-Signature": yt_sig}),
    ]
    for platform, body, headers in cases:
        assert (await post(f"{hook.url}/{platform}", body, headers))[0] == 200, platform
        wrong = {k: v[:-2] + "00" for k, v in headers.items()}
        assert (await post(f"{hook.url}/{platform}", body, wrong))[0] == 403, platform
    stale = str(int(time.time()) - 900)
    old_sig = f"t={stale},s=" + sign(SECRETS["shared_secret"], f"{stale}.youtube.".encode() +
                                     yt_body).hex()
    assert (await post(f"{hook.url}/youtube", yt_body, {"X-Vigie-Signature": old_sig}))[0] == 403
    for platform in (Platform.X, Platform.TELEGRAM, Platform.TIKTOK, Platform.YOUTUBE):
        assert len(hook.records(platform)) == 1, platform


async def test_handshakes_of_meta_x_and_linkedin(hook: Hook) -> None:
    async with ClientSession() as session:
        query = {"hub.mode": "subscribe", "hub.verify_token": "verify-me",
                 "hub.challenge": "1158201444"}
        async with session.get(f"{hook.url}/whatsapp", params=query) as response:
            assert (response.status, await response.text()) == (200, "1158201444")
        async with session.get(f"{hook.url}/whatsapp",
                               params=query | {"hub.verify_token": "nope"}) as response:
            assert response.status == 403
        async with session.get(f"{hook.url}/x", params={"crc_token": "abc"}) as response:
            expected = base64.b64encode(sign(SECRETS["x_consumer_secret"], b"abc")).decode()
            assert (await response.json())["response_token"] == f"sha256={expected}"
        async with session.get(f"{hook.url}/linkedin",
                               params={"challengeCode": "c-1"}) as response:
            answer = await response.json()
            assert answer["challengeResponse"] == sign(SECRETS["linkedin_client_secret"],
                                                       b"c-1").hex()


async def test_a_source_over_its_rate_gets_429_with_retry_after(hook: Hook) -> None:
    statuses = []
    async with ClientSession() as session:
        for _ in range(45):
            async with session.post(f"{hook.url}/news", data=b"{}") as response:
                statuses.append(response.status)
                if response.status == 429:
                    assert response.headers["Retry-After"]
    assert statuses.count(429) >= 4
    assert 401 in statuses  # the first ones were only refused for lack of signature
