"""YouTube Data API v3 comments, as the poller reads them from ``commentThreads.list``.

A ``youtube#commentThread`` (``snippet.topLevelComment`` and ``replies.comments``) or a
single ``youtube#comment`` (a reply, with ``snippet.parentId``). Comment snippet:
``textOriginal``, ``textDisplay``, ``authorDisplayName``, ``authorChannelId.value``,
``channelId``, ``videoId``, ``publishedAt``, ``updatedAt`` (later when edited).
"""

from __future__ import annotations

from core.parsers.base import (
    Change,
    Json,
    Parser,
    PayloadError,
    event,
    from_iso,
    html_text,
    native_id,
    objects,
    optional,
    optional_id,
    optional_text,
    require,
    require_object,
)
from schemas.events import Author, Kind, Platform, SocialEvent


def comment_url(video_id: str, comment_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}"


def _comment(comment: Json, channel: str | None, video: str | None) -> SocialEvent:
    cid = native_id(require(comment, "id"), "comment.id")
    snippet = require_object(comment, "snippet")
    parent = optional_id(optional(snippet, "parentId"), "snippet.parentId")
    video = optional_id(optional(snippet, "videoId"), "snippet.videoId") or video
    original = optional(snippet, "textOriginal")
    published = from_iso(require(snippet, "publishedAt"), "snippet.publishedAt")
    updated = optional(snippet, "updatedAt")
    edited = updated is not None and from_iso(updated, "snippet.updatedAt") > published
    author_channel = optional(snippet, "authorChannelId", "value")
    return event(
        Platform.YOUTUBE,
        cid,
        Kind.REPLY if parent else Kind.COMMENT,
        author=Author(
            id=native_id(author_channel or require(snippet, "authorDisplayName"), "author"),
            handle=optional(snippet, "authorDisplayName"),
        ),
        text=optional_text(original, "snippet.textOriginal")
        if original is not None
        else html_text(require(snippet, "textDisplay"), "snippet.textDisplay"),
        created_at=published,
        url=comment_url(video, cid) if video else None,
        thread_id=parent or cid,
        in_reply_to=parent,
        addressed_to=optional_id(optional(snippet, "channelId"), "snippet.channelId") or channel,
        direct=True,
        change=Change.EDITED if edited else None,
    )


def _thread(thread: Json) -> list[SocialEvent]:
    snippet = require_object(thread, "snippet")
    channel = optional_id(optional(snippet, "channelId"), "snippet.channelId")
    video = optional_id(optional(snippet, "videoId"), "snippet.videoId")
    comments = [require_object(snippet, "topLevelComment")]
    comments += objects(optional(thread, "replies", "comments"), "replies.comments")
    return [_comment(c, channel, video) for c in comments]


def _parse(payload: Json) -> list[SocialEvent]:
    kind = optional(payload, "kind")
    if kind == "youtube#commentThread":
        return _thread(payload)
    if kind == "youtube#comment":
        return [_comment(payload, None, None)]
    if kind == "youtube#commentThreadListResponse":
        return [e for item in objects(require(payload, "items"), "items") for e in _thread(item)]
    raise PayloadError(f"unknown youtube resource kind {str(kind)[:40]!r}")


parser = Parser(Platform.YOUTUBE, _parse)
