"""Meta Graph webhooks: Facebook page feed, Messenger, Instagram comments and DMs.

Shapes follow Meta's webhook deliveries: ``{"object": "page"|"instagram",
"entry": [{"id": <page or IG account id>, "time": …, "changes": [{"field", "value"}]
| "messaging": [{"sender", "recipient", "timestamp", "message"}]}]}``.
"""

from __future__ import annotations

from typing import Any

from schemas.events import Author, Kind, Platform, SocialEvent
from streams.adapters.base import (
    Adapter,
    Json,
    PayloadError,
    as_list,
    clean_text,
    from_unix,
    native_id,
    optional,
    require,
)


def _entries(payload: Json, expected_object: str) -> list[Json]:
    obj = require(payload, "object")
    if obj != expected_object:
        raise PayloadError(f"object must be {expected_object!r}, got {str(obj)[:30]!r}")
    return as_list(require(payload, "entry"), "entry")


def _messaging_events(platform: Platform, payload: Json, expected_object: str) -> list[SocialEvent]:
    """Messenger and Instagram Direct: ``entry[].messaging[]`` with a ``message``."""
    events = []
    for entry in _entries(payload, expected_object):
        page_id = native_id(require(entry, "id"), "entry.id")
        for item in as_list(require(entry, "messaging"), "entry.messaging"):
            message = require(item, "message")
            sender = native_id(require(item, "sender", "id"), "sender.id")
            mid = native_id(require(message, "mid"), "message.mid")
            attachments = [
                str(optional(a, "payload", "url") or optional(a, "type") or "")
                for a in optional(message, "attachments") or []
            ]
            events.append(
                SocialEvent(
                    event_id=SocialEvent.make_id(platform, mid),
                    platform=platform,
                    kind=Kind.DM,
                    author=Author(id=sender, handle=optional(item, "sender", "username")),
                    text=clean_text(optional(message, "text") or ""),
                    created_at=from_unix(require(item, "timestamp"), "timestamp", millis=True),
                    thread_id=f"{page_id}:{sender}",
                    in_reply_to=optional(message, "reply_to", "mid"),
                    attachments=[a for a in attachments if a],
                    addressed_to=page_id,
                    direct=True,
                )
            )
    return events


def _page_feed(payload: Json) -> list[SocialEvent]:
    """Facebook page ``feed`` changes: posts and comments on the brand's page."""
    events = []
    for entry in _entries(payload, "page"):
        page_id = native_id(require(entry, "id"), "entry.id")
        for change in as_list(require(entry, "changes"), "entry.changes"):
            if require(change, "field") != "feed":
                continue
            value: Any = require(change, "value")
            item = require(value, "item")
            if item == "comment":
                mid = native_id(require(value, "comment_id"), "value.comment_id")
                parent = optional(value, "parent_id")
                post = optional(value, "post_id")
                kind = Kind.REPLY if parent and parent != post else Kind.COMMENT
            elif item in ("post", "status", "photo", "video"):
                mid = native_id(require(value, "post_id"), "value.post_id")
                parent, post, kind = None, mid, Kind.POST
            else:
                continue  # reactions, likes, shares: not messages
            events.append(
                SocialEvent(
                    event_id=SocialEvent.make_id(Platform.FACEBOOK, mid),
                    platform=Platform.FACEBOOK,
                    kind=kind,
                    author=Author(
                        id=native_id(require(value, "from", "id"), "value.from.id"),
                        handle=optional(value, "from", "name"),
                    ),
                    text=clean_text(optional(value, "message") or ""),
                    created_at=from_unix(require(value, "created_time"), "value.created_time"),
                    url=f"https://www.facebook.com/{mid}",
                    thread_id=post,
                    in_reply_to=parent,
                    attachments=[str(value["photo"])] if optional(value, "photo") else [],
                    addressed_to=page_id,
                    direct=True,
                    verb=optional(value, "verb") or "add",
                )
            )
    return events


def _instagram(payload: Json) -> list[SocialEvent]:
    """Instagram ``comments`` / ``mentions`` changes, or Instagram Direct messages."""
    entries = _entries(payload, "instagram")
    if entries and all("messaging" in e for e in entries if isinstance(e, dict)):
        return _messaging_events(Platform.INSTAGRAM, payload, "instagram")
    events = []
    for entry in entries:
        account = native_id(require(entry, "id"), "entry.id")
        when = from_unix(require(entry, "time"), "entry.time")
        for change in as_list(require(entry, "changes"), "entry.changes"):
            field = require(change, "field")
            if field not in ("comments", "mentions"):
                continue
            value: Any = require(change, "value")
            mid = native_id(require(value, "id"), "value.id")
            parent = optional(value, "parent_id")
            kind = Kind.MENTION if field == "mentions" else Kind.REPLY if parent else Kind.COMMENT
            events.append(
                SocialEvent(
                    event_id=SocialEvent.make_id(Platform.INSTAGRAM, mid),
                    platform=Platform.INSTAGRAM,
                    kind=kind,
                    author=Author(
                        id=native_id(require(value, "from", "id"), "value.from.id"),
                        handle=optional(value, "from", "username"),
                    ),
                    text=clean_text(require(value, "text")),
                    created_at=when,
                    thread_id=optional(value, "media", "id"),
                    in_reply_to=parent,
                    addressed_to=account,
                    direct=True,
                )
            )
    return events


facebook = Adapter(Platform.FACEBOOK, _page_feed)
messenger = Adapter(
    Platform.MESSENGER, lambda p: _messaging_events(Platform.MESSENGER, p, "page")
)
instagram = Adapter(Platform.INSTAGRAM, _instagram)
