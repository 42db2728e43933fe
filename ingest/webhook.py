"""The webhook receiver: verify each platform's signature, then publish the raw body.

``POST /webhooks/<platform>`` for every platform of the contract, plus the GET
handshakes platforms use to check an endpoint (Meta ``hub.challenge``, X
``crc_token``, LinkedIn ``challengeCode``). For each delivery, in this order:
per-source rate limit (429), body size limit (413), signature (401 when absent,
403 when wrong, stale or replayed), then :meth:`RawPublisher.publish`; the 2xx is
sent only after Kafka acknowledged, so a platform retries anything not stored
(503). Forged or unsigned requests never reach Kafka.

Signatures, per platform:
- Meta (facebook, messenger, instagram, whatsapp): ``X-Hub-Signature-256:
  sha256=<hex HMAC-SHA256(app secret, body)>``.
- X: ``X-Twitter-Webhooks-Signature: sha256=<base64 HMAC-SHA256(consumer secret, body)>``.
- Twitch EventSub: ``Twitch-Eventsub-Message-Signature: sha256=<hex HMAC(secret,
  message id + timestamp + body)>``; timestamps older than ``max_age_s`` and message
  ids already seen are refused. The body is published inside EventSub's WebSocket
  envelope (metadata from the headers, body bytes untouched) so it keeps its time.
- Telegram: ``X-Telegram-Bot-Api-Secret-Token`` equals the configured token.
- LinkedIn: ``X-LI-Signature: [hmacsha256=]<hex HMAC(client secret, body)>``.
- Forum (Discourse): ``X-Discourse-Event-Signature: sha256=<hex HMAC(secret, body)>``.
- TikTok: ``TikTok-Signature: t=<unix>,s=<hex HMAC(secret, "<t>." + body)>``; the
  pollers of the other platforms sign the same way with the shared secret in
  ``X-Vigie-Signature``. Timestamps older than ``max_age_s`` are refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson
from aiohttp import web
from pydantic import SecretStr

from ingest.publisher import RawPublisher
from schemas.events import Platform, utcnow
from streams.adapters.base import PayloadError, from_iso
from vigie.settings import Settings, WebhookSettings

META = frozenset({Platform.FACEBOOK, Platform.MESSENGER, Platform.INSTAGRAM, Platform.WHATSAPP})
SOURCE = "webhook"


class Refused(Exception):
    """A delivery refused with an HTTP status and a reason the sender can read."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def hmac_sha256(secret: SecretStr, message: bytes) -> bytes:
    return hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).digest()


def _check(expected: str, given: str | None, header: str) -> None:
    if not given:
        raise Refused(401, f"missing signature header {header}")
    if not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise Refused(403, f"invalid signature in {header}")


def _fresh(moment: float, max_age_s: float) -> None:
    age = time.time() - moment
    if age > max_age_s:
        raise Refused(403, f"stale delivery: signed {int(age)} s ago (limit {int(max_age_s)} s)")
    if age < -max_age_s:
        raise Refused(403, "delivery signed in the future")


