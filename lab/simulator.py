"""Deterministic (seeded) simulated traffic: raw payloads with their ground truth.

Each simulated message is first a normalized ``SocialEvent`` (exactly what the
parser must produce from it, field for field), then rendered by
:mod:`lab.encoders` in its platform's wire shape. Traffic follows a daily cycle
(quiet nights, lunch and evening peaks); a small share of deliveries is repeated
(webhook retries: same payload twice, expected once) and a small share is
malformed on purpose, so deduplication and the dead-letter path are exercised.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from core.brands import Brand, BrandDirectory
from core.parsers import linkedin, meta, x, youtube
from core.parsers.base import dm_thread
from lab.encoders import ENCODERS, KINDS, native
from schemas.events import Author, Kind, Platform, SocialEvent

# (template, language, star rating when the message is a review)
TEXTS: tuple[tuple[str, str, int], ...] = (
    ("Bonjour, ma commande n'est toujours pas arrivée, pouvez-vous m'aider ?", "fr", 2),
    ("Merci {brand} pour la rapidité, service au top !", "fr", 5),
    ("Quels sont vos horaires d'ouverture ce week-end ?", "fr", 4),
    ("Bravo {brand}, 6 h de retard 👏 encore une fois", "fr", 1),
    ("Is the new offer from {brand} available in Belgium?", "en", 4),
    ("Love the new app update, great job {brand}!", "en", 5),
    ("Je voudrais acheter l'abonnement annuel, c'est possible en ligne ?", "fr", 4),
    ("Worst customer service ever, still waiting for my refund from {brand}.", "en", 1),
    ("Vu la pub {brand} hier soir, sympa.", "fr", 4),
    ("Any discount code for students?", "en", 3),
    ("¿Alguien sabe si {brand} abre el domingo?", "es", 3),
    ("Kann mir jemand sagen, ob {brand} nach Österreich liefert?", "de", 3),
)
NAMED_TEXTS = tuple(t for t in TEXTS if "{brand}" in t[0])

# Platforms whose wire format carries a language hint the parser keeps.
_LANG_PLATFORMS = frozenset({Platform.X, Platform.TELEGRAM, Platform.TRIPADVISOR, Platform.NEWS})
# Platforms whose wire format carries the author's audience.
_FOLLOWER_PLATFORMS = frozenset({Platform.X, Platform.TIKTOK})
# Where the event names no brand account: the brand must be found in the text.
_INDIRECT = frozenset({(Platform.NEWS, k) for k in KINDS[Platform.NEWS]}
                      | {(Platform.FORUM, k) for k in KINDS[Platform.FORUM]}
                      | {(Platform.X, Kind.POST)})
# Platforms whose payload cannot exist without the brand account (page, channel, location).
_NEEDS_ACCOUNT = frozenset(Platform) - {Platform.NEWS, Platform.FORUM, Platform.X}
_OUTLETS = ("Le Journal du Voyage", "Tech & Conso", "La Gazette Éco", "Retail Daily")


def daily_rate(moment: datetime) -> float:
    """Share of the peak rate at this time of day: ~0.15 at 4 am, peaks at 1 pm and 9 pm."""
    hour = moment.hour + moment.minute / 60
    lunch = math.exp(-(((hour - 13) / 2.5) ** 2))
    evening = math.exp(-(((hour - 21) / 2.0) ** 2))
    return 0.15 + 0.85 * max(lunch, evening)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One raw payload for ``raw.<platform>``, and what the pipeline must make of it.

    A ``duplicate`` is a re-delivery of the message before it: same key and bytes,
    and nothing new expected from it.
    """

    platform: Platform
    key: bytes
    value: bytes
    expected: tuple[SocialEvent, ...]
    duplicate: bool = False

    @property
    def valid(self) -> bool:
        return bool(self.expected)

    @property
    def malformed(self) -> bool:
        """Must end in the dead-letter topic (a duplicate of a good message must not)."""
        return not self.expected and not self.duplicate


