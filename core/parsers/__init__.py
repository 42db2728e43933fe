"""Per-platform parsers: one raw payload shape in, normalized ``SocialEvent``s out.

Each parser module exposes its :class:`Parser`; :data:`PARSERS` lists one per
platform of the contract and :func:`parser_for` is the only lookup. Parsers are
pure: no I/O, no clock except what the payload says.
"""

from __future__ import annotations

from core.parsers import linkedin, meta, reviews, telegram, tiktok, twitch, web, x, youtube
from core.parsers.base import NoMessage, Parser, PayloadError
from schemas.events import Platform

PARSERS: dict[Platform, Parser] = {
    Platform.FACEBOOK: meta.facebook,
    Platform.MESSENGER: meta.messenger,
    Platform.INSTAGRAM: meta.instagram,
    Platform.WHATSAPP: meta.whatsapp,
    Platform.X: x.parser,
    Platform.LINKEDIN: linkedin.parser,
    Platform.TIKTOK: tiktok.parser,
    Platform.TWITCH: twitch.parser,
    Platform.YOUTUBE: youtube.parser,
    Platform.TELEGRAM: telegram.parser,
    Platform.GOOGLE_REVIEWS: reviews.google_reviews,
    Platform.TRIPADVISOR: reviews.tripadvisor,
    Platform.NEWS: web.news,
    Platform.FORUM: web.forum,
    Platform.WEB_COMMENTS: web.web_comments,
}


def parser_for(platform: Platform) -> Parser:
    try:
        return PARSERS[platform]
    except KeyError:
        raise PayloadError(f"no parser for platform {platform.value!r}") from None


__all__ = ["PARSERS", "NoMessage", "Parser", "PayloadError", "parser_for"]
