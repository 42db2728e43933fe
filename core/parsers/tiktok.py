"""TikTok developer webhooks: comments on the brand's videos and direct messages.

``{"client_key", "event": "comment.create"|"comment.update"|"comment.delete"|
"direct_message.receive", "create_time": <s>, "user_openid": <brand account open id>,
"content": "<JSON string>"}``; like TikTok's, the ``content`` is JSON serialized
inside a string. Comment content: ``{"comment_id", "video_id", "parent_comment_id"?,
"text", "create_time", "user": {"open_id", "username", "display_name", "follower_count"?}}``.
DM content: ``{"conversation_id", "message_id", "create_time", "sender": {…as user},
"message": {"type": "text"|"image"|…, "text"?, "media_url"?}}``.
"""

from __future__ import annotations

from core.parsers.base import (
    Change,
    Json,
    Parser,
    count,
    dm_thread,
    embedded_json,
    event,
    from_unix,
    keyword,
    native_id,
    optional,
    optional_id,
    optional_text,
    require,
)
from schemas.events import Author, Kind, Platform, SocialEvent

_COMMENT_CHANGES = {
    "comment.create": None,
    "comment.update": Change.EDITED,
    "comment.delete": Change.DELETED,
}


def _author(user: Json, field: str) -> Author:
    return Author(
        id=native_id(require(user, "open_id"), f"{field}.open_id"),
        handle=optional(user, "username"),
        followers=count(optional(user, "follower_count"), f"{field}.follower_count"),
    )


def _comment(account: str, name: str, content: Json) -> SocialEvent:
    video = native_id(require(content, "video_id"), "content.video_id")
    parent = optional_id(optional(content, "parent_comment_id"), "content.parent_comment_id")
    return event(
        Platform.TIKTOK,
        native_id(require(content, "comment_id"), "content.comment_id"),
        Kind.REPLY if parent else Kind.COMMENT,
        author=_author(require(content, "user"), "content.user"),
        text=optional_text(optional(content, "text"), "content.text"),
        created_at=from_unix(require(content, "create_time"), "content.create_time"),
        thread_id=video,
        in_reply_to=parent,
        addressed_to=account,
        direct=True,
        change=_COMMENT_CHANGES[name],
    )


def _direct_message(account: str, content: Json) -> SocialEvent:
    author = _author(require(content, "sender"), "content.sender")
    media = optional(content, "message", "media_url")
    return event(
        Platform.TIKTOK,
        native_id(require(content, "message_id"), "content.message_id"),
        Kind.DM,
        author=author,
        text=optional_text(optional(content, "message", "text"), "message.text"),
        created_at=from_unix(require(content, "create_time"), "content.create_time"),
        thread_id=dm_thread(account, author.id),
        attachments=[str(media)] if media else [],
        addressed_to=account,
        direct=True,
    )


def _parse(payload: Json) -> list[SocialEvent]:
    name = keyword(require(payload, "event"))
    account = native_id(require(payload, "user_openid"), "user_openid")
    if name in _COMMENT_CHANGES:
        return [_comment(account, name, embedded_json(require(payload, "content"), "content"))]
    if name == "direct_message.receive":
        return [_direct_message(account, embedded_json(require(payload, "content"), "content"))]
    return []  # authorization.removed, video.publish.*: not messages


parser = Parser(Platform.TIKTOK, _parse)
