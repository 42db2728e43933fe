"""Scores the surge detector on random scenario families (``vigie eval-surge --random``).

Each family (:mod:`lab.families`) is replayed through one detector as the stream
feeds it: one :class:`~core.surge.observation.Observation` per message, in event
time. Bot-wave messages go through the near-duplicate index first, as every message
does in the stream (ordinary messages are all distinct, so the index would only
confirm they are not waves; skipping it for them keeps a hundred families to
minutes).

Definitions (docs/surge.md):

- an ``open`` alert **detects** an incident when it is of the same kind, names the
  same brand and polarity (spike) or shares a platform (silence), and fires
  between the incident's start and ``GRACE`` after its end;
- the **delay** is the first such open's ``detected_at`` minus the start (event time);
- every further open matching the same incident is a **duplicate open**;
- an open matching no incident but a distractor of the same brand (any polarity)
  in the same span is a **distractor alert** (bot wave, TV mention, launch, sale),
  counted apart; bot-wave alerts also count as false positives;
- any other open is a **false positive**; rates are per brand-week of traffic.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from core.dedupe import NearDuplicateIndex, tokenize
from core.surge.detector import SurgeConfig, SurgeDetector
from core.surge.observation import Observation
from lab.families import Distractor, Family, Truth, family
from schemas.alerts import Alert, AlertKind, AlertStatus

GRACE = 30  # minutes after an incident's end during which an open still detects it
WEEK = 7 * 1440
# Targets of the surge issue: recall of required incidents, false positives per
# brand-week, median delay, and per-type delays (minutes).
RECALL = 0.95
FP_PER_BRAND_WEEK = 1.0
MEDIAN_DELAY = 5.0
TYPE_DELAY = {"sharp": 5.0, "ramp": 45.0, "outage": 8.0, "night": 10.0}
WARMUPS = ((60, 120, "1-2 h"), (120, 360, "2-6 h"), (360, 1440, "6-24 h"),
           (1440, 4320, "1-3 d"), (4320, 20161, "3-14 d"))
VOLUMES = ((0.0, 500.0, "50-500/day"), (500.0, 5000.0, "500-5k/day"),
           (5000.0, 1e9, "5k-50k/day"))


@dataclass(frozen=True, slots=True)
class Opened:
    """What scoring needs of an ``open`` alert (small to send between processes)."""

    alert_id: str
    kind: AlertKind
    brand: str | None
    polarity: str | None
    platforms: frozenset[str]
    minute: float  # detected_at, epoch minutes

    @classmethod
    def of(cls, alert: Alert) -> Opened:
        return cls(alert.alert_id, alert.kind, alert.brand,
                   None if alert.polarity is None else alert.polarity.value,
                   frozenset(p.value for p in alert.platforms),
                   alert.detected_at.timestamp() / 60.0)


@dataclass
class FamilyResult:
    name: str
    brand_weeks: float
    volumes: dict[str, float]  # messages a day per brand
    events: int
    seconds: float
    delays: list[tuple[Truth, float | None]] = field(default_factory=list)
    duplicates: list[Truth] = field(default_factory=list)
    distractor_opens: list[tuple[Distractor, int]] = field(default_factory=list)
    false_positives: list[Opened] = field(default_factory=list)


def _detects(opened: Opened, truth: Truth) -> bool:
    if opened.kind is not truth.kind or not truth.start <= opened.minute <= truth.end + GRACE:
        return False
    if truth.kind is AlertKind.SPIKE:
        return opened.brand == truth.brand and opened.polarity == truth.polarity
    return bool(opened.platforms & set(truth.platforms))


def _on(opened: Opened, distractor: Distractor) -> bool:
    return (opened.kind is AlertKind.SPIKE and opened.brand == distractor.brand
            and distractor.start <= opened.minute <= distractor.end + GRACE)


def score(fam: Family, opens: Sequence[Opened], events: int, seconds: float) -> FamilyResult:
    result = FamilyResult(fam.name, len(fam.brands) * fam.minutes / WEEK,
                          {b.key: b.daily for b in fam.brands}, events, seconds)
    explained: set[str] = set()
    for truth in fam.incidents:
        hits = [o for o in opens if _detects(o, truth)]
        explained.update(o.alert_id for o in hits)
        result.duplicates += [truth] * max(0, len(hits) - 1)
        first = min((o.minute for o in hits), default=None)
        result.delays.append((truth, None if first is None else first - truth.start))
    for distractor in fam.distractors:
        hits = [o for o in opens if o.alert_id not in explained and _on(o, distractor)]
        result.distractor_opens.append((distractor, len(hits)))
        if distractor.type != "bot_wave":
            explained.update(o.alert_id for o in hits)
    result.false_positives = [o for o in opens if o.alert_id not in explained]
    return result


def replay(fam: Family, detector: SurgeDetector) -> tuple[list[Alert], int]:
    """Every message of ``fam`` through ``detector``; returns the alerts and the count."""
    near = NearDuplicateIndex()
    alerts: list[Alert] = []
    events = 0
    for m in fam.messages():
        events += 1
        dup = near.observe(m.brand, tokenize(m.text), m.author, m.ts, m.event_id) \
            if m.bot else None
        observation = Observation(m.ts, m.brand, m.platform, m.polarity, m.event_id, (),
                                  m.followers, bool(dup and dup.spam_wave),
                                  dup.wave_head if dup else 0)
        alerts.extend(observation.feed(detector))
    return alerts, events


def run_family(seed: int, index: int, config: SurgeConfig | None = None) -> FamilyResult:
    fam = family(seed, index)
    started = time.perf_counter()
    alerts, events = replay(fam, SurgeDetector(config=config))
    opens = [Opened.of(a) for a in alerts if a.status is AlertStatus.OPEN]
    return score(fam, opens, events, time.perf_counter() - started)


def run_families(count: int, seed: int, workers: int = 1,
                 config: SurgeConfig | None = None) -> list[FamilyResult]:
    """Families 0..count-1 of ``seed`` (``workers`` > 1: in parallel processes)."""
    indexes = range(count)
    if workers <= 1:
        return [run_family(seed, i, config) for i in indexes]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(run_family, [seed] * count, indexes, [config] * count))


# --- summaries -------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1] \
        if 0.0 < q < 1.0 else ordered[0 if q <= 0.0 else -1]


@dataclass
class Group:
    """Incidents sharing a type or warm-up: how many, found, delays of the found ones."""

    label: str
    incidents: int = 0
    found: int = 0
    required: int = 0
    required_found: int = 0
    delays: list[float] = field(default_factory=list)  # of found required incidents

    def add(self, truth: Truth, delay: float | None, counted: bool) -> None:
        """One incident; ``counted``: within the bar this group's recall is about."""
        self.incidents += 1
        self.found += delay is not None
        if counted:
            self.required += 1
            if delay is not None:
                self.required_found += 1
                self.delays.append(delay)

    @property
    def recall(self) -> float | None:
        return self.required_found / self.required if self.required else None


