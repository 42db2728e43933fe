"""The webhook edge: loopback by default, signatures mandatory outside dev mode, rate
limits per source. (Signatures, replays, stale timestamps and body limits per platform:
tests/integration/test_webhook.py; arbitrary requests: tests/unit/test_fuzz_webhook.py.)"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from ingest.publisher import RawPublisher
from ingest.webhook import Receiver, TokenBuckets, serve
from schemas.events import Platform
from tests.kafka_reader import read_to_end
from vigie.embedded import free_port
from vigie.kafka import create_topics
from vigie.settings import Settings, WebhookSettings


def test_receiver_and_worker_listen_on_loopback_unless_told_otherwise() -> None:
    defaults = Settings()
    assert defaults.webhook.host == "127.0.0.1"
    assert defaults.web_host == "127.0.0.1"
    assert defaults.webhook.dev_mode is False


async def test_served_receiver_binds_loopback_and_refuses_unsigned_deliveries_without_secret(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"webhook": WebhookSettings(port=free_port())})
    await create_topics(settings)
    listening: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def ready(url: str) -> None:
        listening.set_result(url)

    server = asyncio.create_task(serve(settings, ready=ready))
    try:
        url = await asyncio.wait_for(listening, 30)
        assert url.startswith("http://127.0.0.1:")
        async with ClientSession() as session:
            for platform in Platform:
                async with session.post(f"{url}/webhooks/{platform.value}",
                                        data=b'{"any": "thing"}') as answer:
                    assert answer.status == 403, platform
                    assert "outside dev mode" in (await answer.json())["error"]
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server
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
