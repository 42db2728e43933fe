"""Random scenario families for surge evaluation, every parameter drawn from a seed.

``family(seed, index)`` returns one :class:`Family`: 1-20 brands, each with its own
volume (50-50,000 messages a day, log-uniform), polarity mix, platform mix, daily
shape (one of several families, shifted by a time zone and reshaped per brand),
weekend level, day-to-day level, slow drift of its volume and of its polarity mix,
and per-minute noise. The stream starts 1 hour to 14 days (log-uniform) before its
first incident, which starts at any hour, night included. Incidents are a sharp
negative spike, a slow negative ramp, a positive viral spike (each ×2-×20 the
normal rate of the brand's series, part of the excess spilling into neutral
messages) or the outage of one or several platforms; a second incident may
overlap the first, a third come hours later. Distractors that must not open an
alert come on top: copy-pasted bot waves and benign bumps (a TV mention, a launch,
a sale: the whole brand busier, its polarity mix unchanged).

:meth:`Family.messages` yields the traffic in event-time order, deterministic for
the family. The ground truth is in ``incidents`` (:class:`Truth`) and
``distractors``; docs/surge.md defines what counts as a detection, a false
positive, a duplicate open and the delay.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from lab.scenarios import PLATFORM_MIX
from schemas.alerts import AlertKind

MINUTES_PER_DAY = 1440
ANCHOR = 29_532_960  # 2026-02-23 00:00 UTC, a Monday, in epoch minutes
POLARITIES = ("negative", "neutral", "positive")

# Relative volume per hour of day (UTC before the time-zone shift), by shape family.
SHAPES: dict[str, tuple[float, ...]] = {
    "evening": (0.35, 0.22, 0.14, 0.10, 0.09, 0.12, 0.25, 0.45, 0.62, 0.68, 0.70, 0.74,
                0.85, 0.80, 0.70, 0.68, 0.70, 0.75, 0.85, 0.95, 1.00, 0.95, 0.80, 0.55),
    "office": (0.08, 0.05, 0.04, 0.04, 0.05, 0.08, 0.20, 0.50, 0.85, 1.00, 1.00, 0.95,
               0.80, 0.95, 1.00, 0.95, 0.90, 0.75, 0.55, 0.45, 0.40, 0.30, 0.20, 0.12),
    "two_peaks": (0.20, 0.12, 0.08, 0.06, 0.06, 0.10, 0.25, 0.50, 0.60, 0.55, 0.60, 0.85,
                  1.00, 0.90, 0.60, 0.50, 0.50, 0.60, 0.80, 0.95, 1.00, 0.85, 0.60, 0.35),
    "late": (0.90, 0.75, 0.50, 0.30, 0.18, 0.12, 0.10, 0.12, 0.18, 0.25, 0.30, 0.35,
             0.40, 0.42, 0.45, 0.50, 0.55, 0.62, 0.70, 0.80, 0.90, 1.00, 1.00, 0.95),
    "flat": (0.75, 0.70, 0.65, 0.62, 0.62, 0.65, 0.72, 0.80, 0.88, 0.92, 0.95, 1.00,
             1.00, 1.00, 0.98, 0.95, 0.95, 0.95, 0.98, 1.00, 1.00, 0.95, 0.90, 0.82),
}
META = ("facebook", "instagram", "messenger", "whatsapp")

# The recall bar of the surge issue: a spike of ×4 or more held for 15 minutes with at
# least 30 messages of the series in them, or an outage of platforms that carried 30
# messages in 15 minutes, after at least 2 hours of data.
REQUIRED_SIZE = 4.0
REQUIRED_MINUTES = 15
REQUIRED_MESSAGES = 30.0
REQUIRED_WARMUP = 120
NIGHT = 0.4  # a start where the brand's daily shape is below this (mean 1) is at night

COPYPASTA = (
    "ATTENTION {brand} est une ARNAQUE ils encaissent et ne livrent jamais des milliers "
    "de victimes partagez avant qu'ils suppriment ce message https://bit.ly/{code} @{handle}",
    "WARNING {brand} is a SCAM they take your money and never deliver thousands of victims "
    "share before they delete this https://tinyurl.com/{code} @{handle}",
)
_WORDS = tuple(
    a + b for a in ("ba", "co", "di", "fu", "ga", "li", "mo", "ne", "pa", "ri", "so", "tu")
    for b in ("ron", "lin", "mar", "dex", "sul", "per", "vat", "kol", "bri", "zen")
)


class Message(NamedTuple):
    """One message as the surge chain sees it (text only for bot waves, unless asked)."""

    ts: float
    brand: str
    platform: str
    polarity: str
    event_id: str
    author: str
    followers: int
    text: str
    bot: bool


@dataclass(frozen=True, slots=True)
class Envelope:
    """Intensity 0..1 over time: a linear rise, a plateau, a linear decay (minutes)."""

    start: int
    rise: int
    hold: int
    decay: int

    @property
    def end(self) -> int:
        return self.start + self.rise + self.hold + self.decay

    def __call__(self, minute: int) -> float:
        t = minute - self.start
        if t < 0 or t >= self.rise + self.hold + self.decay:
            return 0.0
        if t < self.rise:
            return (t + 1) / self.rise
        if t < self.rise + self.hold:
            return 1.0
        return 1.0 - (t - self.rise - self.hold + 1) / (self.decay + 1)


class _Picker:
    """Weighted choice over names with precomputed cumulative weights."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.items = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))
        self.weights = dict(weights)

    def __call__(self, rng: random.Random) -> str:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]

    def share(self, item: str) -> float:
        return self.weights.get(item, 0.0) / self.cumulative[-1]