@dataclass(frozen=True, slots=True)
class Draft:
    """The random ingredients of one message, before a platform gives them their shape."""

    platform: Platform
    kind: Kind
    brand: Brand
    text: str
    lang: str
    rating: int
    created_at: datetime
    number: str
    author_number: str
    handle: str
    followers: int
    container: str
    parent: str

    def account(self, index: int = 0) -> str | None:
        """The brand account addressed: primary, or one of the others (Telegram groups)."""
        if index == 0:
            return self.brand.accounts.get(self.platform)
        others = self.brand.other_accounts.get(self.platform, ())
        return others[index - 1] if len(others) >= index else None


def _event(d: Draft, native_id: str, **fields: Any) -> SocialEvent:
    """The expected event; ``fields`` override the defaults shared by every platform."""
    values: dict[str, Any] = {
        "event_id": SocialEvent.make_id(d.platform, native_id),
        "platform": d.platform,
        "kind": d.kind,
        "brand": d.brand.key,
        "author": Author(
            id=d.author_number,
            handle=d.handle,
            followers=d.followers if d.platform in _FOLLOWER_PLATFORMS else None,
        ),
        "text": d.text,
        "created_at": d.created_at,
        "lang": d.lang if d.platform in _LANG_PLATFORMS else None,
        "addressed_to": d.account(),
        "direct": True,
    }
    return SocialEvent(**(values | fields))


def _reply_to(d: Draft) -> str | None:
    return d.parent if d.kind == Kind.REPLY else None


def _facebook(d: Draft) -> SocialEvent:
    thread = d.number if d.kind == Kind.POST else d.container
    return _event(d, d.number, url=meta.post_url(d.number), thread_id=thread,
                  in_reply_to=_reply_to(d))


def _meta_dm(d: Draft) -> SocialEvent:
    """Messenger / Instagram Direct / WhatsApp: the thread is (brand account, person)."""
    handle = d.handle if d.platform == Platform.WHATSAPP else None
    author = Author(id=d.author_number, handle=handle)
    return _event(d, d.number, author=author,
                  thread_id=dm_thread(d.account() or "", d.author_number))


def _instagram(d: Draft) -> SocialEvent:
    if d.kind == Kind.DM:
        return _meta_dm(d)
    return _event(d, d.number, thread_id=d.container, in_reply_to=_reply_to(d))


def _x(d: Draft) -> SocialEvent:
    if d.kind == Kind.DM:
        return _event(d, d.number, lang=None,  # DM events carry no language
                      thread_id=dm_thread(d.account() or "", d.author_number))
    indirect = d.kind == Kind.POST
    return _event(
        d, d.number,
        url=x.status_url(d.handle, d.number),
        thread_id=d.container,
        in_reply_to=_reply_to(d),
        addressed_to=None if indirect else d.account(),
        direct=not indirect,
    )


def _linkedin(d: Draft) -> SocialEvent:
    author = Author(id=f"urn:li:person:{d.author_number}")
    if d.kind == Kind.MENTION:
        share = f"urn:li:share:{d.number}"
        return _event(d, share, author=author, url=linkedin.post_url(share), thread_id=share)
    post = f"urn:li:activity:{d.container}"
    parent = f"urn:li:comment:({post},{d.parent})" if d.kind == Kind.REPLY else None
    return _event(d, f"urn:li:comment:({post},{d.number})", author=author,
                  url=linkedin.post_url(post), thread_id=post, in_reply_to=parent)


def _tiktok(d: Draft) -> SocialEvent:
    if d.kind == Kind.DM:
        return _event(d, d.number, thread_id=dm_thread(d.account() or "", d.author_number))
    return _event(d, d.number, thread_id=d.container, in_reply_to=_reply_to(d))


def _twitch(d: Draft) -> SocialEvent:
    if d.kind == Kind.DM:
        return _event(d, d.number, thread_id=dm_thread(d.account() or "", d.author_number))
    thread = d.parent if d.kind == Kind.REPLY else d.account()
    return _event(d, d.number, thread_id=thread, in_reply_to=_reply_to(d))


def _youtube(d: Draft) -> SocialEvent:
    author = Author(id=f"UC{d.author_number}", handle=f"@{d.handle}")
    thread = d.parent if d.kind == Kind.REPLY else d.number
    return _event(d, d.number, author=author, url=youtube.comment_url(d.container, d.number),
                  thread_id=thread, in_reply_to=_reply_to(d))


