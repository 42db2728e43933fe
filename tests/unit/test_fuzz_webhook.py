"""Fuzzing the webhook receiver: any path, body and signature gets an answer, never a 5xx.

Bodies are the adapter fuzzer's damaged payloads plus empty, random and oversized
ones; each is sent unsigned, forged, stale or correctly signed, to a known or an
unknown platform. Unknown platform: 404; unsigned: 401; forged or stale: 403; too
large: 413; signed: 200, the bytes published untouched, and the normalize stage
turns them into events or a dead letter. The publisher is an in-memory stand-in so
that 10,000 cases (``--run-slow``; 500 in CI) stay fast; the Kafka path of the
receiver is covered by tests/integration/test_webhook.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from ingest.webhook import META, Receiver
from schemas.deadletter import DeadLetter
from schemas.events import Platform
from streams.normalize import normalize_or_refuse
from tests.unit.test_fuzz_adapters import BRANDS, SOURCE, damaged
from vigie.settings import Settings, WebhookSettings

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


def _hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def signed(platform: Platform, body: bytes, *, at: float, key: str = "") -> dict[str, str]:
    """The headers each platform signs a delivery with (``key`` forges the secret)."""
    def secret(name: str) -> str:
        return key or SECRETS[name]

    if platform in META:
        return {"X-Hub-Signature-256": "sha256=" + _hmac(secret("meta_app_secret"), body).hex()}
    if platform == Platform.X:
        digest = base64.b64encode(_hmac(secret("x_consumer_secret"), body)).decode()
        return {"X-Twitter-Webhooks-Signature": f"sha256={digest}"}
    if platform == Platform.TELEGRAM:
        return {"X-Telegram-Bot-Api-Secret-Token": secret("telegram_secret_token")}
    if platform == Platform.LINKEDIN:
        return {"X-LI-Signature": _hmac(secret("linkedin_client_secret"), body).hex()}
    if platform == Platform.FORUM:
        return {"X-Discourse-Event-Signature":
                "sha256=" + _hmac(secret("forum_secret"), body).hex()}
    if platform == Platform.TWITCH:
        message_id = hashlib.sha256(body + str(at).encode()).hexdigest()[:20]
        stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        digest = _hmac(secret("twitch_secret"), (message_id + stamp).encode() + body).hex()
        return {"Twitch-Eventsub-Message-Id": message_id,
                "Twitch-Eventsub-Message-Timestamp": stamp,
                "Twitch-Eventsub-Message-Signature": f"sha256={digest}"}
    name = "tiktok_client_secret" if platform == Platform.TIKTOK else "shared_secret"
    header = "TikTok-Signature" if platform == Platform.TIKTOK else "X-Vigie-Signature"
    stamp = str(int(at))
    return {header: f"t={stamp},s=" + _hmac(secret(name), stamp.encode() + b"." + body).hex()}


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

