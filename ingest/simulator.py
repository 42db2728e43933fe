"""Deterministic (seeded) simulated traffic: raw payloads with their ground truth.

Each simulated message is first a normalized ``SocialEvent`` (what the pipeline
should find), then rendered by :mod:`ingest.encoders` in its platform's wire shape.
A small share is made malformed on purpose, so the dead-letter path is exercised.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from ingest.encoders import ENCODERS, KINDS, native
from schemas.events import Author, Kind, Platform, SocialEvent
from streams.brands import BrandDirectory

TEXTS = (
    "Bonjour, ma commande n'est toujours pas arrivée, pouvez-vous m'aider ?",
    "Merci {brand} pour la rapidité, service au top !",
    "Quels sont vos horaires d'ouverture ce week-end ?",
    "Bravo {brand}, 6 h de retard 👏 encore une fois",
    "Is the new offer from {brand} available in Belgium?",
    "Love the new app update, great job {brand}!",
    "Je voudrais acheter l'abonnement annuel, c'est possible en ligne ?",
    "Worst customer service ever, still waiting for my refund from {brand}.",
    "Vu la pub {brand} hier soir, sympa.",
    "Any discount code for students?",
)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One raw payload for ``raw.<platform>``, and what the pipeline must make of it."""

    platform: Platform
    key: bytes
    value: bytes
    expected: tuple[SocialEvent, ...]

    @property
    def valid(self) -> bool:
        return bool(self.expected)


def _malformed(rng: random.Random, payload: bytes) -> bytes:
    """Break a payload in one of the ways real deliveries break."""
    choice = rng.randrange(4)
    if choice == 0:
        return payload[: max(1, len(payload) // 2)]  # truncated JSON
    if choice == 1:
        return b'{"unexpected": true}'  # valid JSON, wrong shape
    if choice == 2:
        return payload.replace(b'"id"', b'"ld"')  # a required id field renamed
    return b"\xff\xfe not utf-8 \x00"


class Simulator:
    """Simulated multi-brand traffic on the platforms the encoders know."""

    def __init__(
        self,
        brands: BrandDirectory,
        *,
        seed: int = 0,
        start: datetime | None = None,
        events_per_second: float = 50.0,
        invalid_share: float = 0.01,
        platforms: tuple[Platform, ...] | None = None,
    ) -> None:
        self.brands = brands
        self.rng = random.Random(seed)
        self.clock = start or datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
        self.step = timedelta(seconds=1 / events_per_second)
        self.invalid_share = invalid_share
        self.platforms = platforms or tuple(ENCODERS)
        self._serial = 0
        self._monitored = [b for b in brands.brands.values() if not b.competitor]

    def _event(self, platform: Platform) -> SocialEvent:
        rng = self.rng
        self._serial += 1
        brand = rng.choice(self._monitored)
        kind = rng.choice(KINDS[platform])
        author_id = str(rng.randrange(10**8, 10**9))
        native_id = f"{self._serial:010d}{rng.randrange(10**6):06d}"
        thread = f"{rng.randrange(10**8)}"
        self.clock += self.step
        return SocialEvent(
            event_id=SocialEvent.make_id(platform, native_id),
            platform=platform,
            kind=kind,
            brand=brand.key,
            author=Author(
                id=author_id,
                # Meta messaging webhooks carry only the sender's page-scoped id.
                handle=None if kind == Kind.DM and platform != Platform.X
                else f"user{author_id[-5:]}",
                followers=int(rng.paretovariate(1.2) * 50) if platform == Platform.X else None,
            ),
            text=rng.choice(TEXTS).format(brand=brand.name),
            created_at=self.clock.replace(microsecond=0),  # platforms send whole seconds
            thread_id=thread,
            in_reply_to=f"{rng.randrange(10**8)}" if kind == Kind.REPLY else None,
            addressed_to=brand.accounts.get(platform),
            direct=True,
        )

    def messages(self, count: int) -> Iterator[RawMessage]:
        for _ in range(count):
            platform = self.rng.choice(self.platforms)
            event = self._event(platform)
            value = orjson.dumps(ENCODERS[platform](event))
            key = native(event).encode()
            if self.rng.random() < self.invalid_share:
                yield RawMessage(platform, key, _malformed(self.rng, value), ())
            else:
                yield RawMessage(platform, key, value, (event,))
