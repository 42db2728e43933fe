"""The webhook receiver: verify each platform's signature, then publish the raw body.

``POST /webhooks/<platform>`` for every platform of the contract, plus the GET
handshakes platforms use to check an endpoint (Meta ``hub.challenge``, X
``crc_token``, LinkedIn ``challengeCode``). For each delivery, in this order:
per-source rate limit (429), body size limit (413) and read deadline (the client is
dropped, see :mod:`ingest.deadlines`), signature (401 when absent, 403 when wrong,
stale, replayed or signed for another platform), then :meth:`RawPublisher.publish`;
the 2xx is sent only after Kafka acknowledged, so a platform retries anything not
stored (503). Forged or unsigned requests never reach Kafka.

Signatures, per platform:
- Meta (facebook, messenger, instagram, whatsapp): ``X-Hub-Signature-256:
  sha256=<hex HMAC-SHA256(app secret, body)>``. One app secret signs the four, so a
  delivery is bound to its URL by its ``object`` (``page``, ``instagram``,
  ``whatsapp_business_account``).
- X: ``X-Twitter-Webhooks-Signature: sha256=<base64 HMAC-SHA256(consumer secret, body)>``.
- Twitch EventSub: ``Twitch-Eventsub-Message-Signature: sha256=<hex HMAC(secret,
  message id + timestamp + body)>``; timestamps older than ``max_age_s`` or ahead by
  more than ``max_clock_skew_s``, and message ids already seen, are refused. The body
  is published inside EventSub's WebSocket envelope (metadata from the headers, body
  bytes untouched) so it keeps its time.
- Telegram: ``X-Telegram-Bot-Api-Secret-Token`` equals the configured token.
- LinkedIn: ``X-LI-Signature: [hmacsha256=]<hex HMAC(client secret, body)>``.
- Forum (Discourse): ``X-Discourse-Event-Signature: sha256=<hex HMAC(secret, body)>``.
- TikTok: ``TikTok-Signature: t=<unix>,s=<hex HMAC(secret, "<t>." + body)>``. The
  pollers of the other platforms share one secret, so their ``X-Vigie-Signature``
  signs the platform too: ``t=<unix>,s=<hex HMAC(secret, "<t>.<platform>." + body)>``.
  Timestamps older than ``max_age_s`` or ahead by more than ``max_clock_skew_s`` are
  refused.

X and LinkedIn prove an endpoint by signing a challenge with the delivery key, so a
challenge is answered only in the shape those platforms send (a short token of
letters, digits and ``-_.=+/``): never a JSON body whose signature could be replayed
as a delivery. Handshakes have their own, tighter per-source rate limit.

A secret that is unset or blank refuses its platforms' deliveries (the variable is
named in the refusal and in a warning at start). Dev mode accepts unsigned deliveries
for those platforms instead; it is refused on any address but loopback.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from pydantic import SecretStr

from base.settings import Settings, WebhookSettings
from core.parsers.base import PayloadError, from_iso
from ingest.deadlines import SlowClients, TooSlow
from ingest.publisher import RawPublisher
from schemas.events import Platform, utcnow

log = logging.getLogger(__name__)

META = frozenset({Platform.FACEBOOK, Platform.MESSENGER, Platform.INSTAGRAM, Platform.WHATSAPP})
# The ``object`` Meta names in each product's deliveries (one app secret signs them all).
META_OBJECT = {
    Platform.FACEBOOK: "page", Platform.MESSENGER: "page", Platform.INSTAGRAM: "instagram",
    Platform.WHATSAPP: "whatsapp_business_account",
}
# The setting holding each platform's secret; the others are the pollers' shared secret.
SECRET_FIELD: dict[Platform, str] = {
    **{p: "meta_app_secret" for p in META},
    Platform.X: "x_consumer_secret",
    Platform.TWITCH: "twitch_secret",
    Platform.TELEGRAM: "telegram_secret_token",
    Platform.LINKEDIN: "linkedin_client_secret",
    Platform.FORUM: "forum_secret",
    Platform.TIKTOK: "tiktok_client_secret",
}
SHARED_SECRET_FIELD = "shared_secret"
# What X's crc_token, LinkedIn's challengeCode and Meta's hub.challenge look like: no
# JSON (quotes, braces, colons) can be signed or echoed through a handshake.
HANDSHAKE_TOKEN = re.compile(r"[A-Za-z0-9_.=+/-]{1,128}")
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


def _fresh(moment: float, max_age_s: float, max_skew_s: float) -> None:
    age = time.time() - moment
    if age > max_age_s:
        raise Refused(403, f"stale delivery: signed {int(age)} s ago (limit {int(max_age_s)} s)")
    if age < -max_skew_s:
        raise Refused(403, f"delivery signed {int(-age)} s in the future "
                           f"(clock skew limit {int(max_skew_s)} s)")


def _handshake_token(value: str, name: str) -> str:
    if not HANDSHAKE_TOKEN.fullmatch(value):
        raise Refused(400, f"{name} must be 1-128 letters, digits or -_.=+/")
    return value


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost`` included)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class UnsafeConfiguration(Exception):
    """A configuration the receiver refuses to start with."""


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
        c = self.config
        self.buckets = TokenBuckets(c.rate_per_s, c.burst)
        self.handshakes = TokenBuckets(c.handshake_rate_per_s, c.handshake_burst)
        # An id is refused again for as long as its timestamp may be accepted.
        self.seen = SeenIds(c.max_age_s + c.max_clock_skew_s)
        self.slow = SlowClients(c.header_timeout_s, c.body_timeout_s)
        self.verifiers: dict[Platform, Verifier] = {
            **{p: self._meta for p in META},
            Platform.X: self._x,
            Platform.TWITCH: self._twitch,
            Platform.TELEGRAM: self._telegram,
            Platform.LINKEDIN: self._linkedin,
            Platform.FORUM: self._discourse,
            Platform.TIKTOK: self._timestamped("TikTok-Signature", bind_platform=False),
        }
        for platform in Platform:
            self.verifiers.setdefault(
                platform, self._timestamped("X-Vigie-Signature", bind_platform=True))

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes,
                              middlewares=[self.slow.middleware])
        app.router.add_post("/webhooks/{platform}", self.receive)
        app.router.add_get("/webhooks/{platform}", self.handshake)
        app.router.add_get("/health", self.health)
        return app

    def unsigned_platforms(self) -> dict[str, list[str]]:
        """Platforms whose secret is unset (or blank), by the variable that would set it."""
        missing: dict[str, list[str]] = {}
        for platform in Platform:
            field_name = SECRET_FIELD.get(platform, SHARED_SECRET_FIELD)
            if getattr(self.config, field_name) is None:
                missing.setdefault(WebhookSettings.variable(field_name), []).append(
                    platform.value)
        return missing

    def check_configuration(self) -> None:
        """Refuse dev mode off loopback; warn, naming the variable, of every platform
        whose deliveries will be refused (or, in dev mode, accepted unsigned)."""
        c = self.config
        if c.dev_mode and not is_loopback(c.host):
            raise UnsafeConfiguration(
                f"dev mode accepts unsigned deliveries: it listens on loopback only, not on "
                f"{c.host!r} (unset VIGIE_WEBHOOK__DEV_MODE or bind to 127.0.0.1)")
        for variable, platforms in self.unsigned_platforms().items():
            if c.dev_mode:
                log.warning("DEV MODE: %s is unset: deliveries for %s are accepted UNSIGNED, "
                            "from anyone who reaches this port", variable, ", ".join(platforms))
            else:
                log.warning("%s is unset or blank: deliveries for %s are refused", variable,
                            ", ".join(platforms))
        if c.meta_app_secret is not None and c.meta_verify_token is None:
            log.warning("%s is unset or blank: Meta's subscription check is refused",
                        WebhookSettings.variable("meta_verify_token"))

    # -- per-platform signature checks -------------------------------------------------

    def _secret(self, platform: Platform) -> SecretStr:
        field_name = SECRET_FIELD.get(platform, SHARED_SECRET_FIELD)
        secret: SecretStr | None = getattr(self.config, field_name)
        if secret is None:
            raise Refused(403, f"{WebhookSettings.variable(field_name)} is unset or blank: "
                               f"{platform.value} deliveries are refused (unsigned deliveries "
                               "are refused outside dev mode)")
        return secret

    def _meta(self, request: web.Request, body: bytes) -> Accepted:
        platform = Platform(request.match_info["platform"])
        digest = hmac_sha256(self._secret(platform), body)
        _check(f"sha256={digest.hex()}", request.headers.get("X-Hub-Signature-256"),
               "X-Hub-Signature-256")
        try:
            named = orjson.loads(body).get("object")
        except (orjson.JSONDecodeError, AttributeError):
            named = None  # not a Meta delivery at all: published, then a dead letter
        if isinstance(named, str) and named != META_OBJECT[platform]:
            raise Refused(403, f"signed delivery for Meta object {named[:40]!r} posted to "
                               f"{platform.value}'s endpoint")
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

    def _timestamped(self, header: str, *, bind_platform: bool) -> Verifier:
        """``t=<unix>,s=<hex HMAC(secret, "<t>." + body)>`` (TikTok's scheme); with
        ``bind_platform`` (a secret shared by several platforms) the platform is signed
        too: ``"<t>.<platform>." + body``."""

        def verify(request: web.Request, body: bytes) -> Accepted:
            platform = Platform(request.match_info["platform"])
            secret = self._secret(platform)
            given = request.headers.get(header)
            if not given:
                raise Refused(401, f"missing signature header {header}")
            parts = dict(p.split("=", 1) for p in given.split(",") if "=" in p)
            stamp = parts.get("t", "")
            if not stamp.isdigit():
                raise Refused(403, f"{header} has no t=<unix time>")
            signed = f"{stamp}.{platform.value}." if bind_platform else f"{stamp}."
            _check(hmac_sha256(secret, signed.encode() + body).hex(), parts.get("s"), header)
            _fresh(int(stamp), self.config.max_age_s, self.config.max_clock_skew_s)
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
            _fresh(from_iso(stamp, "timestamp").timestamp(), self.config.max_age_s,
                   self.config.max_clock_skew_s)
        except PayloadError:
            raise Refused(403, "Twitch-Eventsub-Message-Timestamp is not a timestamp") from None
        if not message_id:
            raise Refused(403, "missing Twitch-Eventsub-Message-Id")
        return _twitch_envelope(request, body, message_id)

    # -- handlers ------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "slow_clients_dropped": {
            phase: self.slow.dropped[phase] for phase in ("headers", "body")}})

    async def handshake(self, request: web.Request) -> web.Response:
        """The GET checks platforms make before sending deliveries to an endpoint."""
        try:
            platform = _platform(request)
            query = request.query
            wait = self.handshakes.take(request.remote or "unknown")
            if wait:
                raise Refused(429, f"handshake rate limit exceeded; retry in {wait:.0f} s")
            if platform in META and "hub.challenge" in query:
                token = self.config.meta_verify_token
                given = query.get("hub.verify_token", "")
                if query.get("hub.mode") != "subscribe" or token is None or not hmac.compare_digest(
                    token.get_secret_value().encode(), given.encode()
                ):
                    raise Refused(403, "hub.verify_token does not match")
                return web.Response(text=_handshake_token(query["hub.challenge"],
                                                          "hub.challenge"))
            if platform == Platform.X and "crc_token" in query:
                crc = _handshake_token(query["crc_token"], "crc_token")
                digest = hmac_sha256(self._secret(Platform.X), crc.encode())
                return web.json_response(
                    {"response_token": "sha256=" + base64.b64encode(digest).decode()}
                )
            if platform == Platform.LINKEDIN and "challengeCode" in query:
                code = _handshake_token(query["challengeCode"], "challengeCode")
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
            return await self.slow.read_body(request)
        except web.HTTPRequestEntityTooLarge:
            raise Refused(413, f"body exceeds {limit} bytes") from None
        except TooSlow as slow:  # the connection is closed: nobody reads this answer
            raise Refused(408, str(slow)) from None

    def _verify(self, platform: Platform, request: web.Request, body: bytes) -> Accepted:
        field_name = SECRET_FIELD.get(platform, SHARED_SECRET_FIELD)
        if getattr(self.config, field_name) is None and self.config.dev_mode:
            if platform == Platform.TWITCH:  # unsigned, but in the envelope it needs
                message_id = request.headers.get("Twitch-Eventsub-Message-Id") or \
                    uuid.uuid4().hex
                return _twitch_envelope(request, body, message_id)
            return Accepted(body)
        return self.verifiers[platform](request, body)

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


def _twitch_envelope(request: web.Request, body: bytes, message_id: str) -> Accepted:
    """EventSub's WebSocket envelope around a webhook body: metadata from the headers
    (the parser reads the message time there), the body bytes untouched."""
    headers = request.headers
    metadata = {
        "message_id": message_id,
        "message_type": headers.get("Twitch-Eventsub-Message-Type", "notification"),
        "message_timestamp": headers.get("Twitch-Eventsub-Message-Timestamp")
        or utcnow().isoformat(),
        "subscription_type": headers.get("Twitch-Eventsub-Subscription-Type"),
        "subscription_version": headers.get("Twitch-Eventsub-Subscription-Version"),
    }
    envelope = b'{"metadata":' + orjson.dumps(metadata) + b',"payload":' + body + b"}"
    return Accepted(envelope, message_id)


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


class PathAccessLogger(AbstractAccessLogger):
    """Access log lines without query strings: handshakes carry tokens there."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %s %.3f s", request.remote, request.method, request.path,
                         response.status, time)


async def serve(settings: Settings, *, ready: Callable[[str], Awaitable[None]] | None = None
                ) -> None:
    """Run the receiver until cancelled; ``ready`` is called with its URL once it listens.

    Raises :class:`UnsafeConfiguration` before listening when dev mode is asked for on
    an address other than loopback."""
    config = settings.webhook
    async with RawPublisher(settings, linger_ms=0) as publisher:
        receiver = Receiver(settings, publisher)
        receiver.check_configuration()
        runner = web.AppRunner(receiver.app(), access_log_class=PathAccessLogger)
        await runner.setup()
        assert runner.server is not None
        # The server's own protocol, wrapped so that slow clients meet a deadline.
        server = await asyncio.get_running_loop().create_server(
            receiver.slow.protocol(runner.server), config.host, config.port)
        try:
            if ready is not None:
                await ready(f"http://{config.host}:{config.port}")
            await asyncio.Event().wait()
        finally:
            server.close()
            await runner.cleanup()
            await server.wait_closed()
