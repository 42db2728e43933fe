"""Meta Graph webhooks: Facebook page feed, Messenger, Instagram, WhatsApp Business Cloud API.

Every delivery is ``{"object": "page"|"instagram"|"whatsapp_business_account",
"entry": [{"id": <page / IG account / WABA id>, "time", "changes": [{"field", "value"}]
| "messaging": [{"sender", "recipient", "timestamp", "message" | "message_edit"}]}]}``.
Echoes of the page's own messages, reactions, reads and delivery statuses are not
messages and are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from core.parsers.base import (
    Change,
    Json,
    Parser,
    PayloadError,
    clean_text,
    dm_thread,
    event,
    from_unix,
    keyword,
    native_id,
    objects,
    optional,
    optional_id,
    optional_text,
    require,
    require_object,
)
from schemas.events import Author, Kind, Platform, SocialEvent

_FEED_ITEMS = frozenset({"post", "status", "photo", "video", "share"})
_FEED_VERBS = {
    "add": None,
    "edited": Change.EDITED,
    "edit": Change.EDITED,
    "remove": Change.DELETED,
}


def post_url(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"


def _entries(payload: Json, expected_object: str) -> list[Json]:
    obj = require(payload, "object")
    if obj != expected_object:
        raise PayloadError(f"object must be {expected_object!r}, got {str(obj)[:30]!r}")
    return objects(require(payload, "entry"), "entry")


def _changes(payload: Json, expected_object: str) -> Iterator[tuple[str, Json, str, Json]]:
    """(entry id, entry, field, value) of every ``entry[].changes[]``."""
    for entry in _entries(payload, expected_object):
        account = native_id(require(entry, "id"), "entry.id")
        for change in objects(require(entry, "changes"), "entry.changes"):
            yield account, entry, str(require(change, "field")), require_object(change, "value")


def _attachment_refs(message: Json) -> list[str]:
    refs = (
        optional(a, "payload", "url") or optional(a, "type")
        for a in objects(optional(message, "attachments"), "message.attachments")
    )
    return [str(r) for r in refs if r]


def _messaging(platform: Platform, payload: Json, expected_object: str) -> list[SocialEvent]:
    """Messenger and Instagram Direct: ``entry[].messaging[]`` with a message or an edit."""
    events = []
    for entry in _entries(payload, expected_object):
        page_id = native_id(require(entry, "id"), "entry.id")
        for item in objects(require(entry, "messaging"), "entry.messaging"):
            edit = optional(item, "message_edit")
            message = edit if edit is not None else optional(item, "message")
            if message is None or optional(message, "is_echo"):
                continue  # reads, deliveries, reactions, the page's own messages
            if not isinstance(message, dict):
                raise PayloadError("field message must be an object")
            sender = native_id(require(item, "sender", "id"), "sender.id")
            deleted = bool(optional(message, "is_deleted"))
            change = Change.DELETED if deleted else Change.EDITED if edit is not None else None
            events.append(
                event(
                    platform,
                    native_id(require(message, "mid"), "message.mid"),
                    Kind.DM,
                    author=Author(id=sender, handle=optional(item, "sender", "username")),
                    text=optional_text(optional(message, "text")),
                    created_at=from_unix(require(item, "timestamp"), "timestamp", millis=True),
                    thread_id=dm_thread(page_id, sender),
                    in_reply_to=optional_id(optional(message, "reply_to", "mid"), "reply_to.mid"),
                    attachments=_attachment_refs(message),
                    addressed_to=page_id,
                    direct=True,
                    change=change,
                )
            )
    return events


def _feed_event(page_id: str, value: Json) -> SocialEvent | None:
    item = keyword(require(value, "item"))
    if item == "comment":
        mid = native_id(require(value, "comment_id"), "value.comment_id")
        post = optional_id(optional(value, "post_id"), "value.post_id")
        parent = optional_id(optional(value, "parent_id"), "value.parent_id")
        kind = Kind.REPLY if parent and parent != post else Kind.COMMENT
    elif item in _FEED_ITEMS:
        mid = native_id(require(value, "post_id"), "value.post_id")
        parent, post, kind = None, mid, Kind.POST
    else:
        return None  # reactions, likes: not messages
    verb = keyword(optional(value, "verb")) or "add"
    if verb not in _FEED_VERBS:
        return None  # hide/unhide/block: moderation actions of the page itself
    photo = optional(value, "photo")
    return event(
        Platform.FACEBOOK,
        mid,
        kind,
        author=Author(
            id=native_id(require(value, "from", "id"), "value.from.id"),
            handle=optional(value, "from", "name"),
        ),
        text=optional_text(optional(value, "message"), "value.message"),
        created_at=from_unix(require(value, "created_time"), "value.created_time"),
        url=post_url(mid),
        thread_id=post,
        in_reply_to=parent if kind == Kind.REPLY else None,
        attachments=[str(photo)] if photo else [],
        addressed_to=page_id,
        direct=True,
        change=_FEED_VERBS[verb],
    )


def _page(payload: Json) -> list[SocialEvent]:
    """Facebook page ``feed`` changes: posts, comments and replies on the brand's page."""
    events = (
        _feed_event(page_id, value)
        for page_id, _, field, value in _changes(payload, "page")
        if field == "feed"
    )
    return [e for e in events if e is not None]