@dataclass
class TokenBuckets:
    """Per-source rate limit: ``rate`` requests per second, bursts up to ``burst``."""

    rate: float
    burst: int
    max_sources: int = 10_000
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def take(self, source: str, now: float | None = None) -> float:
        """0 when allowed, else the seconds to wait before the next request is allowed."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(source, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        self._buckets[source] = (tokens - 1 if wait == 0 else tokens, now)
        while len(self._buckets) > self.max_sources:
            self._buckets.popitem(last=False)
        return wait


@dataclass
class SeenIds:
    """Message ids accepted within the replay window (older ones are refused as stale)."""

    window_s: float
    _seen: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def claim(self, message_id: str) -> bool:
        """Record ``message_id``; False when it was already seen inside the window."""
        now = time.monotonic()
        while self._seen and next(iter(self._seen.values())) < now - self.window_s:
            self._seen.popitem(last=False)
        if message_id in self._seen:
            return False
        self._seen[message_id] = now
        return True

    def release(self, message_id: str) -> None:
        """Forget an id whose delivery failed, so the platform's retry is accepted."""
        self._seen.pop(message_id, None)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A verified delivery: the bytes to publish and, for Twitch, the id to deduplicate."""

    value: bytes
    message_id: str | None = None


Verifier = Callable[[web.Request, bytes], Accepted]


class Receiver:
    """The aiohttp application and the state its checks share (rate limits, seen ids)."""

    def __init__(self, settings: Settings, publisher: RawPublisher) -> None:
        self.config: WebhookSettings = settings.webhook
        self.publisher = publisher
        self.buckets = TokenBuckets(self.config.rate_per_s, self.config.burst)
        self.seen = SeenIds(self.config.max_age_s)
        c = self.config
        self.verifiers: dict[Platform, tuple[SecretStr | None, Verifier]] = {
            **{p: (c.meta_app_secret, self._meta) for p in META},
            Platform.X: (c.x_consumer_secret, self._x),
            Platform.TWITCH: (c.twitch_secret, self._twitch),
            Platform.TELEGRAM: (c.telegram_secret_token, self._telegram),
            Platform.LINKEDIN: (c.linkedin_client_secret, self._linkedin),
            Platform.FORUM: (c.forum_secret, self._discourse),
            Platform.TIKTOK: (c.tiktok_client_secret, self._timestamped("TikTok-Signature")),
        }
        for platform in Platform:
            self.verifiers.setdefault(
                platform, (c.shared_secret, self._timestamped("X-Vigie-Signature"))
            )

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes)
        app.router.add_post("/webhooks/{platform}", self.receive)
        app.router.add_get("/webhooks/{platform}", self.handshake)
        app.router.add_get("/health", self.health)
        return app

    # -- per-platform signature checks -------------------------------------------------

    def _secret(self, platform: Platform) -> SecretStr:
        secret = self.verifiers[platform][0]
        if secret is None:
            raise Refused(403, f"no secret configured for {platform.value}: unsigned "
                               "deliveries are refused outside dev mode")
        return secret

    def _meta(self, request: web.Request, body: bytes) -> Accepted:
        digest = hmac_sha256(self._secret(Platform(request.match_info["platform"])), body)
        _check(f"sha256={digest.hex()}", request.headers.get("X-Hub-Signature-256"),
               "X-Hub-Signature-256")
        return Accepted(body)

    def _x(self, request: web.Request, body: bytes) -> Accepted:
        digest = base64.b64encode(hmac_sha256(self._secret(Platform.X), body)).decode()
        header = "X-Twitter-Webhooks-Signature"
        _check(f"sha256={digest}", request.headers.get(header), header)
        return Accepted(body)

    def _telegram(self, request: web.Request, body: bytes) -> Accepted:
        header = "X-Telegram-Bot-Api-Secret-Token"
        _check(self._secret(Platform.TELEGRAM).get_secret_value(), request.headers.get(header),
               header)
        return Accepted(body)

    def _linkedin(self, request: web.Request, body: bytes) -> Accepted:
        given = request.headers.get("X-LI-Signature", "").removeprefix("hmacsha256=")
        _check(hmac_sha256(self._secret(Platform.LINKEDIN), body).hex(), given, "X-LI-Signature")
        return Accepted(body)

    def _discourse(self, request: web.Request, body: bytes) -> Accepted:
        header = "X-Discourse-Event-Signature"
        digest = hmac_sha256(self._secret(Platform.FORUM), body).hex()
        _check(f"sha256={digest}", request.headers.get(header), header)
        return Accepted(body)

    def _timestamped(self, header: str) -> Verifier:
        """``t=<unix>,s=<hex HMAC(secret, "<t>." + body)>`` (TikTok's scheme)."""

        def verify(request: web.Request, body: bytes) -> Accepted:
            secret = self._secret(Platform(request.match_info["platform"]))
            given = request.headers.get(header)
            if not given:
                raise Refused(401, f"missing signature header {header}")
            parts = dict(p.split("=", 1) for p in given.split(",") if "=" in p)
            stamp = parts.get("t", "")
            if not stamp.isdigit():
                raise Refused(403, f"{header} has no t=<unix time>")
            _check(hmac_sha256(secret, stamp.encode() + b"." + body).hex(), parts.get("s"),
                   header)
            _fresh(int(stamp), self.config.max_age_s)
            return Accepted(body)

        return verify

    def _twitch(self, request: web.Request, body: bytes) -> Accepted:
        headers = request.headers
        message_id = headers.get("Twitch-Eventsub-Message-Id", "")
        stamp = headers.get("Twitch-Eventsub-Message-Timestamp", "")
        header = "Twitch-Eventsub-Message-Signature"
        digest = hmac_sha256(self._secret(Platform.TWITCH), (message_id + stamp).encode() + body)
        _check(f"sha256={digest.hex()}", headers.get(header), header)
        try:
            _fresh(from_iso(stamp, "timestamp").timestamp(), self.config.max_age_s)
        except PayloadError:
            raise Refused(403, "Twitch-Eventsub-Message-Timestamp is not a timestamp") from None
        if not message_id:
            raise Refused(403, "missing Twitch-Eventsub-Message-Id")
        metadata = {
            "message_id": message_id,
            "message_type": headers.get("Twitch-Eventsub-Message-Type", "notification"),
            "message_timestamp": stamp,
            "subscription_type": headers.get("Twitch-Eventsub-Subscription-Type"),
            "subscription_version": headers.get("Twitch-Eventsub-Subscription-Version"),
        }
        envelope = b'{"metadata":' + orjson.dumps(metadata) + b',"payload":' + body + b"}"
        return Accepted(envelope, message_id)

    # -- handlers ------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def handshake(self, request: web.Request) -> web.Response:
        """The GET checks platforms make before sending deliveries to an endpoint."""
        try:
            platform = _platform(request)
            query = request.query
            if platform in META and "hub.challenge" in query:
                token = self.config.meta_verify_token
                given = query.get("hub.verify_token", "")
                if query.get("hub.mode") != "subscribe" or token is None or not hmac.compare_digest(
                    token.get_secret_value().encode(), given.encode()
                ):
                    raise Refused(403, "hub.verify_token does not match")
                return web.Response(text=query["hub.challenge"])
            if platform == Platform.X and "crc_token" in query:
                digest = hmac_sha256(self._secret(Platform.X), query["crc_token"].encode())
                return web.json_response(
                    {"response_token": "sha256=" + base64.b64encode(digest).decode()}
                )
            if platform == Platform.LINKEDIN and "challengeCode" in query:
                code = query["challengeCode"]
                answer = hmac_sha256(self._secret(Platform.LINKEDIN), code.encode()).hex()
                return web.json_response({"challengeCode": code, "challengeResponse": answer})
            raise Refused(400, f"no handshake for {platform.value} with these parameters")
        except Refused as refused:
            return _refusal(refused)

    async def receive(self, request: web.Request) -> web.Response:
        try:
            platform = _platform(request)
            wait = self.buckets.take(request.remote or "unknown")
            if wait:
                raise Refused(429, f"rate limit exceeded for this source; retry in {wait:.1f} s")
            body = await self._body(request)
            accepted = self._verify(platform, request, body)
            if platform == Platform.TWITCH:
                return await self._twitch_delivery(request, body, accepted)
            return await self._publish(platform, accepted)
        except Refused as refused:
            return _refusal(refused)

    async def _body(self, request: web.Request) -> bytes:
        limit = self.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise Refused(413, f"body of {request.content_length} bytes exceeds {limit} bytes")
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Refused(413, f"body exceeds {limit} bytes") from None

    def _verify(self, platform: Platform, request: web.Request, body: bytes) -> Accepted:
        secret, verifier = self.verifiers[platform]
        if secret is None and self.config.dev_mode:
            return Accepted(body)
        return verifier(request, body)

    async def _twitch_delivery(
        self, request: web.Request, body: bytes, accepted: Accepted
    ) -> web.Response:
        """Verification challenges and revocations are answered, notifications published."""
        kind = request.headers.get("Twitch-Eventsub-Message-Type", "notification")
        if kind == "webhook_callback_verification":
            try:
                return web.Response(text=str(orjson.loads(body)["challenge"]))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise Refused(400, "verification request without a challenge") from None
        if kind == "revocation":
            return web.Response(status=204)
        message_id = accepted.message_id or ""
        if not self.seen.claim(message_id):
            raise Refused(403, f"replayed Twitch message id {message_id[:64]}")
        try:
            return await self._publish(Platform.TWITCH, accepted)
        except BaseException:
            self.seen.release(message_id)
            raise

    async def _publish(self, platform: Platform, accepted: Accepted) -> web.Response:
        try:
            record = await self.publisher.publish(
                platform, accepted.value, source=SOURCE, received_at=utcnow()
            )
        except Exception as exc:  # the platform must retry: nothing was stored
            raise Refused(503, f"could not store the delivery, retry later ({type(exc).__name__})"
                          ) from exc
        return web.json_response(
            {"status": "accepted", "topic": record.topic, "partition": record.partition,
             "offset": record.offset}
        )


def _platform(request: web.Request) -> Platform:
    name = request.match_info["platform"]
    try:
        return Platform(name)
    except ValueError:
        raise Refused(404, f"unknown platform {name[:40]!r}") from None


def _refusal(refused: Refused) -> web.Response:
    headers = {}
    if refused.status == 429:
        headers["Retry-After"] = "1"
    return web.json_response({"error": refused.reason}, status=refused.status, headers=headers)


async def serve(settings: Settings, *, ready: Callable[[str], Awaitable[None]] | None = None
                ) -> None:
    """Run the receiver until cancelled; ``ready`` is called with its URL once it listens."""
    async with RawPublisher(settings, linger_ms=0) as publisher:
        runner = web.AppRunner(Receiver(settings, publisher).app())
        await runner.setup()
        site = web.TCPSite(runner, settings.webhook.host, settings.webhook.port)
        await site.start()
        try:
            if ready is not None:
                await ready(f"http://{settings.webhook.host}:{settings.webhook.port}")
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
