"""Telegram Bot API updates (``setWebhook`` deliveries).

``{"update_id", "message"|"edited_message"|"channel_post"|"edited_channel_post"|
"business_message"|"edited_business_message": {"message_id", "date", "chat": {"id",
"type", "username"?}, "from"?: {"id", "username", "language_code"}, "text"|"caption",
"reply_to_message"?, "message_thread_id"?, "business_connection_id"?, "photo"?, …}}``
Message ids are unique per chat only, so the native id is ``<chat id>:<message id>``.
A brand is reached through its Telegram Business connection (DMs) or its groups;
a private chat with a bot does not name the bot, so such DMs are attributed by text.
"""

from __future__ import annotations

from core.parsers.base import (
    Change,
    Json,
    Parser,
    dm_thread,
    event,
    from_unix,
    lang_hint,
    native_id,
    objects,
    optional,
    optional_id,
    optional_text,
    require,
    require_object,
)
from schemas.events import Author, Kind, Platform, SocialEvent

_MESSAGE_KEYS = {
    "message": None,
    "edited_message": Change.EDITED,
    "channel_post": None,
    "edited_channel_post": Change.EDITED,
    "business_message": None,
    "edited_business_message": Change.EDITED,
}
_MEDIA = ("document", "video", "voice", "audio", "sticker", "animation", "video_note")


def message_url(chat_username: str, message_id: str) -> str:
    return f"https://t.me/{chat_username}/{message_id}"


def _attachments(message: Json) -> list[str]:
    refs = []
    photos = objects(optional(message, "photo"), "photo")
    if photos:  # several sizes of one picture, largest last
        refs.append(f"photo:{native_id(require(photos[-1], 'file_id'), 'photo.file_id')}")
    for media in _MEDIA:
        file_id = optional(message, media, "file_id")
        if file_id is not None:
            refs.append(f"{media}:{native_id(file_id, f'{media}.file_id')}")
    return refs


def _sender(message: Json) -> Json:
    """The person, or for channel posts the channel itself (``sender_chat``)."""
    return optional(message, "from") or require_object(message, "sender_chat")


def _message(message: Json, change: Change | None) -> SocialEvent:
    chat = require_object(message, "chat")
    chat_id = native_id(require(chat, "id"), "chat.id")
    chat_type = optional(chat, "type")
    mid = native_id(require(message, "message_id"), "message_id")
    sender = _sender(message)
    author = Author(
        id=native_id(require(sender, "id"), "from.id"),
        handle=optional(sender, "username"),
    )
    connection = optional_id(optional(message, "business_connection_id"), "business_connection")
    replied = optional(message, "reply_to_message", "message_id")
    in_reply_to = f"{chat_id}:{native_id(replied, 'reply_to_message.id')}" if replied else None
    addressed_to: str | None = chat_id
    if connection or chat_type == "private":
        kind, addressed_to = Kind.DM, connection
        thread = dm_thread(connection, author.id) if connection else chat_id
    else:
        kind = Kind.POST if chat_type == "channel" else Kind.REPLY if in_reply_to else Kind.CHAT
        topic = optional_id(optional(message, "message_thread_id"), "message_thread_id")
        thread = f"{chat_id}:{topic}" if topic else chat_id
    username = optional(chat, "username")
    return event(
        Platform.TELEGRAM,
        f"{chat_id}:{mid}",
        kind,
        author=author,
        text=optional_text(optional(message, "text") or optional(message, "caption")),
        created_at=from_unix(require(message, "date"), "date"),
        lang=lang_hint(optional(sender, "language_code")),
        url=message_url(username, mid) if isinstance(username, str) and username else None,
        thread_id=thread,
        in_reply_to=in_reply_to,
        attachments=_attachments(message),
        addressed_to=addressed_to,
        direct=kind != Kind.POST,
        change=change,
    )


def _parse(payload: Json) -> list[SocialEvent]:
    native_id(require(payload, "update_id"), "update_id")
    for key, change in _MESSAGE_KEYS.items():
        if key in payload:
            return [_message(require_object(payload, key), change)]
    return []  # callback queries, member updates, polls, deletions (no time): not messages


parser = Parser(Platform.TELEGRAM, _parse)