def _instagram(payload: Json) -> list[SocialEvent]:
    """Instagram ``comments`` / ``mentions`` changes, or Instagram Direct messages."""
    entries = _entries(payload, "instagram")
    if entries and all("messaging" in e for e in entries):
        return _messaging(Platform.INSTAGRAM, payload, "instagram")
    events = []
    for account, entry, field, value in _changes(payload, "instagram"):
        if field not in ("comments", "mentions"):
            continue
        parent = optional_id(optional(value, "parent_id"), "value.parent_id")
        kind = Kind.MENTION if field == "mentions" else Kind.REPLY if parent else Kind.COMMENT
        events.append(
            event(
                Platform.INSTAGRAM,
                native_id(require(value, "id"), "value.id"),
                kind,
                author=Author(
                    id=native_id(require(value, "from", "id"), "value.from.id"),
                    handle=optional(value, "from", "username"),
                ),
                text=clean_text(require(value, "text")),
                created_at=from_unix(require(entry, "time"), "entry.time"),
                thread_id=optional_id(optional(value, "media", "id"), "value.media.id"),
                in_reply_to=parent,
                addressed_to=account,
                direct=True,
            )
        )
    return events


def _whatsapp_text(message: Json) -> tuple[str, list[str]]:
    """Text and media references of one WhatsApp message, by its ``type``."""
    kind = keyword(require(message, "type"))
    body = optional(message, kind)
    if kind == "text":
        return clean_text(require(message, "text", "body"), "text.body"), []
    if kind in ("image", "video", "document", "audio", "sticker"):
        media = native_id(require(body, "id"), f"{kind}.id")
        return optional_text(optional(body, "caption"), f"{kind}.caption"), [f"{kind}:{media}"]
    if kind == "interactive":
        reply = optional(body, "button_reply") or optional(body, "list_reply")
        return clean_text(require(reply, "title"), "interactive.title"), []
    if kind == "button":
        return clean_text(require(body, "text"), "button.text"), []
    if kind == "location":
        parts = [optional(body, "name"), optional(body, "address")]
        return clean_text(" — ".join(p for p in parts if isinstance(p, str))), []
    raise PayloadError(f"unsupported whatsapp message type {kind[:30]!r}")


_WHATSAPP_SKIPPED = frozenset({"reaction", "unsupported", "system", "request_welcome"})


def _whatsapp(payload: Json) -> list[SocialEvent]:
    """Cloud API ``messages`` changes: one event per inbound customer message."""
    events = []
    for _, _, field, value in _changes(payload, "whatsapp_business_account"):
        if field != "messages":
            continue
        phone_id = native_id(require(value, "metadata", "phone_number_id"), "phone_number_id")
        names = {
            str(optional(c, "wa_id")): optional(c, "profile", "name")
            for c in objects(optional(value, "contacts"), "value.contacts")
        }
        for message in objects(optional(value, "messages"), "value.messages"):
            if keyword(optional(message, "type")) in _WHATSAPP_SKIPPED:
                continue
            sender = native_id(require(message, "from"), "message.from")
            text, attachments = _whatsapp_text(message)
            events.append(
                event(
                    Platform.WHATSAPP,
                    native_id(require(message, "id"), "message.id"),
                    Kind.DM,
                    author=Author(id=sender, handle=names.get(sender)),
                    text=text,
                    created_at=from_unix(require(message, "timestamp"), "message.timestamp"),
                    thread_id=dm_thread(phone_id, sender),
                    in_reply_to=optional_id(optional(message, "context", "id"), "context.id"),
                    attachments=attachments,
                    addressed_to=phone_id,
                    direct=True,
                )
            )
    return events


def _messaging_of(platform: Platform, obj: str) -> Callable[[Json], list[SocialEvent]]:
    return lambda payload: _messaging(platform, payload, obj)


facebook = Parser(Platform.FACEBOOK, _page)
messenger = Parser(Platform.MESSENGER, _messaging_of(Platform.MESSENGER, "page"))
instagram = Parser(Platform.INSTAGRAM, _instagram)
whatsapp = Parser(Platform.WHATSAPP, _whatsapp)

