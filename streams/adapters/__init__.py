"""Per-platform adapters: one raw payload shape in, normalized ``SocialEvent``s out.

Each adapter module exposes its :class:`Adapter`; :data:`ADAPTERS` lists one per
platform of the contract and :func:`adapter_for` is the only lookup. Adapters are
pure: no I/O, no clock except what the payload says.
"""

from __future__ import annotations

from schemas.events import Platform
from streams.adapters import linkedin, meta, reviews, telegram, tiktok, twitch, web, x, youtube
from streams.adapters.base import Adapter, NoMessage, PayloadError

ADAPTERS: dict[Platform, Adapter] = {
    Platform.FACEBOOK: meta.facebook,
    Platform.MESSENGER: meta.messenger,
    Platform.INSTAGRAM: meta.instagram,
    Platform.WHATSAPP: meta.whatsapp,
    Platform.X: x.adapter,
    Platform.LINKEDIN: linkedin.adapter,
    Platform.TIKTOK: tiktok.adapter,
    Platform.TWITCH: twitch.adapter,
    Platform.YOUTUBE: youtube.adapter,
    Platform.TELEGRAM: telegram.adapter,
    Platform.GOOGLE_REVIEWS: reviews.google_reviews,
    Platform.TRIPADVISOR: reviews.tripadvisor,
    Platform.NEWS: web.news,
    Platform.FORUM: web.forum,
    Platform.WEB_COMMENTS: web.web_comments,
}


def adapter_for(platform: Platform) -> Adapter:
    try:
        return ADAPTERS[platform]
    except KeyError:
        raise PayloadError(f"no adapter for platform {platform.value!r}") from None


__all__ = ["ADAPTERS", "Adapter", "NoMessage", "PayloadError", "adapter_for"]
