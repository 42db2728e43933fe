"""The open web: news/RSS items, forum posts (Discourse webhooks), comments on brand articles.

News: an RSS 2.0 item as JSON, ``{"feed": {"title", "link", "language"?}, "item":
{"guid"?, "link", "title", "description" (HTML), "pubDate" (RFC 822), "author"?,
"categories"?}}``. Forum: a Discourse ``post`` webhook, ``{"post": {"id",
"topic_id", "post_number", "reply_to_post_number"?, "username", "user_id",
"created_at", "raw"|"cooked", "topic_title", "version", "deleted_at"?}}``; its native
id is ``<topic>/<post number>`` so that replies can point at their parent. Web
comments: a WordPress REST ``/wp/v2/comments`` object, ``{"id", "post", "parent",
"author", "author_name", "date_gmt", "content": {"rendered"}, "link", "status"}``,
whose site (host of ``link``) identifies the brand.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from core.parsers.base import (
    Change,
    Json,
    Parser,
    PayloadError,
    clean_text,
    event,
    from_iso,
    from_rfc2822,
    html_text,
    lang_hint,
    native_id,
    optional,
    optional_id,
    require,
    require_object,
)
from core.parsers.reviews import titled
from schemas.events import Author, Kind, Platform, SocialEvent


def _news(payload: Json) -> list[SocialEvent]:
    feed = require_object(payload, "feed")
    item = require_object(payload, "item")
    link = optional(item, "link")
    guid = optional(item, "guid") or link
    description = optional(item, "description")
    source = native_id(optional(feed, "link") or require(feed, "title"), "feed.link")
    author = optional(item, "author") or optional(item, "dc:creator")
    return [
        event(
            Platform.NEWS,
            native_id(guid, "item.guid"),
            Kind.ARTICLE,
            author=Author(
                id=native_id(author, "item.author") if author else source,
                handle=optional(feed, "title"),
            ),
            text=titled(
                clean_text(require(item, "title"), "item.title"),
                html_text(description, "item.description") if description else "",
            ),
            created_at=from_rfc2822(require(item, "pubDate"), "item.pubDate"),
            lang=lang_hint(optional(feed, "language")),
            url=link if isinstance(link, str) else None,
            thread_id=native_id(guid, "item.guid"),
        )
    ]


def _forum(payload: Json) -> list[SocialEvent]:
    post = require_object(payload, "post")
    topic = native_id(require(post, "topic_id"), "post.topic_id")
    number = native_id(require(post, "post_number"), "post.post_number")
    parent = optional_id(optional(post, "reply_to_post_number"), "post.reply_to_post_number")
    raw = optional(post, "raw")
    body = clean_text(raw, "post.raw") if raw is not None else html_text(
        require(post, "cooked"), "post.cooked")
    first = number == "1"
    title = optional(post, "topic_title")
    version = optional(post, "version")
    if optional(post, "deleted_at"):
        change: Change | None = Change.DELETED
    elif isinstance(version, int) and version > 1:
        change = Change.EDITED
    else:
        change = None
    return [
        event(
            Platform.FORUM,
            f"{topic}/{number}",
            Kind.POST if first else Kind.REPLY if parent else Kind.COMMENT,
            author=Author(
                id=native_id(require(post, "user_id"), "post.user_id"),
                handle=optional(post, "username"),
            ),
            text=titled(clean_text(title, "topic_title") if first and title else None, body),
            created_at=from_iso(require(post, "created_at"), "post.created_at"),
            thread_id=topic,
            in_reply_to=f"{topic}/{parent}" if parent else None,
            change=change,
        )
    ]


def site_of(link: str) -> str:
    """The host a page lives on, the account of a brand's own site."""
    host = urlsplit(link).hostname
    if not host:
        raise PayloadError(f"field link has no host: {link[:60]!r}")
    return host


def _web_comment(payload: Json) -> list[SocialEvent]:
    link = require(payload, "link")
    if not isinstance(link, str):
        raise PayloadError("field link must be a URL")
    site = site_of(link)
    parent = optional(payload, "parent")
    user = optional(payload, "author")
    name = optional(payload, "author_name")
    status = optional(payload, "status")
    return [
        event(
            Platform.WEB_COMMENTS,
            f"{site}/comments/{native_id(require(payload, 'id'), 'id')}",
            Kind.REPLY if parent else Kind.COMMENT,
            author=Author(
                id=native_id(user, "author") if user else f"guest:{name or ''}",
                handle=name if isinstance(name, str) else None,
            ),
            text=html_text(require(payload, "content", "rendered"), "content.rendered"),
            created_at=from_iso(require(payload, "date_gmt"), "date_gmt"),
            url=link,
            thread_id=f"{site}/posts/{native_id(require(payload, 'post'), 'post')}",
            in_reply_to=f"{site}/comments/{native_id(parent, 'parent')}" if parent else None,
            addressed_to=site,
            direct=True,
            change=Change.DELETED if status == "trash" else None,
        )
    ]


news = Parser(Platform.NEWS, _news)
forum = Parser(Platform.FORUM, _forum)
web_comments = Parser(Platform.WEB_COMMENTS, _web_comment)
