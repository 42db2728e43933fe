"""LinkedIn organization social action notifications (Community Management API webhooks).

``{"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notifications": [{"notificationId",
"action": "COMMENT"|"COMMENT_EDIT"|"COMMENT_DELETE"|"SHARE_MENTION"|…, "actor":
"urn:li:person:…", "organizationalEntity": "urn:li:organization:…", "sourcePost",
"generatedActivity", "decoratedGeneratedActivity": {"comment"|"share": {"entity",
"text", "parentComment"?}}, "lastModifiedAt": <ms>}]}``. Likes, shares without text and
the organization's own comments (``ADMIN_COMMENT``) are not messages.
"""

from __future__ import annotations

from core.parsers.base import (
    Change,
    Json,
    Parser,
    event,
    from_unix,
    keyword,
    native_id,
    objects,
    optional,
    optional_id,
    optional_text,
    require,
)
from schemas.events import Author, Kind, Platform, SocialEvent

_ACTIONS: dict[str, tuple[str, Change | None]] = {
    "COMMENT": ("comment", None),
    "COMMENT_EDIT": ("comment", Change.EDITED),
    "COMMENT_DELETE": ("comment", Change.DELETED),
    "SHARE_MENTION": ("share", None),
    "COMMENT_MENTION": ("comment", None),
}


def post_url(post_urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{post_urn}"


def _notification(item: Json) -> SocialEvent | None:
    action = keyword(optional(item, "action"))
    if action not in _ACTIONS:
        return None
    activity_kind, change = _ACTIONS[action]
    activity = optional(item, "decoratedGeneratedActivity", activity_kind)
    entity = optional(activity, "entity") or require(item, "generatedActivity")
    source_post = optional_id(optional(item, "sourcePost"), "sourcePost")
    parent = optional_id(optional(activity, "parentComment"), "parentComment")
    kind = Kind.MENTION if "MENTION" in action else Kind.REPLY if parent else Kind.COMMENT
    return event(
        Platform.LINKEDIN,
        native_id(entity, "generatedActivity"),
        kind,
        author=Author(id=native_id(require(item, "actor"), "actor")),
        text=optional_text(optional(activity, "text"), f"{activity_kind}.text"),
        created_at=from_unix(require(item, "lastModifiedAt"), "lastModifiedAt", millis=True),
        url=post_url(source_post) if source_post else None,
        thread_id=source_post,
        in_reply_to=parent,
        addressed_to=native_id(require(item, "organizationalEntity"), "organizationalEntity"),
        direct=True,
        change=change,
    )


def _parse(payload: Json) -> list[SocialEvent]:
    items = (_notification(n) for n in objects(require(payload, "notifications"), "notifications"))
    return [e for e in items if e is not None]


parser = Parser(Platform.LINKEDIN, _parse)
