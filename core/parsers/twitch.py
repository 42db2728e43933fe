"""Twitch EventSub notifications: channel chat messages, their deletion, and whispers.

Read in EventSub's WebSocket message form, ``{"metadata": {"message_id",
"message_type": "notification", "message_timestamp", "subscription_type"}, "payload":
{"subscription", "event"}}``, because a webhook body alone has no timestamp: the
receiver wraps the untouched webhook body with the metadata Twitch sent as headers.
Events: ``channel.chat.message`` (``message_id``, ``chatter_user_*``, ``message.text``,
``reply``?), ``channel.chat.message_delete`` and ``user.whisper.message``
(``whisper_id``, ``from_user_*``, ``to_user_id``, ``whisper.text``).
"""

from __future__ import annotations

from datetime import datetime

from core.parsers.base import (
    Change,
    Json,
    Parser,
    clean_text,
    dm_thread,
    event,
    from_iso,
    native_id,
    optional,
    optional_id,
    require,
    require_object,
)
from schemas.events import Author, Kind, Platform, SocialEvent

CHAT_MESSAGE = "channel.chat.message"
CHAT_DELETE = "channel.chat.message_delete"
WHISPER = "user.whisper.message"


def channel_url(login: str) -> str:
    return f"https://www.twitch.tv/{login}"


def _chat(body: Json, at: datetime, *, deleted: bool) -> SocialEvent:
    broadcaster = native_id(require(body, "broadcaster_user_id"), "broadcaster_user_id")
    login = optional(body, "broadcaster_user_login")
    prefix = "target_user" if deleted else "chatter_user"
    reply = optional(body, "reply")
    parent = optional_id(optional(reply, "parent_message_id"), "reply.parent_message_id")
    return event(
        Platform.TWITCH,
        native_id(require(body, "message_id"), "message_id"),
        Kind.REPLY if parent else Kind.CHAT,
        author=Author(
            id=native_id(require(body, f"{prefix}_id"), f"{prefix}_id"),
            handle=optional(body, f"{prefix}_login"),
        ),
        text="" if deleted else clean_text(require(body, "message", "text"), "message.text"),
        created_at=at,
        url=channel_url(login) if isinstance(login, str) and login else None,
        thread_id=optional_id(optional(reply, "thread_message_id"), "reply.thread_message_id")
        or broadcaster,
        in_reply_to=parent,
        addressed_to=broadcaster,
        direct=True,
        change=Change.DELETED if deleted else None,
    )


def _whisper(body: Json, at: datetime) -> SocialEvent:
    sender = native_id(require(body, "from_user_id"), "from_user_id")
    recipient = native_id(require(body, "to_user_id"), "to_user_id")
    return event(
        Platform.TWITCH,
        native_id(require(body, "whisper_id"), "whisper_id"),
        Kind.DM,
        author=Author(id=sender, handle=optional(body, "from_user_login")),
        text=clean_text(require(body, "whisper", "text"), "whisper.text"),
        created_at=at,
        thread_id=dm_thread(recipient, sender),
        addressed_to=recipient,
        direct=True,
    )


def _parse(payload: Json) -> list[SocialEvent]:
    metadata = require_object(payload, "metadata")
    if optional(metadata, "message_type") != "notification":
        return []  # session_welcome, keepalive, revocation
    at = from_iso(require(metadata, "message_timestamp"), "metadata.message_timestamp")
    kind = optional(payload, "payload", "subscription", "type") or optional(
        metadata, "subscription_type"
    )
    body = require_object(payload, "payload", "event")
    if kind == CHAT_MESSAGE:
        return [_chat(body, at, deleted=False)]
    if kind == CHAT_DELETE:
        return [_chat(body, at, deleted=True)]
    if kind == WHISPER:
        return [_whisper(body, at)]
    return []


parser = Parser(Platform.TWITCH, _parse)