def _telegram(d: Draft) -> SocialEvent:
    if d.kind == Kind.DM:
        return _event(d, f"{d.author_number}:{d.number}",
                      thread_id=dm_thread(d.account() or "", d.author_number))
    group = d.account(1) or ""
    replied = f"{group}:{d.parent}" if d.kind == Kind.REPLY else None
    return _event(d, f"{group}:{d.number}", thread_id=group, in_reply_to=replied,
                  addressed_to=group)


def _google_reviews(d: Draft) -> SocialEvent:
    author = Author(id=d.handle, handle=d.handle)
    return _event(d, f"AbFvOq{d.number}", author=author, thread_id=f"AbFvOq{d.number}",
                  rating=d.rating)


def _tripadvisor(d: Draft) -> SocialEvent:
    url = (f"https://www.tripadvisor.com/ShowUserReviews-g187147-d{d.account()}"
           f"-r{d.number}-Review.html")
    return _event(d, d.number, author=Author(id=d.handle, handle=d.handle), url=url,
                  thread_id=d.number, rating=d.rating)


def _news(d: Draft) -> SocialEvent:
    outlet = _OUTLETS[int(d.container) % len(_OUTLETS)]
    url = f"https://news{int(d.container) % len(_OUTLETS)}.example/articles/{d.number}"
    author = Author(id=f"{d.handle.title()} (rédaction)", handle=outlet)
    return _event(d, url, author=author, url=url, thread_id=url, addressed_to=None,
                  direct=False)


def _forum(d: Draft) -> SocialEvent:
    number = "1" if d.kind == Kind.POST else str(2 + int(d.number) % 40)
    replied = f"{d.container}/{1 + int(d.parent) % int(number)}" if d.kind == Kind.REPLY else None
    return _event(d, f"{d.container}/{number}", thread_id=d.container, in_reply_to=replied,
                  addressed_to=None, direct=False)


def _web_comments(d: Draft) -> SocialEvent:
    site = d.account() or "blog.example"
    replied = f"{site}/comments/{d.parent}" if d.kind == Kind.REPLY else None
    return _event(d, f"{site}/comments/{d.number}",
                  url=f"https://{site}/articles/{d.container}/#comment-{d.number}",
                  thread_id=f"{site}/posts/{d.container}", in_reply_to=replied)


SHAPES: dict[Platform, Callable[[Draft], SocialEvent]] = {
    Platform.FACEBOOK: _facebook,
    Platform.MESSENGER: _meta_dm,
    Platform.INSTAGRAM: _instagram,
    Platform.WHATSAPP: _meta_dm,
    Platform.X: _x,
    Platform.LINKEDIN: _linkedin,
    Platform.TIKTOK: _tiktok,
    Platform.TWITCH: _twitch,
    Platform.YOUTUBE: _youtube,
    Platform.TELEGRAM: _telegram,
    Platform.GOOGLE_REVIEWS: _google_reviews,
    Platform.TRIPADVISOR: _tripadvisor,
    Platform.NEWS: _news,
    Platform.FORUM: _forum,
    Platform.WEB_COMMENTS: _web_comments,
}


def for_wire(event: SocialEvent, brands: BrandDirectory) -> SocialEvent:
    """A scripted event completed with what its wire format cannot go without.

    Messages addressed to the brand get its account, comments a parent post,
    replies a parent, and web comments the page they sit on, so that the parser attributes and
    accepts them. Ids that platforms compose (Telegram chat:message, forum
    topic/post) are rebuilt by the encoders, so those event ids may differ.
    """
    updates: dict[str, Any] = {}
    # A brand with no account there is talked about on someone else's page: found by text.
    account = (brands.account(event.brand, event.platform) if event.brand else None) or (
        f"page-{event.brand or 'other'}"
    )
    broadcast = event.kind in (Kind.POST, Kind.ARTICLE)
    if event.addressed_to is None and (event.direct or not broadcast
                                       or event.platform in _NEEDS_ACCOUNT):
        updates["addressed_to"] = account
    digest = hashlib.sha256(event.event_id.encode()).hexdigest()
    if event.thread_id is None and event.kind != Kind.DM:
        updates["thread_id"] = str(int(digest[:12], 16))
    if event.kind == Kind.REPLY and event.in_reply_to is None:
        updates["in_reply_to"] = str(int(digest[12:24], 16))  # a parent that is not the post
    if event.platform == Platform.WEB_COMMENTS and event.url is None:
        site = f"{account}.example" if account.startswith("page-") else account
        updates["url"] = f"https://{site}/articles/1/#comment-{native(event)}"
    return event.model_copy(update=updates)