@dataclass(frozen=True)
class BrandModel:
    """How much one brand is talked about, where, in what tone, at what hour."""

    key: str
    daily: float  # messages a day on an average weekday
    shares: tuple[float, float, float]  # negative, neutral, positive
    platforms: _Picker
    curve: tuple[float, ...]  # 24 hourly relative rates, mean 1
    weekend: float
    day_levels: tuple[float, ...]  # multiplier per day of the scenario
    drift_sd: float  # stationary sd of the log-volume drift
    drift_tau: float  # its correlation time, minutes
    mix_sd: float  # the same for each polarity's share

    def shape(self, minute: int) -> float:
        position = (minute % MINUTES_PER_DAY + 0.5) / 60.0 - 0.5
        low = math.floor(position)
        frac = position - low
        return self.curve[low % 24] * (1.0 - frac) + self.curve[(low + 1) % 24] * frac

    def expected(self, minute: int, first: int) -> float:
        """Normal messages per minute (no drift, noise or incident)."""
        weekday = (minute // MINUTES_PER_DAY - ANCHOR // MINUTES_PER_DAY) % 7
        level = self.weekend if weekday >= 5 else 1.0
        day = (minute - first) // MINUTES_PER_DAY
        return self.daily / MINUTES_PER_DAY * self.shape(minute) * level * self.day_levels[day]


@dataclass(frozen=True)
class Surge:
    """Extra messages of one polarity of a brand: ``size`` × its normal rate at the peak."""

    brand: str
    polarity: str
    envelope: Envelope
    size: float
    platforms: _Picker
    spill: float  # share of the extra messages that are neutral


@dataclass(frozen=True)
class Bump:
    """The whole brand busier by up to ``size``, polarity mix unchanged (benign)."""

    brand: str
    envelope: Envelope
    size: float


@dataclass(frozen=True)
class BotWave:
    """Copy-pasted negative messages from many accounts (``rate`` a minute at the peak)."""

    brand: str
    envelope: Envelope
    rate: float
    platforms: _Picker


@dataclass(frozen=True)
class Outage:
    platforms: frozenset[str]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Truth:
    """An incident the detector must find (brand and polarity are None for an outage)."""

    kind: AlertKind
    type: str  # sharp, ramp, viral, outage
    brand: str | None
    polarity: str | None
    platforms: tuple[str, ...]
    start: int  # epoch minutes
    end: int
    size: float  # peak multiple of the series' normal rate (0 for an outage)
    warmup: int  # minutes of traffic before the start
    rate: float  # normal messages an hour of the series (or of the silent platforms)
    sized: bool  # big and busy enough for the recall bar (whatever the warm-up)
    night: bool

    @property
    def required(self) -> bool:
        """Within the issue's recall bar: sized, after at least 2 hours of data."""
        return self.sized and self.warmup >= REQUIRED_WARMUP


@dataclass(frozen=True, slots=True)
class Distractor:
    """A bot wave or a benign bump: an alert on it is not a detection."""

    type: str  # bot_wave, tv, launch, sale
    brand: str
    start: int
    end: int
    size: float


@dataclass
class Family:
    """One random scenario: traffic from ``start`` for ``minutes``, and its truth."""

    name: str
    shape: str
    noise: float
    start: int
    minutes: int
    brands: tuple[BrandModel, ...]
    incidents: list[Truth] = field(default_factory=list)
    distractors: list[Distractor] = field(default_factory=list)
    surges: list[Surge] = field(default_factory=list)
    bumps: list[Bump] = field(default_factory=list)
    bots: list[BotWave] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + self.minutes

    def describe(self) -> str:
        volumes = "/".join(f"{b.daily:.0f}" for b in self.brands)
        parts = [f"{self.name}: {len(self.brands)} brands ({volumes} a day), {self.shape} "
                 f"shape, noise {self.noise:.2f}, {self.minutes / 60:.1f} h"]
        parts += [f"  {t.type} {t.brand or '+'.join(t.platforms)} {t.polarity or ''} "
                  f"x{t.size:.1f} at {t.start - self.start} min for {t.end - t.start} min, "
                  f"{t.rate:.1f}/h{' night' if t.night else ''}"
                  f"{' required' if t.required else ''}" for t in self.incidents]
        parts += [f"  {d.type} {d.brand} x{d.size:.1f} at {d.start - self.start} min for "
                  f"{d.end - d.start} min" for d in self.distractors]
        return "\n".join(parts)

    def messages(self, *, texts: bool = False) -> Iterator[Message]:
        """The traffic in event-time order; ``texts``: every message gets a text (else
        only bot waves, whose copies the near-duplicate stage must recognize)."""
        return _traffic(self, texts)


# --- drawing a family ----------------------------------------------------------------


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _curve(rng: random.Random, base: tuple[float, ...], shift: float) -> tuple[float, ...]:
    """``base`` shifted by ``shift`` hours, its contrast reshaped, normalized to mean 1."""
    gamma = rng.uniform(0.7, 1.3)
    values = []
    for hour in range(24):
        position = (hour - shift) % 24
        low = math.floor(position)
        frac = position - low
        value = base[low % 24] * (1 - frac) + base[(low + 1) % 24] * frac
        values.append(value**gamma)
    mean = sum(values) / 24
    return tuple(v / mean for v in values)


def _platform_mix(rng: random.Random) -> _Picker:
    weights = {str(p): w * rng.lognormvariate(0.0, 0.7) for p, w in PLATFORM_MIX.items()}
    kept = {p: w for p, w in weights.items() if rng.random() > 0.3}
    if len(kept) < 3:
        kept = dict(sorted(weights.items(), key=lambda kv: -kv[1])[:3])
    return _Picker(kept)


def _brand(rng: random.Random, index: int, shape: str, shift: float, days: int) -> BrandModel:
    negative = rng.uniform(0.08, 0.35)
    positive = rng.uniform(0.10, 0.40)
    return BrandModel(
        key=f"brand{index:02d}",
        daily=_log_uniform(rng, 50.0, 50_000.0),
        shares=(negative, 1.0 - negative - positive, positive),
        platforms=_platform_mix(rng),
        curve=_curve(rng, SHAPES[shape], shift + rng.uniform(-1.0, 1.0)),
        weekend=rng.uniform(0.6, 1.3),
        day_levels=tuple(rng.lognormvariate(0.0, 0.1) for _ in range(days)),
        drift_sd=rng.uniform(0.0, 0.2),
        drift_tau=rng.uniform(60.0, 240.0),
        mix_sd=rng.uniform(0.0, 0.1),
    )


def _surge_envelope(rng: random.Random, kind: str, start: int) -> Envelope:
    if kind == "sharp":
        return Envelope(start, rng.randint(1, 5), rng.randint(10, 60), rng.randint(5, 45))
    if kind == "viral":
        return Envelope(start, rng.randint(5, 30), rng.randint(20, 120), rng.randint(20, 90))
    return Envelope(start, rng.randint(60, 240), rng.randint(20, 90), rng.randint(30, 120))


def _incident_platforms(rng: random.Random, brand: BrandModel) -> _Picker:
    """Most of an incident on 1-4 of the brand's platforms, the rest as usual."""
    chosen = rng.sample(brand.platforms.items, min(len(brand.platforms.items),
                                                    rng.randint(1, 4)))
    weights = {p: 0.2 * brand.platforms.share(p) for p in brand.platforms.items}
    for platform in chosen:
        weights[platform] += 0.8 * rng.uniform(0.2, 1.0) / len(chosen)
    return _Picker(weights)


def _multiplier(surge: Surge, minute: int) -> float:
    return 1.0 + (surge.size - 1.0) * surge.envelope(minute)


def _spike_truth(fam: Family, surge: Surge, kind: str) -> Truth:
    brand = next(b for b in fam.brands if b.key == surge.brand)
    share = brand.shares[POLARITIES.index(surge.polarity)]
    env = surge.envelope
    strong = [m for m in range(env.start, env.end) if _multiplier(surge, m) >= REQUIRED_SIZE]
    first = strong[:REQUIRED_MINUTES]
    messages = sum(brand.expected(m, fam.start) * share * _multiplier(surge, m) for m in first)
    return Truth(
        AlertKind.SPIKE, kind, surge.brand, surge.polarity, tuple(surge.platforms.items),
        env.start, env.end, surge.size, env.start - fam.start,
        60.0 * brand.expected(env.start, fam.start) * share,
        len(strong) >= REQUIRED_MINUTES and messages >= REQUIRED_MESSAGES,
        brand.shape(env.start) < NIGHT,
    )


def _outage_truth(fam: Family, outage: Outage) -> Truth:
    def rate(minute: int) -> float:
        return sum(b.expected(minute, fam.start) * b.platforms.share(p)
                   for b in fam.brands for p in outage.platforms)

    messages = sum(rate(m) for m in range(outage.start, outage.start + REQUIRED_MINUTES))
    sized = outage.end - outage.start >= REQUIRED_MINUTES and messages >= REQUIRED_MESSAGES
    night = sum(b.shape(outage.start) for b in fam.brands) / len(fam.brands) < NIGHT
    return Truth(AlertKind.SILENCE, "outage", None, None, tuple(sorted(outage.platforms)),
                 outage.start, outage.end, 0.0, outage.start - fam.start,
                 60.0 * rate(outage.start), sized, night)


BUSY_MARGIN = 90  # minutes kept free around an incident (the scoring grace and more)


def _busy(fam: Family, brand: str, start: int, end: int, polarity: str | None = None) -> bool:
    """Whether a spike or distractor of ``brand`` (of ``polarity`` only, if given) is near
    the span: two incidents on one series would be one incident to a detector."""
    spans = [(t.brand, t.polarity, t.start, t.end) for t in fam.incidents]
    spans += [(d.brand, None, d.start, d.end) for d in fam.distractors]
    return any(b == brand and (polarity is None or p in (None, polarity))
               and s - BUSY_MARGIN < end and start < e + BUSY_MARGIN for b, p, s, e in spans)


def _add_incident(fam: Family, rng: random.Random, start: int) -> None:
    kind = rng.choices(("sharp", "ramp", "viral", "outage"), (0.3, 0.2, 0.2, 0.3))[0]
    if kind == "outage":
        if fam.outages:  # one outage at a time: overlapping ones would share a truth
            kind = "sharp"
        else:
            if rng.random() < 0.3:
                platforms = frozenset(rng.sample(META, rng.randint(2, 4)))
            else:
                volume = {p: sum(b.daily * b.platforms.share(p) for b in fam.brands)
                          for p in PLATFORM_MIX}
                picker = _Picker({p: v for p, v in volume.items() if v > 0})
                platforms = frozenset(picker(rng) for _ in range(rng.randint(1, 4)))
            outage = Outage(platforms, start, start + rng.randint(15, 240))
            fam.outages.append(outage)
            fam.incidents.append(_outage_truth(fam, outage))
            return
    polarity = "positive" if kind == "viral" else "negative"
    envelope = _surge_envelope(rng, kind, start)
    candidates = [b for b in fam.brands
                  if not _busy(fam, b.key, envelope.start, envelope.end, polarity)]
    if not candidates:
        return
    brand = rng.choice(candidates)
    surge = Surge(brand.key, polarity, envelope,
                  _log_uniform(rng, 2.0, 20.0), _incident_platforms(rng, brand),
                  rng.uniform(0.0, 0.25))
    fam.surges.append(surge)
    fam.incidents.append(_spike_truth(fam, surge, kind))


def _add_distractor(fam: Family, rng: random.Random) -> None:
    kind = rng.choice(("bot_wave", "tv", "launch", "sale"))
    for _ in range(20):  # somewhere no incident or other distractor is, if possible
        brand = rng.choice(fam.brands)
        start = rng.randrange(fam.start + 30, max(fam.start + 31, fam.end - 30))
        if kind == "bot_wave":
            env = Envelope(start, rng.randint(1, 3), rng.randint(10, 60), rng.randint(1, 5))
        elif kind == "tv":
            env = Envelope(start, rng.randint(1, 3), rng.randint(10, 60), rng.randint(10, 30))
        elif kind == "launch":
            env = Envelope(start, rng.randint(30, 120), rng.randint(60, 240),
                           rng.randint(60, 120))
        else:
            env = Envelope(start - start % 60, 1, rng.randint(120, 480), rng.randint(15, 60))
        if not _busy(fam, brand.key, env.start, env.end):
            break
    if kind == "bot_wave":
        negative = brand.expected(env.start, fam.start) * brand.shares[0]
        rate = max(3.0, negative * _log_uniform(rng, 3.0, 20.0))
        fam.bots.append(BotWave(brand.key, env, rate, _incident_platforms(rng, brand)))
        size = 1.0 + rate / max(negative, 1e-9)
    else:
        size = rng.uniform(1.5, 4.0) if kind == "tv" else rng.uniform(1.3, 2.5)
        fam.bumps.append(Bump(brand.key, env, size))
    fam.distractors.append(Distractor(kind, brand.key, env.start, env.end, size))


def family(seed: int, index: int) -> Family:
    """Scenario ``index`` of the families drawn from ``seed`` (same pair, same scenario)."""
    rng = random.Random(f"surge-family:{seed}:{index}")
    shape = rng.choice(tuple(SHAPES))
    shift = rng.uniform(-2.0, 2.0) if rng.random() < 0.6 else rng.uniform(-8.0, 8.0)
    warmup = round(_log_uniform(rng, 60.0, 14 * MINUTES_PER_DAY))
    first = ANCHOR + rng.randrange(28 * MINUTES_PER_DAY)  # any day of the week, any minute
    start = first - warmup
    days = warmup // MINUTES_PER_DAY + 3
    brands = tuple(_brand(rng, i, shape, shift, days) for i in range(rng.randint(1, 20)))
    noise = rng.uniform(0.0, 0.3) if rng.random() < 0.5 else 0.0
    fam = Family(f"{seed}:{index}", shape, noise, start, warmup, brands)
    _add_incident(fam, rng, first)
    if rng.random() < 0.35:  # overlapping the first
        _add_incident(fam, rng, first + rng.randrange(0, 90))
    if rng.random() < 0.25:  # hours later
        _add_incident(fam, rng, first + rng.randrange(300, 900))
    last = max(t.end for t in fam.incidents)
    fam.minutes = last + rng.randint(60, 240) - start
    for _ in range(rng.choices((0, 1, 2), (0.4, 0.4, 0.2))[0]):
        _add_distractor(fam, rng)
    fam.minutes = max(fam.minutes, max((d.end for d in fam.distractors), default=0) + 30
                      - start)
    return fam


def families(count: int, seed: int) -> list[Family]:
    return [family(seed, i) for i in range(count)]


# --- traffic -------------------------------------------------------------------------


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: multiplication below 10, Hörmann's PTRS rejection above."""
    if mean <= 0.0:
        return 0
    if mean < 10.0:
        limit, k, product = math.exp(-mean), 0, rng.random()
        while product > limit:
            k += 1
            product *= rng.random()
        return k
    slam, loglam = math.sqrt(mean), math.log(mean)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = rng.random() - 0.5
        v = rng.random()
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + mean + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b)
                <= -mean + k * loglam - math.lgamma(k + 1.0)):
            return k


