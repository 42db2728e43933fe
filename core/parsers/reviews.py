"""Review platforms: Google Business Profile reviews and Tripadvisor reviews (both polled).

Google: the ``accounts.locations.reviews`` resource, ``{"name":
"accounts/…/locations/…/reviews/…", "reviewId", "reviewer": {"displayName",
"isAnonymous"}, "starRating": "ONE".."FIVE", "comment"?, "createTime", "updateTime",
"reviewReply"?}``; the reviewer has no stable id, only a display name. Comments Google
translated carry ``(Translated by Google)`` and the ``(Original)``, which is kept.
Tripadvisor: a Content API review, ``{"id", "lang", "location_id", "published_date",
"rating", "url", "title", "text", "user": {"username"}}``, or a page ``{"data": […]}``.
The 1–5 rating travels as the extra key ``rating``.
"""

from __future__ import annotations

from core.parsers.base import (
    Change,
    Json,
    Parser,
    PayloadError,
    clean_text,
    event,
    from_iso,
    keyword,
    lang_hint,
    native_id,
    objects,
    optional,
    optional_text,
    require,
)
from schemas.events import Author, Kind, Platform, SocialEvent

_STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
_ORIGINAL = "(Original)"
ANONYMOUS = "anonymous"


def _untranslated(comment: str) -> str:
    """The reviewer's own words when Google appended a translation to them."""
    if "(Translated by Google)" in comment and _ORIGINAL in comment:
        return comment.split(_ORIGINAL, 1)[1].strip()
    return comment


def titled(title: str | None, body: str) -> str:
    """A review or article as one text: its title, a blank line, its body."""
    return f"{title}\n\n{body}".strip() if title else body


def _google(payload: Json) -> list[SocialEvent]:
    name = str(require(payload, "name"))
    location, sep, _ = name.rpartition("/reviews/")
    if not sep:
        raise PayloadError("field name must be accounts/…/locations/…/reviews/…")
    stars = keyword(require(payload, "starRating"))
    if stars not in _STARS:
        raise PayloadError(f"field starRating is not ONE..FIVE: {str(stars)[:20]!r}")
    reviewer = optional(payload, "reviewer", "displayName")
    anonymous = optional(payload, "reviewer", "isAnonymous") or not reviewer
    created = from_iso(require(payload, "createTime"), "createTime")
    updated = optional(payload, "updateTime")
    edited = updated is not None and from_iso(updated, "updateTime") > created
    review_id = native_id(require(payload, "reviewId"), "reviewId")
    return [
        event(
            Platform.GOOGLE_REVIEWS,
            review_id,
            Kind.REVIEW,
            author=Author(
                id=ANONYMOUS if anonymous else native_id(reviewer, "reviewer.displayName"),
                handle=None if anonymous else reviewer,
            ),
            text=_untranslated(optional_text(optional(payload, "comment"), "comment")),
            created_at=created,
            thread_id=review_id,
            addressed_to=location,
            direct=True,
            change=Change.EDITED if edited else None,
            rating=_STARS[stars],
        )
    ]


def _tripadvisor_review(review: Json) -> SocialEvent:
    rating = require(review, "rating")
    if isinstance(rating, bool) or rating not in range(1, 6):
        raise PayloadError("field rating must be 1..5")
    review_id = native_id(require(review, "id"), "id")
    url = optional(review, "url")
    title = optional(review, "title")
    return event(
        Platform.TRIPADVISOR,
        review_id,
        Kind.REVIEW,
        author=Author(id=native_id(require(review, "user", "username"), "user.username"),
                      handle=optional(review, "user", "username")),
        text=titled(clean_text(title, "title") if title else None,
                    optional_text(optional(review, "text"))),
        created_at=from_iso(require(review, "published_date"), "published_date"),
        lang=lang_hint(optional(review, "lang")),
        url=url if isinstance(url, str) else None,
        thread_id=review_id,
        addressed_to=native_id(require(review, "location_id"), "location_id"),
        direct=True,
        rating=rating,
    )


def _tripadvisor(payload: Json) -> list[SocialEvent]:
    if "data" in payload:
        return [_tripadvisor_review(r) for r in objects(require(payload, "data"), "data")]
    return [_tripadvisor_review(payload)]


google_reviews = Parser(Platform.GOOGLE_REVIEWS, _google)
tripadvisor = Parser(Platform.TRIPADVISOR, _tripadvisor)
