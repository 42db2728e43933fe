"""The inverse of the adapters: a ``SocialEvent`` rendered as its platform's raw payload.

The simulator builds what it wants to say as normalized events (its ground truth),
then renders them in each platform's wire shape, so the adapters are exercised on
realistic payloads and every simulated event has a known expected result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.events import Kind, Platform, SocialEvent

Payload = dict[str, Any]


def native(event: SocialEvent) -> str:
    return event.event_id.split(":", 1)[1]


def _unix(event: SocialEvent) -> int:
    return int(event.created_at.timestamp())


def _millis(event: SocialEvent) -> int:
    return int(event.created_at.timestamp() * 1000)


def _meta_messaging(event: SocialEvent, obj: str) -> Payload:
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
                        "message": {"mid": native(event), "text": event.text},
                    }
                ],
            }
        ],
    }


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
        "verb": "add",
        "from": {"id": event.author.id, "name": event.author.handle},
        "message": event.text,
        "created_time": _unix(event),
    }
    return {
        "object": "page",
        "entry": [
            {"id": event.addressed_to, "time": _unix(event),
             "changes": [{"field": "feed", "value": value}]}
        ],
    }


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
    return {
        "object": "instagram",
        "entry": [
            {"id": event.addressed_to, "time": _unix(event),
             "changes": [{"field": "mentions" if event.kind == Kind.MENTION else "comments",
                          "value": value}]}
        ],
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
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "conversation_id": event.thread_id or native(event),
        "lang": event.lang,
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


ENCODERS: dict[Platform, Callable[[SocialEvent], Payload]] = {
    Platform.FACEBOOK: facebook,
    Platform.MESSENGER: messenger,
    Platform.INSTAGRAM: instagram,
    Platform.X: x,
}

# Kinds each platform can carry, for the simulator to pick from.
KINDS: dict[Platform, tuple[Kind, ...]] = {
    Platform.FACEBOOK: (Kind.COMMENT, Kind.REPLY, Kind.POST),
    Platform.MESSENGER: (Kind.DM,),
    Platform.INSTAGRAM: (Kind.COMMENT, Kind.MENTION, Kind.DM),
    Platform.X: (Kind.MENTION, Kind.REPLY, Kind.DM, Kind.POST),
}
