"""What the surge detector needs from one classified event, and its compact wire form.

The process agent builds one :class:`Observation` per new event and sends it to the
single-partition surge topic (detection is global: silence compares platforms, so one
detector sees every event); the offline :class:`~core.surge.SurgePipeline` builds
the same objects, so ``vigie detect`` and the stream share every line of detection.
"""

from __future__ import annotations

from typing import NamedTuple

import orjson

from core.dedupe import NearDup
from core.surge.detector import SurgeDetector
from core.surge.terms import salient_terms
from schemas.alerts import Alert


class Observation(NamedTuple):
    ts: float
    brand: str | None
    platform: str
    polarity: str
    event_id: str
    terms: tuple[str, ...]
    followers: int
    discounted: bool
    retract: int = 0  # earlier messages of the brand this one revealed as a spam wave

    @classmethod
    def of(cls, *, ts: float, brand: str | None, platform: str, polarity: str, event_id: str,
           tokens: list[str], followers: int | None, near: NearDup) -> Observation:
        """Terms only matter for polar events (they explain spikes, not volume)."""
        terms = tuple(sorted(salient_terms(tokens))) if polarity != "neutral" else ()
        return cls(ts, brand, platform, polarity, event_id, terms, followers or 0,
                   near.spam_wave, near.wave_head)

    def encode(self) -> bytes:
        return orjson.dumps(list(self))

    @classmethod
    def decode(cls, raw: bytes) -> Observation:
        """Also reads the records written before ``retract`` existed (eight fields)."""
        ts, brand, platform, polarity, event_id, terms, followers, discounted, *rest = \
            orjson.loads(raw)
        return cls(float(ts), brand, str(platform), str(polarity), str(event_id),
                   tuple(terms), int(followers), bool(discounted), int(rest[0]) if rest else 0)

    def feed(self, detector: SurgeDetector) -> list[Alert]:
        return detector.observe(
            self.ts, self.brand, self.platform, self.polarity, self.event_id,
            terms=self.terms, followers=self.followers, discounted=self.discounted,
            retract=self.retract,
        )