def _type_of(truth: Truth) -> list[str]:
    """Its type, and for a spike starting at night one of two night groups: the sharp
    ones are the issue's "night spike" (a jump on a tiny baseline, 10 minutes); a ramp or
    a viral rise at night keeps its own type's pace and is only reported."""
    labels = [truth.type]
    if truth.night and truth.kind is AlertKind.SPIKE:
        labels.append("night" if truth.type == "sharp" else "night, other")
    return labels


def by_type(results: Sequence[FamilyResult]) -> list[Group]:
    groups = {t: Group(t) for t in ("sharp", "ramp", "viral", "outage", "night", "night, other")}
    for result in results:
        for truth, delay in result.delays:
            for label in _type_of(truth):
                groups[label].add(truth, delay, truth.required)
    return list(groups.values())


def by_warmup(results: Sequence[FamilyResult]) -> list[Group]:
    """Warm-up groups; recall counts the incidents of the bar's size and volume (below
    2 hours of warm-up they are reported, not required)."""
    groups = [Group(label) for _, _, label in WARMUPS]
    for result in results:
        for truth, delay in result.delays:
            for (low, high, _), group in zip(WARMUPS, groups, strict=True):
                if low <= truth.warmup < high:
                    group.add(truth, delay, truth.sized)
    return groups