def render(event: SocialEvent) -> RawMessage:
    """The raw delivery of ``event`` on its platform, with ``event`` as what to expect."""
    value = orjson.dumps(ENCODERS[event.platform](event))
    return RawMessage(event.platform, native(event).encode(), value, (event,))


def _malformed(rng: random.Random, payload: bytes) -> bytes:
    """Break a payload in one of the ways real deliveries break (each always refused)."""
    choice = rng.randrange(4)
    if choice == 0:
        return payload[: max(1, len(payload) // 2)]  # truncated JSON
    if choice == 1:
        return b'{"unexpected": true}'  # valid JSON, wrong shape
    if choice == 2:
        return b"[" + payload + b"]"  # wrapped in a list by a broken relay
    return b"\xff\xfe not utf-8 \x00"


class Simulator:
    """Simulated multi-brand traffic on every platform, following a daily cycle.

    The traffic is about every monitored brand, or only those of ``brand_keys``.
    """

    def __init__(
        self,
        brands: BrandDirectory,
        *,
        seed: int = 0,
        start: datetime | None = None,
        events_per_second: float = 50.0,
        invalid_share: float = 0.01,
        duplicate_share: float = 0.01,
        misspelled_share: float = 0.1,
        platforms: tuple[Platform, ...] | None = None,
        brand_keys: Collection[str] | None = None,
    ) -> None:
        self.brands = brands
        self.rng = random.Random(seed)
        self.clock = start or datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
        self.peak_rate = events_per_second
        self.invalid_share = invalid_share
        self.duplicate_share = duplicate_share
        self.misspelled_share = misspelled_share
        self.platforms = platforms or tuple(ENCODERS)
        self._serial = 0
        self._monitored = [b for b in brands.brands.values()
                           if not b.competitor and (brand_keys is None or b.key in brand_keys)]

    def _tick(self) -> datetime:
        """Advance the clock by one exponential gap at the rate of this hour of the day."""
        rate = self.peak_rate * daily_rate(self.clock)
        self.clock += timedelta(seconds=self.rng.expovariate(rate))
        return self.clock.replace(microsecond=0)  # platforms send whole seconds

    def _name(self, brand: Brand) -> str:
        if brand.misspellings and self.rng.random() < self.misspelled_share:
            return self.rng.choice(brand.misspellings)
        return brand.name

    def draft(self, platform: Platform, brand: Brand | None = None) -> Draft:
        rng = self.rng
        self._serial += 1
        brand = brand or rng.choice(self._monitored)
        kind = rng.choice(KINDS[platform])
        indirect = (platform, kind) in _INDIRECT or platform not in brand.accounts
        template, lang, rating = rng.choice(NAMED_TEXTS if indirect else TEXTS)
        author = str(rng.randrange(10**8, 10**9))
        return Draft(
            platform=platform,
            kind=kind,
            brand=brand,
            text=template.format(brand=self._name(brand)),
            lang=lang,
            rating=rating,
            created_at=self._tick(),
            number=f"{10**15 + self._serial * 10**6 + rng.randrange(10**6)}",
            author_number=author,
            handle=f"user{author[-5:]}",
            followers=int(rng.paretovariate(1.2) * 50),
            container=str(rng.randrange(10**8, 10**9)),
            parent=str(rng.randrange(10**8, 10**9)),
        )

    def event(self, platform: Platform) -> SocialEvent:
        """The next expected event of ``platform`` (its ground truth)."""
        return SHAPES[platform](self.draft(platform))

    def messages(self, count: int) -> Iterator[RawMessage]:
        """``count`` deliveries, duplicates and malformed ones included."""
        previous: RawMessage | None = None
        for _ in range(count):
            if previous is not None and self.rng.random() < self.duplicate_share:
                yield RawMessage(previous.platform, previous.key, previous.value, (), True)
                previous = None
                continue
            previous = render(self.event(self.rng.choice(self.platforms)))
            if self.rng.random() < self.invalid_share:
                broken = _malformed(self.rng, previous.value)
                previous = RawMessage(previous.platform, previous.key, broken, ())
            yield previous
