"""X: posts from the API v2 filtered stream, DMs from account-activity events.

Post: ``{"data": {"id", "text", "author_id", "created_at", "conversation_id",
"referenced_tweets"?}, "includes": {"users": [{"id", "username",
"public_metrics": {"followers_count"}}]}, "matching_rules"?}``.
DM: ``{"for_user_id", "direct_message_events": [{"type": "message_create", "id",
"created_timestamp", "message_create": {"sender_id", "target": {"recipient_id"},
"message_data": {"text"}}}], "users": {id: {"screen_name", "followers_count"}}}``.
"""

from __future__ import annotations

from typing import Any

from schemas.events import Author, Kind, Platform, SocialEvent
from streams.adapters.base import (
    Adapter,
    Json,
    as_list,
    clean_text,
    from_iso,
    from_unix,
    native_id,
    optional,
    require,
)


def _post(payload: Json) -> SocialEvent:
    data: Any = require(payload, "data")
    tid = native_id(require(data, "id"), "data.id")
    author_id = native_id(require(data, "author_id"), "data.author_id")
    users = optional(payload, "includes", "users") or []
    user = next((u for u in users if isinstance(u, dict) and str(u.get("id")) == author_id), {})
    refs = optional(data, "referenced_tweets") or []
    replied = next(
        (str(r.get("id")) for r in refs if isinstance(r, dict) and r.get("type") == "replied_to"),
        None,
    )
    mentioned = [
        str(m.get("id") or m.get("username"))
        for m in optional(data, "entities", "mentions") or []
        if isinstance(m, dict)
    ]
    handle = user.get("username")
    return SocialEvent(
        event_id=SocialEvent.make_id(Platform.X, tid),
        platform=Platform.X,
        kind=Kind.REPLY if replied else Kind.MENTION if mentioned else Kind.POST,
        author=Author(
            id=author_id,
            handle=handle,
            followers=optional(user, "public_metrics", "followers_count"),
        ),
        text=clean_text(require(data, "text")),
        created_at=from_iso(require(data, "created_at"), "data.created_at"),
        lang=optional(data, "lang"),
        url=f"https://x.com/{handle or author_id}/status/{tid}",
        thread_id=optional(data, "conversation_id"),
        in_reply_to=replied,
        addressed_to=optional(data, "in_reply_to_user_id") or (mentioned[0] if mentioned else None),
        direct=bool(replied or mentioned),
    )


def _direct_messages(payload: Json) -> list[SocialEvent]:
    brand_account = native_id(require(payload, "for_user_id"), "for_user_id")
    users = optional(payload, "users") or {}
    events = []
    for dm in as_list(require(payload, "direct_message_events"), "direct_message_events"):
        if optional(dm, "type") != "message_create":
            continue
        create: Any = require(dm, "message_create")
        sender = native_id(require(create, "sender_id"), "message_create.sender_id")
        user = users.get(sender, {}) if isinstance(users, dict) else {}
        events.append(
            SocialEvent(
                event_id=SocialEvent.make_id(Platform.X, native_id(require(dm, "id"), "id")),
                platform=Platform.X,
                kind=Kind.DM,
                author=Author(
                    id=sender,
                    handle=optional(user, "screen_name"),
                    followers=optional(user, "followers_count"),
                ),
                text=clean_text(require(create, "message_data", "text")),
                created_at=from_unix(
                    int(require(dm, "created_timestamp")), "created_timestamp", millis=True
                ),
                thread_id=f"{brand_account}:{sender}",
                addressed_to=brand_account,
                direct=True,
            )
        )
    return events


def _parse(payload: Json) -> list[SocialEvent]:
    if "direct_message_events" in payload:
        return _direct_messages(payload)
    return [_post(payload)]


adapter = Adapter(Platform.X, _parse)