@dataclass
class Summary:
    families: int
    brands: int
    events: int
    seconds: float
    brand_weeks: float
    incidents: int
    required: int
    required_found: int
    delays: list[float]
    duplicates: int
    false_positives: int
    spike_fp: int
    silence_fp: int
    bot_fp: int
    weeks: float

    @property
    def recall(self) -> float:
        return self.required_found / self.required if self.required else 1.0

    @property
    def fp_rate(self) -> float:
        return self.false_positives / self.brand_weeks if self.brand_weeks else 0.0


def summarize(results: Sequence[FamilyResult]) -> Summary:
    required = [(t, d) for r in results for t, d in r.delays if t.required]
    fps = [o for r in results for o in r.false_positives]
    bot = sum(n for r in results for d, n in r.distractor_opens if d.type == "bot_wave")
    return Summary(
        families=len(results), brands=sum(len(r.volumes) for r in results),
        events=sum(r.events for r in results), seconds=sum(r.seconds for r in results),
        brand_weeks=sum(r.brand_weeks for r in results),
        incidents=sum(len(r.delays) for r in results), required=len(required),
        required_found=sum(d is not None for _, d in required),
        delays=[d for _, d in required if d is not None],
        duplicates=sum(len(r.duplicates) for r in results),
        false_positives=len(fps),
        spike_fp=sum(o.kind is AlertKind.SPIKE for o in fps),
        silence_fp=sum(o.kind is AlertKind.SILENCE for o in fps), bot_fp=bot,
        weeks=sum(r.brand_weeks / max(len(r.volumes), 1) for r in results),
    )


def fp_by_volume(results: Sequence[FamilyResult]) -> list[tuple[str, int, float]]:
    """(volume band, spike false positives, brand-weeks) per band of brand volume."""
    rows = []
    for low, high, label in VOLUMES:
        weeks = count = 0.0
        for result in results:
            per_brand = result.brand_weeks / max(len(result.volumes), 1)
            band = {b for b, v in result.volumes.items() if low <= v < high}
            weeks += per_brand * len(band)
            count += sum(o.kind is AlertKind.SPIKE and o.brand in band
                         for o in result.false_positives)
        rows.append((label, int(count), weeks))
    return rows


def distractors(results: Sequence[FamilyResult]) -> dict[str, tuple[int, int]]:
    """Per distractor type: (how many, how many had at least one open)."""
    table: dict[str, tuple[int, int]] = {}
    for result in results:
        for distractor, opens in result.distractor_opens:
            seen, alerted = table.get(distractor.type, (0, 0))
            table[distractor.type] = (seen + 1, alerted + (opens > 0))
    return table


def missed_targets(results: Sequence[FamilyResult]) -> list[str]:
    """Every target of the surge issue that ``results`` miss (empty when all are met)."""
    summary = summarize(results)
    missed = []
    if summary.recall < RECALL:
        missed.append(f"recall {summary.recall:.1%} < {RECALL:.0%}")
    if summary.fp_rate > FP_PER_BRAND_WEEK:
        missed.append(f"{summary.fp_rate:.2f} false positives per brand-week > "
                      f"{FP_PER_BRAND_WEEK}")
    if summary.duplicates:
        missed.append(f"{summary.duplicates} duplicate open(s)")
    median = percentile(summary.delays, 0.5)
    if median is not None and median > MEDIAN_DELAY:
        missed.append(f"median delay {median:.1f} min > {MEDIAN_DELAY}")
    for group in by_type(results):
        p50 = percentile(group.delays, 0.5)
        if p50 is not None and group.label in TYPE_DELAY and p50 > TYPE_DELAY[group.label]:
            missed.append(f"{group.label}: median delay {p50:.1f} min > "
                          f"{TYPE_DELAY[group.label]}")
    return missed

