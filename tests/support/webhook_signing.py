"""How each platform signs a webhook delivery, written from the platforms' documentation
(independently of ``ingest.webhook``), for the tests that sign, forge or replay them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime

from schemas.events import Platform

META = frozenset({Platform.FACEBOOK, Platform.MESSENGER, Platform.INSTAGRAM, Platform.WHATSAPP})


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def signed(platform: Platform, body: bytes, *, at: float, secrets: Mapping[str, str],
           message_id: str | None = None) -> dict[str, str]:
    """The headers ``platform`` signs ``body`` with at time ``at``, with ``secrets`` keyed
    by setting name (``meta_app_secret``, ``x_consumer_secret``…)."""
    if platform in META:
        digest = hmac_sha256(secrets["meta_app_secret"], body).hex()
        return {"X-Hub-Signature-256": f"sha256={digest}"}
    if platform == Platform.X:
        digest = base64.b64encode(hmac_sha256(secrets["x_consumer_secret"], body)).decode()
        return {"X-Twitter-Webhooks-Signature": f"sha256={digest}"}
    if platform == Platform.TELEGRAM:
        return {"X-Telegram-Bot-Api-Secret-Token": secrets["telegram_secret_token"]}
    if platform == Platform.LINKEDIN:
        return {"X-LI-Signature": hmac_sha256(secrets["linkedin_client_secret"], body).hex()}
    if platform == Platform.FORUM:
        digest = hmac_sha256(secrets["forum_secret"], body).hex()
        return {"X-Discourse-Event-Signature": f"sha256={digest}"}
    if platform == Platform.TWITCH:
        message_id = message_id or hashlib.sha256(body + str(at).encode()).hexdigest()[:20]
        stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        digest = hmac_sha256(secrets["twitch_secret"], (message_id + stamp).encode() + body)
        return {"Twitch-Eventsub-Message-Id": message_id,
                "Twitch-Eventsub-Message-Timestamp": stamp,
                "Twitch-Eventsub-Message-Signature": f"sha256={digest.hex()}"}
    stamp = str(int(at))
    if platform == Platform.TIKTOK:
        digest = hmac_sha256(secrets["tiktok_client_secret"], f"{stamp}.".encode() + body)
        return {"TikTok-Signature": f"t={stamp},s={digest.hex()}"}
    # vigie's pollers: one shared secret, so the platform is signed too
    digest = hmac_sha256(secrets["shared_secret"], f"{stamp}.{platform.value}.".encode() + body)
    return {"X-Vigie-Signature": f"t={stamp},s={digest.hex()}"}