class _Drift:
    """A stationary AR(1) process on the log scale (sd ``sd``, correlation time ``tau``)."""

    def __init__(self, rng: random.Random, sd: float, tau: float) -> None:
        self.keep = math.exp(-1.0 / tau)
        self.step = sd * math.sqrt(1.0 - self.keep**2)
        self.value = rng.gauss(0.0, sd)

    def __call__(self, rng: random.Random) -> float:
        self.value = self.value * self.keep + self.step * rng.gauss(0.0, 1.0)
        return math.exp(self.value)


def _text(rng: random.Random, brand: str, polarity: str) -> str:
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 9)))
    return f"{brand} {polarity} {words}"


class _Writer:
    """Collects one minute's messages (dropping those of silent platforms)."""

    def __init__(self, rng: random.Random, texts: bool) -> None:
        self.rng = rng
        self.texts = texts
        self.serial = 0
        self.minute = 0
        self.silent: set[str] = set()
        self.batch: list[Message] = []

    def start(self, minute: int, silent: set[str]) -> None:
        self.minute, self.silent, self.batch = minute, silent, []

    def add(self, brand: str, polarity: str, platform: str, *, followers: int = 0,
            text: str = "", bot: bool = False) -> None:
        if platform in self.silent:
            return
        rng = self.rng
        self.serial += 1
        author = f"{'bot' if bot else 'a'}{rng.randrange(10**9)}" if self.texts or bot else ""
        if self.texts and not text:
            text = _text(rng, brand, polarity)
        self.batch.append(Message(
            self.minute * 60.0 + rng.random() * 60.0, brand, platform, polarity,
            f"{platform}:{brand}-{self.serial}", author, followers, text, bot))


