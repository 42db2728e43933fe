"""The inverse of the parsers: a ``SocialEvent`` rendered as its platform's raw payload.

The simulator builds what it wants to say as normalized events (its ground truth),
then renders them in each platform's wire shape, so the parsers are exercised on
realistic payloads and every simulated event has a known expected result. Encoders
accept any event (scripted scenarios too); the ids the parsers compose (Telegram
``<chat>:<message>``, forum ``<topic>/<post>``, web ``<site>/comments/<id>``) are
split back here, with a sensible fallback when an event was not built that way.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from schemas.events import Kind, Platform, SocialEvent

Payload = dict[str, Any]
STARS = ("ONE", "TWO", "THREE", "FOUR", "FIVE")


def native(event: SocialEvent) -> str:
    return event.event_id.split(":", 1)[1]


def _unix(event: SocialEvent) -> int:
    return int(event.created_at.timestamp())


def _millis(event: SocialEvent) -> int:
    return int(event.created_at.timestamp() * 1000)


def _iso(event: SocialEvent) -> str:
    return event.created_at.isoformat().replace("+00:00", "Z")


def _change(event: SocialEvent) -> str | None:
    return (event.model_extra or {}).get("change")


def _extra(event: SocialEvent, key: str, default: Any) -> Any:
    return (event.model_extra or {}).get(key, default)


def _digits(value: str) -> int:
    """A stable integer for platforms whose ids are numbers (derived when they are not)."""
    if value.isdigit():
        return int(value)
    return int.from_bytes(hashlib.sha256(value.encode()).digest()[:6], "big")


def _split(value: str, separator: str, fallback: str) -> tuple[str, str]:
    head, sep, tail = value.rpartition(separator)
    return (head, tail) if sep else (fallback, value)


def _meta_messaging(event: SocialEvent, obj: str) -> Payload:
    message: Payload = {"mid": native(event), "text": event.text}
    if event.in_reply_to:
        message["reply_to"] = {"mid": event.in_reply_to}
    return {
        "object": obj,
        "entry": [
            {
                "id": event.addressed_to,
                "time": _millis(event),
                "messaging": [
                    {
                        "sender": {"id": event.author.id},
                        "recipient": {"id": event.addressed_to},
                        "timestamp": _millis(event),
                        "message": message,
                    }
                ],
            }
        ],
    }


def _meta_change(event: SocialEvent, obj: str, field: str, value: Payload) -> Payload:
    return {
        "object": obj,
        "entry": [
            {"id": event.addressed_to, "time": _unix(event),
             "changes": [{"field": field, "value": value}]}
        ],
    }


_FEED_VERBS = {None: "add", "edited": "edited", "deleted": "remove"}


def facebook(event: SocialEvent) -> Payload:
    if event.kind == Kind.POST:
        value: Payload = {"item": "status", "post_id": native(event)}
    else:
        value = {
            "item": "comment",
            "comment_id": native(event),
            "post_id": event.thread_id,
            "parent_id": event.in_reply_to or event.thread_id,
        }
    value |= {
        "verb": _FEED_VERBS.get(_change(event), "add"),
        "from": {"id": event.author.id, "name": event.author.handle},
        "message": event.text,
        "created_time": _unix(event),
    }
    return _meta_change(event, "page", "feed", value)


def messenger(event: SocialEvent) -> Payload:
    return _meta_messaging(event, "page")


def instagram(event: SocialEvent) -> Payload:
    if event.kind == Kind.DM:
        return _meta_messaging(event, "instagram")
    value: Payload = {
        "id": native(event),
        "from": {"id": event.author.id, "username": event.author.handle},
        "media": {"id": event.thread_id, "media_product_type": "FEED"},
        "text": event.text,
    }
    if event.in_reply_to:
        value["parent_id"] = event.in_reply_to
    field = "mentions" if event.kind == Kind.MENTION else "comments"
    return _meta_change(event, "instagram", field, value)


def whatsapp(event: SocialEvent) -> Payload:
    message: Payload = {
        "from": event.author.id,
        "id": native(event),
        "timestamp": str(_unix(event)),
        "type": "text",
        "text": {"body": event.text},
    }
    if event.in_reply_to:
        message["context"] = {"from": event.addressed_to, "id": event.in_reply_to}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "33180000000", "phone_number_id": event.addressed_to},
        "contacts": [{"profile": {"name": event.author.handle}, "wa_id": event.author.id}],
        "messages": [message],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": f"waba-{event.addressed_to}",
                   "changes": [{"field": "messages", "value": value}]}],
    }


def x(event: SocialEvent) -> Payload:
    if event.kind == Kind.DM:
        return {
            "for_user_id": event.addressed_to,
            "direct_message_events": [
                {
                    "type": "message_create",
                    "id": native(event),
                    "created_timestamp": str(_millis(event)),
                    "message_create": {
                        "target": {"recipient_id": event.addressed_to},
                        "sender_id": event.author.id,
                        "message_data": {"text": event.text, "entities": {}},
                    },
                }
            ],
            "users": {
                event.author.id: {
                    "id": event.author.id,
                    "screen_name": event.author.handle,
                    "followers_count": event.author.followers or 0,
                }
            },
        }
    data: Payload = {
        "id": native(event),
        "text": event.text,
        "author_id": event.author.id,
        "created_at": _iso(event),
        "conversation_id": event.thread_id or native(event),
        "lang": event.lang,
        "edit_history_tweet_ids": [native(event)],
    }
    if event.kind == Kind.REPLY and event.in_reply_to:
        data["referenced_tweets"] = [{"type": "replied_to", "id": event.in_reply_to}]
        data["in_reply_to_user_id"] = event.addressed_to
    elif event.kind == Kind.MENTION and event.addressed_to:
        data["entities"] = {"mentions": [{"id": event.addressed_to, "username": "brand"}]}
    return {
        "data": data,
        "includes": {
            "users": [
                {
                    "id": event.author.id,
                    "username": event.author.handle,
                    "public_metrics": {"followers_count": event.author.followers or 0},
                }
            ]
        },
    }


def linkedin(event: SocialEvent) -> Payload:
    mention = event.kind == Kind.MENTION
    activity: Payload = {"entity": native(event), "text": event.text, "owner": event.author.id}
    if event.in_reply_to:
        activity["parentComment"] = event.in_reply_to
    return {
        "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
        "notifications": [
            {
                "notificationId": _digits(native(event)) % 10**9,
                "action": "SHARE_MENTION" if mention else "COMMENT",
                "actor": event.author.id,
                "organizationalEntity": event.addressed_to,
                "sourcePost": event.thread_id,
                "generatedActivity": native(event),
                "decoratedGeneratedActivity": {"share" if mention else "comment": activity},
                "lastModifiedAt": _millis(event),
            }
        ],
    }


def tiktok(event: SocialEvent) -> Payload:
    user = {
        "open_id": event.author.id,
        "username": event.author.handle,
        "display_name": event.author.handle,
        "follower_count": event.author.followers,
    }
    if event.kind == Kind.DM:
        name = "direct_message.receive"
        content: Payload = {
            "conversation_id": event.thread_id,
            "message_id": native(event),
            "create_time": _unix(event),
            "sender": user,
            "message": {"type": "text", "text": event.text},
        }
    else:
        name = "comment.create"
        content = {
            "comment_id": native(event),
            "video_id": event.thread_id,
            "text": event.text,
            "create_time": _unix(event),
            "user": user,
        }
        if event.in_reply_to:
            content["parent_comment_id"] = event.in_reply_to
    return {
        "client_key": "awvigie0000sim",
        "event": name,
        "create_time": _unix(event),
        "user_openid": event.addressed_to,
        "content": orjson.dumps(content).decode(),
    }


def twitch_envelope(body: Payload | bytes, *, message_id: str, timestamp: str,
                    subscription_type: str) -> Payload:
    """The EventSub WebSocket form the Twitch parser reads (metadata + payload)."""
    return {
        "metadata": {
            "message_id": message_id,
            "message_type": "notification",
            "message_timestamp": timestamp,
            "subscription_type": subscription_type,
            "subscription_version": "1",
        },
        "payload": body,
    }


def twitch(event: SocialEvent) -> Payload:
    if event.kind == Kind.DM:
        kind = "user.whisper.message"
        body: Payload = {
            "from_user_id": event.author.id,
            "from_user_login": event.author.handle,
            "from_user_name": event.author.handle,
            "to_user_id": event.addressed_to,
            "whisper_id": native(event),
            "whisper": {"text": event.text},
        }
        condition = {"user_id": event.addressed_to}
    else:
        kind = "channel.chat.message"
        reply = None
        if event.in_reply_to:
            reply = {"parent_message_id": event.in_reply_to,
                     "thread_message_id": event.thread_id or event.in_reply_to}
        body = {
            "broadcaster_user_id": event.addressed_to,
            "chatter_user_id": event.author.id,
            "chatter_user_login": event.author.handle,
            "chatter_user_name": event.author.handle,
            "message_id": native(event),
            "message": {"text": event.text, "fragments": [{"type": "text", "text": event.text}]},
            "message_type": "text",
            "badges": [],
            "reply": reply,
        }
        condition = {"broadcaster_user_id": event.addressed_to}
    subscription = {"id": f"sub-{event.addressed_to}", "type": kind, "version": "1",
                    "status": "enabled", "condition": condition,
                    "transport": {"method": "webhook"}, "created_at": "2026-01-01T00:00:00Z"}
    return twitch_envelope(
        {"subscription": subscription, "event": body},
        message_id=hashlib.sha256(event.event_id.encode()).hexdigest()[:32],
        timestamp=_iso(event),
        subscription_type=kind,
    )


def _video_of(event: SocialEvent) -> str | None:
    query = parse_qs(urlsplit(event.url or "").query)
    return query["v"][0] if "v" in query else None


def youtube(event: SocialEvent) -> Payload:
    snippet: Payload = {
        "channelId": event.addressed_to,
        "videoId": _video_of(event),
        "textDisplay": html.escape(event.text),
        "textOriginal": event.text,
        "authorDisplayName": event.author.handle,
        "authorChannelId": {"value": event.author.id},
        "canRate": True,
        "viewerRating": "none",
        "likeCount": 0,
        "publishedAt": _iso(event),
        "updatedAt": _iso(event),
    }
    comment: Payload = {"kind": "youtube#comment", "etag": "sim", "id": native(event)}
    if event.in_reply_to:
        return comment | {"snippet": snippet | {"parentId": event.in_reply_to}}
    return {
        "kind": "youtube#commentThread",
        "etag": "sim",
        "id": native(event),
        "snippet": {
            "channelId": event.addressed_to,
            "videoId": snippet["videoId"],
            "topLevelComment": comment | {"snippet": snippet},
            "canReply": True,
            "totalReplyCount": 0,
            "isPublic": True,
        },
    }


def telegram(event: SocialEvent) -> Payload:
    chat_id, mid = _split(native(event), ":", event.author.id)
    sender = {"id": _digits(event.author.id), "is_bot": False,
              "first_name": event.author.handle or "", "username": event.author.handle,
              "language_code": event.lang}
    message: Payload = {"message_id": _digits(mid), "from": sender, "date": _unix(event),
                        "text": event.text}
    if event.kind == Kind.DM:
        key = "business_message"
        message["business_connection_id"] = event.addressed_to
        message["chat"] = {"id": _digits(chat_id), "type": "private",
                           "first_name": event.author.handle or ""}
    else:
        key = "message"
        message["chat"] = {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id,
                           "type": "supergroup", "title": "Community"}
        if event.in_reply_to:
            _, replied = _split(event.in_reply_to, ":", event.in_reply_to)
            message["reply_to_message"] = {"message_id": _digits(replied),
                                           "chat": message["chat"], "date": _unix(event)}
    return {"update_id": _digits(mid) % 10**9, key: message}


def google_reviews(event: SocialEvent) -> Payload:
    rating = int(_extra(event, "rating", 5))
    return {
        "name": f"{event.addressed_to}/reviews/{native(event)}",
        "reviewId": native(event),
        "reviewer": {"displayName": event.author.handle, "isAnonymous": False,
                     "profilePhotoUrl": "https://lh3.googleusercontent.com/a/default-user"},
        "starRating": STARS[min(max(rating, 1), 5) - 1],
        "comment": event.text,
        "createTime": _iso(event),
        "updateTime": _iso(event),
    }


def tripadvisor(event: SocialEvent) -> Payload:
    return {
        "id": int(native(event)) if native(event).isdigit() else native(event),
        "lang": event.lang,
        "location_id": event.addressed_to,
        "published_date": _iso(event),
        "rating": int(_extra(event, "rating", 5)),
        "helpful_votes": 0,
        "url": event.url,
        "text": event.text,
        "trip_type": "Business",
        "user": {"username": event.author.handle or event.author.id,
                 "user_location": {"name": "Lyon, France"}},
    }


def news(event: SocialEvent) -> Payload:
    link = urlsplit(event.url or "")
    return {
        "feed": {"title": event.author.handle, "language": event.lang,
                 "link": f"{link.scheme}://{link.netloc}/" if link.netloc else None},
        "item": {
            "guid": native(event),
            "link": event.url,
            "title": event.text,
            "pubDate": event.created_at.strftime("%a, %d %b %Y %H:%M:%S +0000"),
            "author": event.author.id,
            "categories": ["Économie"],
        },
    }


def forum(event: SocialEvent) -> Payload:
    topic, number = _split(native(event), "/", event.thread_id or "1")
    parent = _split(event.in_reply_to, "/", topic)[1] if event.in_reply_to else None
    first = event.kind == Kind.POST
    return {
        "post": {
            "id": _digits(native(event)),
            "name": event.author.handle,
            "username": event.author.handle,
            "user_id": _digits(event.author.id),
            "created_at": _iso(event),
            "updated_at": _iso(event),
            "raw": event.text,
            "cooked": f"<p>{html.escape(event.text)}</p>",
            "post_number": 1 if first else _digits(number),
            "post_type": 1,
            "reply_to_post_number": _digits(parent) if parent else None,
            "topic_id": _digits(topic),
            "topic_slug": "discussion",
            "topic_title": None if first else "Discussion",
            "version": 1,
            "deleted_at": None,
        }
    }


def web_comments(event: SocialEvent) -> Payload:
    _, comment_id = _split(native(event), "/comments/", "")
    _, post = _split(event.thread_id or "", "/posts/", "")
    parent = _split(event.in_reply_to, "/comments/", "")[1] if event.in_reply_to else "0"
    guest = event.author.id.startswith("guest:")
    return {
        "id": _digits(comment_id),
        "post": _digits(post) if post else 0,
        "parent": _digits(parent),
        "author": 0 if guest else _digits(event.author.id),
        "author_name": event.author.handle,
        "author_url": "",
        "date": _iso(event).rstrip("Z"),
        "date_gmt": _iso(event).rstrip("Z"),
        "content": {"rendered": f"<p>{html.escape(event.text)}</p>\n"},
        "link": event.url,
        "status": "approved",
        "type": "comment",
    }


ENCODERS: dict[Platform, Callable[[SocialEvent], Payload]] = {
    Platform.FACEBOOK: facebook,
    Platform.MESSENGER: messenger,
    Platform.INSTAGRAM: instagram,
    Platform.WHATSAPP: whatsapp,
    Platform.X: x,
    Platform.LINKEDIN: linkedin,
    Platform.TIKTOK: tiktok,
    Platform.TWITCH: twitch,
    Platform.YOUTUBE: youtube,
    Platform.TELEGRAM: telegram,
    Platform.GOOGLE_REVIEWS: google_reviews,
    Platform.TRIPADVISOR: tripadvisor,
    Platform.NEWS: news,
    Platform.FORUM: forum,
    Platform.WEB_COMMENTS: web_comments,
}

# Kinds each platform can carry, for the simulator to pick from.
KINDS: dict[Platform, tuple[Kind, ...]] = {
    Platform.FACEBOOK: (Kind.COMMENT, Kind.REPLY, Kind.POST),
    Platform.MESSENGER: (Kind.DM,),
    Platform.INSTAGRAM: (Kind.COMMENT, Kind.MENTION, Kind.DM),
    Platform.WHATSAPP: (Kind.DM,),
    Platform.X: (Kind.MENTION, Kind.REPLY, Kind.DM, Kind.POST),
    Platform.LINKEDIN: (Kind.COMMENT, Kind.REPLY, Kind.MENTION),
    Platform.TIKTOK: (Kind.COMMENT, Kind.REPLY, Kind.DM),
    Platform.TWITCH: (Kind.CHAT, Kind.REPLY, Kind.DM),
    Platform.YOUTUBE: (Kind.COMMENT, Kind.REPLY),
    Platform.TELEGRAM: (Kind.DM, Kind.CHAT, Kind.REPLY),
    Platform.GOOGLE_REVIEWS: (Kind.REVIEW,),
    Platform.TRIPADVISOR: (Kind.REVIEW,),
    Platform.NEWS: (Kind.ARTICLE,),
    Platform.FORUM: (Kind.POST, Kind.COMMENT, Kind.REPLY),
    Platform.WEB_COMMENTS: (Kind.COMMENT, Kind.REPLY),
}
