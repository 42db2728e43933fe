"""Fuzzing the webhook receiver: any path, body and signature gets an answer, never a 5xx.

Bodies are the parser fuzzer's damaged payloads plus empty, random and oversized
ones; each is sent unsigned, forged, stale or correctly signed, to a known or an
unknown platform. Unknown platform: 404; unsigned: 401; forged or stale: 403; too
large: 413; signed: 200, the bytes published untouched, and the normalize stage
turns them into events or a dead letter. The publisher is an in-memory stand-in so
that 10,000 cases (``--run-slow``; 500 in CI) stay fast; the Kafka path of the
receiver is covered by tests/integration/test_webhook.py.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from base.settings import Settings, WebhookSettings
from core.normalize import normalize_or_refuse
from ingest.webhook import META, META_OBJECT, Receiver
from schemas.deadletter import DeadLetter
from schemas.events import Platform
from tests.support.damage import BRANDS, SOURCE, damaged
from tests.support.webhook_signing import signed as sign

SECRETS = {
    "meta_app_secret": "fz-meta", "x_consumer_secret": "fz-x", "twitch_secret": "fz-twitch",
    "telegram_secret_token": "fz-telegram", "linkedin_client_secret": "fz-linkedin",
    "tiktok_client_secret": "fz-tiktok", "forum_secret": "fz-forum", "shared_secret": "fz-poll",
}
MAX_BODY = 200_000
CI_CASES, FULL_CASES = 500, 10_000


@dataclass
class Published:
    topic: str
    partition: int = 0
    offset: int = 0


class MemoryPublisher:
    """Stands in for RawPublisher: keeps what the receiver would have sent to Kafka."""

    def __init__(self) -> None:
        self.values: list[tuple[Platform, bytes]] = []

    async def publish(self, platform: Platform, value: bytes, **_: Any) -> Published:
        self.values.append((platform, value))
        return Published(f"raw.{platform.value}", offset=len(self.values))


def signed(platform: Platform, body: bytes, *, at: float, key: str = "") -> dict[str, str]:
    """The headers each platform signs a delivery with (``key`` forges the secret)."""
    return sign(platform, body, at=at,
                secrets={name: key or value for name, value in SECRETS.items()})


def meta_object_elsewhere(platform: Platform, body: bytes) -> bool:
    """A Meta body naming another product's object: refused even when signed."""
    try:
        named = orjson.loads(body).get("object")
    except (orjson.JSONDecodeError, AttributeError):
        return False
    return platform in META and isinstance(named, str) and named != META_OBJECT[platform]


SIGNINGS = ("valid", "none", "forged", "stale", "garbage")
known = st.sampled_from(list(Platform))
cases = st.tuples(
    known.flatmap(lambda p: st.tuples(st.just(p), damaged(p).map(lambda c: c[1]))),
    st.sampled_from(SIGNINGS),
    st.one_of(st.none(), st.text(min_size=1, max_size=30).filter(
        lambda t: t not in {p.value for p in Platform} and "/" not in t and "?" not in t
        and "#" not in t and t.strip() == t and t not in (".", ".."))),
)


def expected_status(signing: str, unknown: bool, size: int) -> set[int]:
    if unknown:
        return {404}
    if size > MAX_BODY:
        return {413}
    return {"valid": {200}, "none": {401}, "forged": {403}, "stale": {403},
            "garbage": {401, 403}}[signing]


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[asyncio.AbstractEventLoop, TestClient, MemoryPublisher]]:
    loop = asyncio.new_event_loop()
    publisher = MemoryPublisher()
    config = Settings(webhook=WebhookSettings(
        max_body_bytes=MAX_BODY, rate_per_s=1e9, burst=10**9, max_age_s=600,
        **{k: SecretStr(v) for k, v in SECRETS.items()}))

    async def start() -> TestClient:
        client = TestClient(TestServer(Receiver(config, publisher).app()))  # type: ignore[arg-type]
        await client.start_server()
        return client

    client = loop.run_until_complete(start())
    yield loop, client, publisher
    loop.run_until_complete(client.close())
    loop.close()


def test_any_request_gets_the_right_4xx_or_is_published_for_a_dead_letter_or_events(
    receiver: tuple[asyncio.AbstractEventLoop, TestClient, MemoryPublisher], full_size: bool,
) -> None:
    loop, client, publisher = receiver
    seen: Counter[str] = Counter()

    async def send(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        async with client.post(path, data=body, headers=headers) as answer:
            return answer.status, await answer.read()

    @settings(max_examples=FULL_CASES if full_size else CI_CASES, deadline=None,
              database=None, derandomize=not full_size,
              suppress_health_check=list(HealthCheck))
    @given(cases)
    def check(case: tuple[tuple[Platform, bytes], str, str | None]) -> None:
        (platform, body), signing, unknown = case
        now = time.time()
        headers = {
            "valid": lambda: signed(platform, body, at=now),
            "none": dict,
            "forged": lambda: signed(platform, body, at=now, key="not-the-secret"),
            "stale": lambda: signed(platform, body, at=now - 3600),
            "garbage": lambda: {h: "\u00ff" * 3 for h in signed(platform, body, at=now)},
        }[signing]()
        if signing == "stale" and platform in META | {Platform.X, Platform.TELEGRAM,
                                                      Platform.LINKEDIN, Platform.FORUM}:
            signing = "valid"  # these schemes sign no time: nothing can be stale
        if signing == "valid" and meta_object_elsewhere(platform, body):
            signing = "forged"  # signed by Meta, but for another product's endpoint
        before = len(publisher.values)
        status, answer = loop.run_until_complete(
            send(f"/webhooks/{unknown or platform.value}", body, headers))
        assert status in expected_status(signing, unknown is not None, len(body)), (
            status, signing, answer[:200])
        if status != 200:
            assert b'"error"' in answer or status == 404, "a refusal says why"
            assert len(publisher.values) == before, "a refused request must not be published"
            seen[f"{status}"] += 1
            return
        [(published_platform, value)] = publisher.values[before:]
        assert published_platform == platform
        if platform == Platform.TWITCH:
            assert value.startswith(b'{"metadata":')
            assert value.endswith(b',"payload":' + body + b"}")
        else:
            assert value == body
        result = normalize_or_refuse(platform, value, BRANDS, SOURCE)
        seen["200:" + ("dead_letter" if isinstance(result, DeadLetter) else "events")] += 1

    check()
    print(f"\nwebhook fuzz: {sum(seen.values())} requests {dict(sorted(seen.items()))}")
    assert {"401", "403", "404"} <= seen.keys()

