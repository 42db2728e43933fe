"""The webhook edge: loopback by default, signatures mandatory outside dev mode (a blank
secret is none), handshakes that sign nothing but tokens, signatures bound to their
platform, read deadlines, rate limits per source. Each attack is made for real against
a receiver served on loopback and publishing to the embedded broker. (Signatures,
replays, stale timestamps and body limits per platform: tests/integration/test_webhook.py;
arbitrary requests: tests/unit/test_fuzz_webhook.py.)"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from confluent_kafka import Message
from pydantic import SecretStr

from base.kafka import create_topics
from base.logs import TEXT_FORMAT, SafeJsonFormatter, scrub
from base.settings import Settings, WebhookSettings
from core.brands import BrandDirectory
from core.normalize import Source, normalize_or_refuse
from ingest.publisher import RawPublisher
from ingest.webhook import SECRET_FIELD, Receiver, TokenBuckets, UnsafeConfiguration, serve
from schemas.deadletter import DeadLetter
from schemas.events import Platform
from tests.support.kafka_reader import read_to_end
from tests.support.webhook_signing import hmac_sha256, signed
from vigie.embedded import free_port


def test_receiver_and_worker_listen_on_loopback_unless_told_otherwise() -> None:
    defaults = Settings()
    assert defaults.webhook.host == "127.0.0.1"
    assert defaults.web_host == "127.0.0.1"
    assert defaults.webhook.dev_mode is False


async def test_served_receiver_binds_loopback_and_refuses_unsigned_deliveries_without_secret(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"webhook": WebhookSettings(port=free_port())})
    async with served(settings) as url:
        assert url.startswith("http://127.0.0.1:")
        async with ClientSession() as session:
            for platform in Platform:
                async with session.post(f"{url}/webhooks/{platform.value}",
                                        data=b'{"any": "thing"}') as answer:
                    assert answer.status == 403, platform
                    assert "outside dev mode" in (await answer.json())["error"]
    for platform in Platform:
        assert read_to_end(settings.kafka.bootstrap_servers, settings.topics.raw(platform)) == []


async def test_dev_mode_accepts_unsigned_deliveries_only_for_platforms_without_a_secret(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"webhook": WebhookSettings(
        dev_mode=True, meta_app_secret=SecretStr("set"))})
    await create_topics(settings)
    async with RawPublisher(settings, linger_ms=0) as publisher:
        client = TestClient(TestServer(Receiver(settings, publisher).app()))
        await client.start_server()
        try:
            async with client.post("/webhooks/news", data=b'{"title": "x"}') as answer:
                assert answer.status == 200
            async with client.post("/webhooks/facebook", data=b'{"object": "page"}') as answer:
                assert answer.status == 401
        finally:
            await client.close()
    assert len(read_to_end(settings.kafka.bootstrap_servers,
                           settings.topics.raw(Platform.NEWS))) == 1
    assert read_to_end(settings.kafka.bootstrap_servers,
                       settings.topics.raw(Platform.FACEBOOK)) == []


def test_rate_limit_is_kept_per_source() -> None:
    buckets = TokenBuckets(rate=1.0, burst=3)
    assert [buckets.take("10.0.0.1", now=0.0) == 0 for _ in range(4)] == [True] * 3 + [False]
    assert buckets.take("10.0.0.2", now=0.0) == 0, "another source keeps its own budget"
    assert buckets.take("10.0.0.1", now=1.0) == 0, "the budget refills with time"


def test_rate_limit_memory_is_bounded_by_the_number_of_sources_kept() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1, max_sources=100)
    for i in range(10_000):
        buckets.take(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", now=0.0)
    assert len(buckets._buckets) == 100


# -- served on loopback: what an attacker or a careless operator can do -----------------

PAYLOADS = Path(__file__).parents[1] / "data" / "payloads"
WEBHOOK_SECRETS = {
    "meta_app_secret": "sec-meta", "meta_verify_token": "sec-verify-me",
    "x_consumer_secret": "sec-x", "twitch_secret": "sec-twitch",
    "telegram_secret_token": "sec-telegram", "linkedin_client_secret": "sec-linkedin",
    "tiktok_client_secret": "sec-tiktok", "forum_secret": "sec-forum",
    "shared_secret": "sec-pollers",
}
SECRET_FIELDS = [name for name in WEBHOOK_SECRETS if name != "meta_verify_token"]


def body_of(platform: str, case: str) -> bytes:
    return orjson.dumps(orjson.loads((PAYLOADS / platform / f"{case}.json").read_bytes()))


# One real delivery per platform family, as its platform would send it.
BODIES = {
    Platform.FACEBOOK: body_of("facebook", "comment_with_emoji"),
    Platform.X: body_of("x", "mention_with_metrics"),
    Platform.TWITCH: orjson.dumps(
        orjson.loads(body_of("twitch", "chat_message_with_emote"))["payload"]),
    Platform.TELEGRAM: body_of("telegram", "business_dm"),
    Platform.LINKEDIN: body_of("linkedin", "comment_on_org_post"),
    Platform.FORUM: body_of("forum", "first_post_of_topic"),
    Platform.TIKTOK: body_of("tiktok", "comment_content_as_string"),
    Platform.YOUTUBE: body_of("youtube", "thread_with_replies"),
}


def with_webhook(settings: Settings, **config: Any) -> Settings:
    webhook = settings.webhook.model_copy(update={"port": free_port(), **config})
    return settings.model_copy(update={"webhook": webhook})


def secrets_of(**values: str) -> dict[str, SecretStr]:
    return {name: SecretStr(value) for name, value in (WEBHOOK_SECRETS | values).items()}


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    """``serve`` on loopback (topics created); yields its URL, stops it on exit."""
    await create_topics(settings)
    listening: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def ready(url: str) -> None:
        listening.set_result(url)

    server = asyncio.create_task(serve(settings, ready=ready))
    try:
        done, _ = await asyncio.wait({server, listening}, timeout=30,
                                     return_when=asyncio.FIRST_COMPLETED)
        if server in done:
            server.result()  # raises what stopped it
        yield listening.result()
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with ClientSession() as session, session.post(url, data=body,
                                                         headers=headers) as answer:
        return answer.status, await answer.text()


def raw_records(settings: Settings, platform: Platform) -> list[Message]:
    return read_to_end(settings.kafka.bootstrap_servers, settings.topics.raw(platform))


async def test_a_blank_secret_variable_or_file_refuses_deliveries_signed_with_an_empty_key(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """deploy/env/webhook.env.example once shipped every secret blank, and a blank
    secret was an empty HMAC key: anyone could sign."""
    empty = tmp_path / "empty-secret"
    empty.write_text("\n")
    for name in (*SECRET_FIELDS, "meta_verify_token"):
        monkeypatch.setenv(WebhookSettings.variable(name), "")
    for name in ("x_consumer_secret", "twitch_secret"):  # as empty Docker secrets
        monkeypatch.delenv(WebhookSettings.variable(name))
        monkeypatch.setenv(WebhookSettings.variable(name) + "_FILE", str(empty))
    monkeypatch.setenv(WebhookSettings.variable("shared_secret"), "   ")
    from_env = Settings().webhook
    settings = with_webhook(settings, **{
        name: getattr(from_env, name) for name in WEBHOOK_SECRETS})
    caplog.set_level(logging.WARNING, logger="ingest")
    blank = {name: "" for name in WEBHOOK_SECRETS}
    async with served(settings) as url:
        for platform, body in BODIES.items():
            headers = signed(platform, body, at=time.time(), secrets=blank)
            status, answer = await post(f"{url}/webhooks/{platform.value}", body, headers)
            variable = WebhookSettings.variable(SECRET_FIELD.get(platform, "shared_secret"))
            assert (status, variable in answer) == (403, True), (platform, answer)
        async with ClientSession() as session, session.get(
            f"{url}/webhooks/facebook",
            params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "42"},
        ) as answer:
            assert answer.status == 403
    for platform in BODIES:
        assert raw_records(settings, platform) == []
    warnings = caplog.text
    for name in SECRET_FIELDS:
        assert WebhookSettings.variable(name) in warnings, name


async def test_x_and_linkedin_handshakes_sign_no_json_so_no_forged_delivery_gets_in(
    settings: Settings,
) -> None:
    """The X challenge-response check signs its token with the delivery key: a JSON
    body passed as the token came back with the signature X would send for it."""
    settings = with_webhook(settings, **secrets_of())
    forged = orjson.dumps({"for_user_id": "2244994945", "tweet_create_events": [{
        "id_str": "1900000000000000001", "text": "@AuroreAir forged crisis post",
        "created_at": "Wed Oct 10 20:19:24 +0000 2018",
        "user": {"id_str": "66", "screen_name": "forger", "followers_count": 1}}]})
    async with served(settings) as url, ClientSession() as session:
        async with session.get(f"{url}/webhooks/x",
                               params={"crc_token": forged.decode()}) as answer:
            assert answer.status == 400
            oracle = await answer.json()
        assert "response_token" not in oracle
        status, _ = await post(f"{url}/webhooks/x", forged, {
            "X-Twitter-Webhooks-Signature": "sha256=" + base64.b64encode(b"").decode()})
        assert status == 403
        async with session.get(f"{url}/webhooks/linkedin",
                               params={"challengeCode": '{"a": 1}'}) as answer:
            assert answer.status == 400
        async with session.get(f"{url}/webhooks/x",
                               params={"crc_token": "NzY2NTQzMjE-_x=+/"}) as answer:
            expected = base64.b64encode(hmac_sha256("sec-x", b"NzY2NTQzMjE-_x=+/")).decode()
            assert (await answer.json())["response_token"] == f"sha256={expected}"
        async with session.get(
            f"{url}/webhooks/linkedin",
            params={"challengeCode": "890e4665-4dfe-4ab1-b689-ed553bceeed0"},
        ) as answer:
            assert answer.status == 200
    assert raw_records(settings, Platform.X) == []


async def test_handshakes_are_rate_limited_per_source(settings: Settings) -> None:
    settings = with_webhook(settings, handshake_burst=5, handshake_rate_per_s=0.01,
                            **secrets_of())
    statuses = []
    async with served(settings) as url, ClientSession() as session:
        for i in range(8):
            async with session.get(f"{url}/webhooks/x", params={"crc_token": f"t{i}"}) as r:
                statuses.append(r.status)
    assert statuses == [200] * 5 + [429] * 3


async def test_signatures_are_bound_to_the_platform_of_the_url(settings: Settings) -> None:
    """One Meta app secret signs four products and one secret all the pollers: a
    delivery signed for one platform is refused at another's URL."""
    settings = with_webhook(settings, **secrets_of())
    secrets = WEBHOOK_SECRETS
    page = BODIES[Platform.FACEBOOK]
    poll = BODIES[Platform.YOUTUBE]
    async with served(settings) as url:
        meta_headers = signed(Platform.FACEBOOK, page, at=time.time(), secrets=secrets)
        for elsewhere in ("instagram", "whatsapp"):
            status, answer = await post(f"{url}/webhooks/{elsewhere}", page, meta_headers)
            assert (status, "page" in answer) == (403, True), elsewhere
        youtube_headers = signed(Platform.YOUTUBE, poll, at=time.time(), secrets=secrets)
        assert (await post(f"{url}/webhooks/news", poll, youtube_headers))[0] == 403
        assert (await post(f"{url}/webhooks/youtube", poll, youtube_headers))[0] == 200
        assert (await post(f"{url}/webhooks/facebook", page, meta_headers))[0] == 200
    for platform in (Platform.INSTAGRAM, Platform.WHATSAPP, Platform.NEWS):
        assert raw_records(settings, platform) == []


