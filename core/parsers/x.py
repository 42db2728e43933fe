"""X: posts from the API v2 filtered stream, DMs and deletions from account-activity events.

Post: ``{"data": {"id", "text", "author_id", "created_at", "conversation_id",
"referenced_tweets"?, "entities"?, "edit_history_tweet_ids"?}, "includes": {"users":
[{"id", "username", "public_metrics": {"followers_count"}}]}, "matching_rules"?}``.
An edited post arrives with a new id; its ``edit_history_tweet_ids[0]`` is the
original, which stays the event id.
DM: ``{"for_user_id", "direct_message_events": [{"type": "message_create", "id",
"created_timestamp", "message_create": {"sender_id", "target": {"recipient_id"},
"message_data": {"text"}}}], "users": {id: {"screen_name", "followers_count"}}}``.
Deletion: ``{"for_user_id", "tweet_delete_events": [{"status": {"id", "user_id"},
"timestamp_ms"}]}``.
"""

from __future__ import annotations

from core.parsers.base import (
    Change,
    Json,
    Parser,
    clean_text,
    count,
    dm_thread,
    event,
    from_iso,
    from_unix,
    lang_hint,
    native_id,
    objects,
    optional,
    optional_id,
    require,
    require_object,
)
from schemas.events import Author, Kind, Platform, SocialEvent


def status_url(handle: str | None, tweet_id: str) -> str:
    return f"https://x.com/{handle or 'i'}/status/{tweet_id}"


def _post(payload: Json) -> SocialEvent:
    data = require_object(payload, "data")
    tid = native_id(require(data, "id"), "data.id")
    history = [str(h) for h in optional(data, "edit_history_tweet_ids") or [] if h]
    original = history[0] if len(history) > 1 else tid
    author_id = native_id(require(data, "author_id"), "data.author_id")
    users = objects(optional(payload, "includes", "users"), "includes.users")
    user = next((u for u in users if str(optional(u, "id")) == author_id), {})
    refs = objects(optional(data, "referenced_tweets"), "data.referenced_tweets")
    replied = next((str(r.get("id")) for r in refs if r.get("type") == "replied_to"), None)
    mentioned = [
        str(m.get("id") or m.get("username"))
        for m in objects(optional(data, "entities", "mentions"), "entities.mentions")
    ]
    handle = optional(user, "username")
    return event(
        Platform.X,
        original,
        Kind.REPLY if replied else Kind.MENTION if mentioned else Kind.POST,
        author=Author(
            id=author_id,
            handle=handle,
            followers=count(optional(user, "public_metrics", "followers_count"), "followers"),
        ),
        text=clean_text(require(data, "text")),
        created_at=from_iso(require(data, "created_at"), "data.created_at"),
        lang=lang_hint(optional(data, "lang")),
        url=status_url(handle, tid),
        thread_id=optional_id(optional(data, "conversation_id"), "data.conversation_id"),
        in_reply_to=replied,
        addressed_to=optional_id(optional(data, "in_reply_to_user_id"), "in_reply_to_user_id")
        or (mentioned[0] if mentioned else None),
        direct=bool(replied or mentioned),
        change=Change.EDITED if original != tid else None,
    )


def _direct_messages(payload: Json) -> list[SocialEvent]:
    brand_account = native_id(require(payload, "for_user_id"), "for_user_id")
    users = optional(payload, "users")
    events = []
    for dm in objects(require(payload, "direct_message_events"), "direct_message_events"):
        if optional(dm, "type") != "message_create":
            continue  # typing indicators and read receipts
        create = require_object(dm, "message_create")
        sender = native_id(require(create, "sender_id"), "message_create.sender_id")
        if sender == brand_account:
            continue  # the brand's own answers
        user = optional(users, sender) or {}
        events.append(
            event(
                Platform.X,
                native_id(require(dm, "id"), "id"),
                Kind.DM,
                author=Author(
                    id=sender,
                    handle=optional(user, "screen_name"),
                    followers=count(optional(user, "followers_count"), "followers_count"),
                ),
                text=clean_text(require(create, "message_data", "text")),
                created_at=from_unix(
                    require(dm, "created_timestamp"), "created_timestamp", millis=True
                ),
                thread_id=dm_thread(brand_account, sender),
                addressed_to=brand_account,
                direct=True,
            )
        )
    return events


def _deletions(payload: Json) -> list[SocialEvent]:
    """A deleted post: an empty-text event with ``change=deleted`` under the same id."""
    brand_account = native_id(require(payload, "for_user_id"), "for_user_id")
    return [
        event(
            Platform.X,
            native_id(require(item, "status", "id"), "status.id"),
            Kind.POST,
            author=Author(id=native_id(require(item, "status", "user_id"), "status.user_id")),
            text="",
            created_at=from_unix(require(item, "timestamp_ms"), "timestamp_ms", millis=True),
            addressed_to=brand_account,
            change=Change.DELETED,
        )
        for item in objects(require(payload, "tweet_delete_events"), "tweet_delete_events")
    ]


def _parse(payload: Json) -> list[SocialEvent]:
    if "direct_message_events" in payload:
        return _direct_messages(payload)
    if "tweet_delete_events" in payload:
        return _deletions(payload)
    return [_post(payload)]


parser = Parser(Platform.X, _parse)