def _traffic(fam: Family, texts: bool) -> Iterator[Message]:
    rng = random.Random(f"surge-traffic:{fam.name}")
    drifts = {b.key: _Drift(rng, b.drift_sd, b.drift_tau) for b in fam.brands}
    mixes = {(b.key, p): _Drift(rng, b.mix_sd, 120.0) for b in fam.brands for p in POLARITIES}
    shape_k = 1.0 / fam.noise**2 if fam.noise else 0.0
    pending_origin = set(range(len(fam.surges)))  # each surge's first message: a big account
    out = _Writer(rng, texts)
    for minute in range(fam.start, fam.end):
        out.start(minute, set().union(
            *(o.platforms for o in fam.outages if o.start <= minute < o.end)))
        for brand in fam.brands:
            normal = brand.expected(minute, fam.start)
            level = normal * drifts[brand.key](rng)
            if shape_k:
                level *= rng.gammavariate(shape_k, 1.0 / shape_k)
            for bump in fam.bumps:
                if bump.brand == brand.key:
                    level *= 1.0 + (bump.size - 1.0) * bump.envelope(minute)
            for polarity, share in zip(POLARITIES, brand.shares, strict=True):
                mean = level * share * mixes[brand.key, polarity](rng)
                for _ in range(poisson(rng, mean)):
                    out.add(brand.key, polarity, brand.platforms(rng))
            for number, surge in enumerate(fam.surges):
                if surge.brand != brand.key or not surge.envelope(minute):
                    continue
                share = brand.shares[POLARITIES.index(surge.polarity)]
                extra = (surge.size - 1.0) * surge.envelope(minute) * normal * share
                for _ in range(poisson(rng, extra)):
                    followers = 100_000 if number in pending_origin else 0
                    pending_origin.discard(number)
                    out.add(brand.key, surge.polarity, surge.platforms(rng),
                            followers=followers)
                spill = extra * surge.spill / (1.0 - surge.spill)
                for _ in range(poisson(rng, spill)):
                    out.add(brand.key, "neutral", surge.platforms(rng))
        for wave in fam.bots:
            for _ in range(poisson(rng, wave.rate * wave.envelope(minute))):
                template = COPYPASTA[rng.random() < 0.4]
                text = template.format(brand=wave.brand, code=rng.randrange(10**6),
                                       handle=f"victim{rng.randrange(10**4)}")
                out.add(wave.brand, "negative", wave.platforms(rng), text=text, bot=True)
        out.batch.sort()
        yield from out.batch