async def test_twitch_timestamps_ahead_by_more_than_the_clock_skew_are_refused(
    settings: Settings,
) -> None:
    """A timestamp in the future stretched the replay window: its id was forgotten
    while its timestamp was still fresh."""
    settings = with_webhook(settings, **secrets_of())
    body = BODIES[Platform.TWITCH]
    async with served(settings) as url:
        ahead = signed(Platform.TWITCH, body, at=time.time() + 300, secrets=WEBHOOK_SECRETS)
        status, answer = await post(f"{url}/webhooks/twitch", body, ahead)
        assert (status, "future" in answer) == (403, True)
        skewed = signed(Platform.TWITCH, body, at=time.time() + 20, secrets=WEBHOOK_SECRETS)
        assert (await post(f"{url}/webhooks/twitch", body, skewed))[0] == 200
    assert len(raw_records(settings, Platform.TWITCH)) == 1


async def test_the_meta_verify_token_never_reaches_the_logs(
    settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    settings = with_webhook(settings, **secrets_of())
    caplog.set_level(logging.DEBUG)
    query = {"hub.mode": "subscribe", "hub.verify_token": WEBHOOK_SECRETS["meta_verify_token"],
             "hub.challenge": "1158201444"}
    async with served(settings) as url, ClientSession() as session, session.get(
        f"{url}/webhooks/instagram", params=query
    ) as answer:
        assert (answer.status, await answer.text()) == (200, "1158201444")
    access = [r for r in caplog.records if r.name == "aiohttp.access"]
    assert access, "the handshake must have been logged"
    lines = [logging.Formatter(TEXT_FORMAT).format(r) for r in caplog.records] + \
        [SafeJsonFormatter().format(r) for r in caplog.records]
    assert any("/webhooks/instagram" in line for line in lines)
    assert not [line for line in lines if WEBHOOK_SECRETS["meta_verify_token"] in line]
    assert "hub.verify_token=<redacted>" in scrub("GET /?hub.verify_token=x&hub.challenge=1")


async def test_dev_mode_is_refused_off_loopback_and_warned_of_loudly_on_it(
    settings: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    exposed = with_webhook(settings, dev_mode=True, host="0.0.0.0")
    with pytest.raises(UnsafeConfiguration, match="loopback"):
        async with served(exposed):
            pass
    caplog.set_level(logging.WARNING, logger="ingest")
    local = with_webhook(settings, dev_mode=True, meta_app_secret=SecretStr("set"))
    body = BODIES[Platform.TWITCH]
    async with served(local) as url:
        assert "DEV MODE" in caplog.text
        assert "UNSIGNED" in caplog.text
        status, _ = await post(f"{url}/webhooks/twitch", body, {
            "Twitch-Eventsub-Message-Type": "notification",
            "Twitch-Eventsub-Subscription-Type": "channel.chat.message"})
        assert status == 200
    [record] = raw_records(local, Platform.TWITCH)
    events = normalize_or_refuse(Platform.TWITCH, record.value(), BrandDirectory.load(),
                                 Source(record.topic(), record.partition(), record.offset(),
                                        record.key()))
    assert not isinstance(events, DeadLetter), "an unsigned Twitch body still gets its envelope"
    assert len(events) == 1


async def test_slow_clients_are_dropped_and_counted(settings: Settings) -> None:
    """30 connections trickle their headers, 30 their body (slowloris): each is dropped
    once past its deadline, instead of being held for minutes."""
    settings = with_webhook(settings, header_timeout_s=1.0, body_timeout_s=1.0,
                            **secrets_of())
    async with served(settings) as url:
        port = int(url.rsplit(":", 1)[1])
        head = b"POST /webhooks/news HTTP/1.1\r\nHost: vigie\r\n"
        slow_headers = [trickle(port, head, b"X-Slow: 1\r\n") for _ in range(30)]
        slow_bodies = [trickle(port, head + b"Content-Length: 100000\r\n\r\n{", b"x")
                       for _ in range(30)]
        started = time.monotonic()
        held = await asyncio.gather(*slow_headers, *slow_bodies)
        assert max(held) < 6.0, f"a slow client was held {max(held):.1f} s"
        assert time.monotonic() - started < 10.0
        async with ClientSession() as session, session.get(f"{url}/health") as answer:
            counts = (await answer.json())["slow_clients_dropped"]
    assert counts == {"headers": 30, "body": 30}
    assert raw_records(settings, Platform.NEWS) == []


async def trickle(port: int, start: bytes, more: bytes, limit_s: float = 20.0) -> float:
    """Send ``start``, then ``more`` every 0.2 s until the server closes the connection
    (or ``limit_s`` passes); how long the connection was held."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    opened = time.monotonic()
    try:
        writer.write(start)
        while time.monotonic() - opened < limit_s:
            try:
                await writer.drain()
                if await asyncio.wait_for(reader.read(1024), 0.2) == b"":
                    break
            except TimeoutError:
                writer.write(more)
            except ConnectionError:
                break
        return time.monotonic() - opened
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
