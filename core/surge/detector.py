"""Surge detector: per-minute event-time counts → spike and silence incidents → alerts.

The stream calls :meth:`SurgeDetector.observe` once per deduplicated, classified
event; it returns the alerts that closing minutes produced (usually none). A minute
closes once the watermark (newest event time seen) passes its end plus
``lateness``; later events for it are counted in ``late`` and ignored. Between
closings, every ``peek_seconds`` of event time, the spike series are also scored on
the minutes not closed yet as seen so far (:meth:`SurgeDetector._peek`): a burst opens
its incident within seconds of being unlikely, not once its minute has closed. A
detector with no state can first learn from per-minute counts
(:meth:`SurgeDetector.preload`, the warm start of :mod:`.history`).

State (all injected ``MutableMapping``s of JSON-able values, ``dict`` by default):

- ``buckets``: ``"<minute>|<brand>|<polarity>"`` → the minute's counts per platform
  (raw and without spam waves), spam-wave messages taken back (``r``), term counts,
  top-reach event and samples. Kept ``retention`` minutes after closing, for
  explanations.
- ``series``: ``"b|<brand>|<polarity>"`` and ``"p|<platform>"`` → baselines (recent
  level, seasonal profile), dispersion, recent rings and the open incident, if any.
- ``profiles``: ``"t|<brand>|<polarity>"`` / ``"p|<brand>|<polarity>"`` → long-run
  term / platform frequencies, to say what is unusual in an incident.
- ``meta``: watermark, last closed minute, bucket registry, open silence incident,
  and the pooled profile of all brands (the daily shape every series is forecast with).

Spikes are scored per brand and polarity (negative, positive) over all platforms,
silences per platform. Each series forecasts its minutes (:mod:`.baseline`); a
window of the last 1, 3, 10 or 30 minutes is compared with the forecast corrected
by the series' peers over the same minutes (:mod:`.reference`), and opens an
incident when its count is at least ``min_count``, at least ``min_ratio`` × expected,
and its negative binomial tail probability (expected raised by ``margin``) is below
10^-``open_score``. A platform is silent when a window holds at most
``silence_ratio`` of its expected count, alone or with other platforms quiet at
once. A spike stays open until the 10-minute count has been back within two
standard deviations of expected, and no window (however few messages it holds)
scores ``keep_score`` any more, for ``quiet_minutes`` minutes (hysteresis: no
flapping, no second open for the tail of the same surge); it then resolves, unless
those minutes held fewer than ``end_expected`` messages and are not yet unlikely had
the surge gone on at half its excess (a small series stays open longer). Growth
(×``update_growth`` over 10 minutes) is an update, at most every ``update_every``
minutes but the first, ``first_update`` after the open. For
``reopen_minutes`` after a spike ends, its series opens again only at ``reopen_score``
above the usual bar. While open, its brand's series and the platforms learn nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.surge import baseline as bl
from core.surge.reference import Recent, Window
from core.surge.stats import nb_surprise_above, nb_surprise_below
from schemas.alerts import (
    Alert,
    AlertKind,
    AlertStatus,
    Polarity,
    Severity,
    TermExcess,
    TrajectoryPoint,
)
from schemas.events import Platform

POLARITIES = ("negative", "neutral", "positive")
SCORED = frozenset({"negative", "positive"})

Bucket = dict[str, Any]
Incident = dict[str, Any]
Count = tuple[int, str | None, str, str, float]  # minute, brand, platform, polarity, messages


@dataclass(frozen=True, slots=True)
class SurgeConfig:
    """Detector thresholds; defaults are the ones ``vigie eval-surge`` is measured with."""

    lateness: float = 30.0
    peek_seconds: float = 10.0  # event time between two looks at the minutes not closed yet
    peek_score: float = 0.5  # a peek opens at ``open_score`` + this: it looks often
    windows: tuple[int, ...] = (1, 3, 10, 30)
    open_score: float = 5.5
    min_count: int = 8
    min_ratio: float = 1.3
    margin: float = 0.1
    mix_error: float = 0.05
    keep_score: float = 3.0
    quiet_minutes: int = 15
    end_expected: float = 10.0
    end_score: float = 1.3
    reopen_score: float = 1.0  # added to the open score just after an incident ended
    reopen_minutes: int = 60
    update_every: int = 5
    first_update: int = 1  # minutes from the open: opens often come on a surge's first messages
    update_growth: float = 1.5
    silence_windows: tuple[int, ...] = (2, 3, 4, 6, 10, 20)
    silence_score: float = 6.0
    silence_ratio: float = 0.1
    silence_min_expected: float = 15.0
    silence_group_min: float = 2.0  # expected messages of a platform quiet with others
    silence_member_score: float = 1.0  # its own surprise, at least
    recovery_minutes: int = 5
    retention: int = 60
    profile_half_life: float = 3 * 1440.0
    profile_cap: int = 4000
    max_gap: int = 1440
    max_terms: int = 5
    max_samples: int = 5
    baseline: bl.BaselineConfig = field(default_factory=bl.BaselineConfig)


def _at(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def _severity(ratio: float, excess: float) -> Severity:
    if ratio >= 10.0 and excess >= 100.0:
        return Severity.CRITICAL
    if ratio >= 5.0 and excess >= 30.0:
        return Severity.HIGH
    if ratio >= 2.5:
        return Severity.MEDIUM
    return Severity.LOW


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class SurgeDetector:
    """Windowed counts, seasonal baselines and incident lifecycles; see the module doc."""

    def __init__(
        self,
        buckets: MutableMapping[str, Bucket] | None = None,
        series: MutableMapping[str, bl.Series] | None = None,
        profiles: MutableMapping[str, bl.Profile] | None = None,
        meta: MutableMapping[str, Any] | None = None,
        config: SurgeConfig | None = None,
    ) -> None:
        self.buckets: MutableMapping[str, Bucket] = {} if buckets is None else buckets
        self.series: MutableMapping[str, bl.Series] = {} if series is None else series
        self.profiles: MutableMapping[str, bl.Profile] = {} if profiles is None else profiles
        self.meta: MutableMapping[str, Any] = {} if meta is None else meta
        self.config = config or SurgeConfig()
        self.late = 0
        self._wm: float = self.meta.get("wm", -math.inf)
        self._closed: int | None = self.meta.get("closed")
        self._next_close = self._close_time()
        self._closing: dict[str, bl.Series] = {}  # series being updated by _close
        self._shape: bl.DailyShape | None = None  # kept across minutes: it changes daily
        # The last closing's sums, forecasts and spike series, for :meth:`_peek`.
        self._view: tuple[Recent, dict[str, bl.Forecast | None], dict[str, bl.Forecast]] | None
        self._view = None
        self._next_peek = math.inf
        # Series a look must score: the ones with messages since the last look, and
        # the ones the last look scored without opening (None: all, after a closing).
        self._fresh: set[str] | None = None
        self._near: set[str] = set()

    # --- per event ---------------------------------------------------------------

    def observe(
        self,
        ts: float,
        brand: str | None,
        platform: str,
        polarity: str,
        event_id: str,
        *,
        terms: Iterable[str] = (),
        followers: int = 0,
        discounted: bool = False,
        retract: int = 0,
    ) -> list[Alert]:
        """Count one event (epoch seconds, event time); returns alerts fired meanwhile.

        ``discounted`` events (near-duplicate spam waves) count for platform volume
        but not for spikes, terms, samples or origin. ``retract``: earlier messages of
        the brand and polarity this event revealed as a spam wave, taken back from the
        spike counts in this minute (its windows then net them out).
        """
        minute = int(ts // 60)
        if self._closed is None:
            self._closed = minute - 1
            self._next_close = self._close_time()
        elif minute <= self._closed:
            self.late += 1
            return []
        key = f"{minute}|{brand or ''}|{polarity}"
        if self._fresh is not None:
            self._fresh.add(key)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = {"n": {}, "t": {}, "o": None, "s": []}
            registry = self.meta.get("registry", {})
            registry.setdefault(str(minute), []).append(key)
            self.meta["registry"] = registry
        counts = bucket["n"].get(platform)
        if counts is None:
            counts = bucket["n"][platform] = [0, 0]
        counts[0] += 1
        if retract:
            bucket["r"] = bucket.get("r", 0) + retract
        if not discounted:
            counts[1] += 1
            term_counts = bucket["t"]
            for term in terms:
                term_counts[term] = term_counts.get(term, 0) + 1
            origin = bucket["o"]
            if origin is None or followers > origin[0]:
                bucket["o"] = [followers, ts, event_id]
            if len(bucket["s"]) < 3:
                bucket["s"].append(event_id)
        self.buckets[key] = bucket
        if ts > self._wm:
            self._wm = ts
            if ts >= self._next_close:
                return self._advance()
            if ts >= self._next_peek:
                return self._peek()
        return []

    @property
    def watermark(self) -> float:
        return self._wm

    @property
    def empty(self) -> bool:
        """Nothing seen or learned yet: a new deployment, or a state that was lost."""
        return self._closed is None

    def preload(self, counts: Iterable[Count]) -> int:
        """Learn baselines from per-minute message counts, as if those minutes had been
        observed, without raising alerts (a warm start, see :mod:`.history`).

        ``counts`` are (epoch minute, brand or None, platform, polarity, messages) rows
        of minutes after the last one closed and before any event still to come;
        minutes between the first and the last row without rows are quiet minutes.
        May be called several times, each with later minutes. Returns the minutes
        learned.
        """
        by_minute: dict[int, list[Count]] = {}
        for row in counts:
            if self._closed is None or row[0] > self._closed:
                by_minute.setdefault(row[0], []).append(row)
        if not by_minute:
            return 0
        first, last = min(by_minute), max(by_minute)
        if self._closed is not None:
            first = self._closed + 1
        for minute in range(first, last + 1):
            brand_counts: dict[str, float] = {}
            platform_counts: dict[str, float] = {}
            for _, brand, platform, polarity, n in by_minute.get(minute, ()):
                platform_counts[platform] = platform_counts.get(platform, 0.0) + n
                if brand:
                    for pol in POLARITIES:
                        brand_counts.setdefault(f"b|{brand}|{pol}", 0.0)
                    brand_counts[f"b|{brand}|{polarity}"] += n
            self._step(minute, brand_counts, platform_counts, score=False)
        self._closed = last
        self.meta["closed"] = last
        self._next_close = self._close_time()
        return last - first + 1

    # --- minute closing ----------------------------------------------------------

    def _close_time(self) -> float:
        if self._closed is None:
            return math.inf
        return (self._closed + 2) * 60 + self.config.lateness

    def _advance(self) -> list[Alert]:
        assert self._closed is not None
        target = int((self._wm - self.config.lateness) // 60) - 1
        first = max(self._closed + 1, target - self.config.max_gap)
        alerts: list[Alert] = []
        for minute in range(first, target + 1):
            alerts.extend(self._close(minute))
        self._closed = target
        self.meta["closed"] = target
        self.meta["wm"] = self._wm
        self._next_close = self._close_time()
        self._schedule_peek()
        self._fresh = None
        return alerts

    def _schedule_peek(self) -> None:
        every = self.config.peek_seconds
        self._next_peek = (math.floor(self._wm / every) + 1) * every if every > 0 else math.inf

    def _series(self, key: str) -> bl.Series:
        state = self._closing.get(key) or self.series.get(key)
        return bl.new_series() if state is None else state

    def _close(self, minute: int) -> list[Alert]:
        cfg = self.config
        registry: dict[str, list[str]] = self.meta.get("registry", {})
        brand_counts: dict[str, float] = {}
        platform_counts: dict[str, float] = {}
        for key in registry.get(str(minute), ()):
            bucket = self.buckets.get(key)
            if bucket is None:
                continue
            _, brand, polarity = key.split("|")
            # A platform's volume leaves out spam waves and the brand incidents it
            # carries: they would make it look busier than usual, then silent once over.
            surging = _surging(self._series(f"b|{brand}|{polarity}")) if brand else False
            kept = -bucket.get("r", 0)
            for platform, (_, eff) in bucket["n"].items():
                if not surging:
                    platform_counts[platform] = platform_counts.get(platform, 0) + eff
                kept += eff
            if brand:
                for pol in POLARITIES:
                    brand_counts.setdefault(f"b|{brand}|{pol}", 0)
                brand_counts[f"b|{brand}|{polarity}"] = kept
        alerts = self._step(minute, brand_counts, platform_counts, score=True)
        self._expire(minute - cfg.retention, registry)
        return alerts

    def _step(
        self, minute: int, brand_counts: dict[str, float], platform_counts: dict[str, float],
        *, score: bool,
    ) -> list[Alert]:
        """One closed minute of every series: forecast, score (if ``score``), learn."""
        cfg = self.config
        states = {key: self._series(key) for key in self.series}
        self._closing = states
        for key in [*brand_counts, *(f"p|{platform}" for platform in platform_counts)]:
            if key not in states:
                states[key] = bl.new_series()

        pooled = self.meta.get("pooled") or bl.new_series()
        shape = self._shape
        if shape is None or shape.pooled is not pooled:
            shape = self._shape = bl.DailyShape(pooled, cfg.baseline)
        now = shape(minute)
        forecasts: dict[str, bl.Forecast | None] = {}
        for key, state in states.items():
            count = brand_counts.get(key, 0) if key[0] == "b" else platform_counts.get(key[2:], 0)
            forecast = bl.forecast(state, minute, now, cfg.baseline)
            forecasts[key] = forecast
            bl.push(state, count, count if forecast is None else forecast.mean, cfg.baseline)

        alerts: list[Alert] = []
        if score:
            recent = Recent(states, [k for k, st in states.items() if not _surging(st)],
                            cfg.mix_error, outage=bool(self.meta.get("silence")))
            spiking = {key: forecast for key, forecast in forecasts.items()
                       if key[0] == "b" and forecast is not None
                       and key.rsplit("|", 1)[1] in SCORED}
            for key, forecast in spiking.items():
                alert = self._spike(key, states[key], minute, forecast, recent)
                if alert is not None:
                    alerts.append(alert)
            alerts.extend(self._silence(states, forecasts, minute, recent))
            self._view = (recent, forecasts, spiking)

        # Silent platforms do not learn, nor does a brand in an incident, in any of its
        # series: a crisis brings neutral questions too, and a sibling that learned them
        # would then look too quiet. Nor do the platforms while a brand is in one: its
        # neutral messages are on them.
        frozen = {f"p|{p}" for p in (self.meta.get("silence") or {}).get("platforms", ())}
        frozen |= {k.rsplit("|", 1)[0] for k, st in states.items() if k[0] == "b" and st["inc"]}
        if any(k[0] == "b" for k in frozen):
            frozen |= {k for k in states if k[0] == "p"}
        total = 0.0
        for key, state in states.items():
            if (key.rsplit("|", 1)[0] if key[0] == "b" else key) not in frozen:
                forecast = forecasts[key]
                # A spam wave's retraction can leave a minute below zero: the windows net
                # it against the minutes before, the baselines learn nothing from it.
                count = max(state["x"][-1], 0.0)
                bl.learn(state, minute, count, None if forecast is None else forecast.mean,
                         cfg.baseline)
                bl.hold(state, minute, count, shape, cfg.baseline)
                if key[0] == "b":
                    total += count
                    self._learn_profiles(key, minute)
            self.series[key] = state
        # Every brand's messages together: the daily shape all series are forecast with.
        bl.learn(pooled, minute, total, bl.expected(pooled, minute, cfg.baseline), cfg.baseline)
        self.meta["pooled"] = pooled
        self._closing = {}
        return alerts

    def _learn_profiles(self, series_key: str, minute: int) -> None:
        _, brand, polarity = series_key.split("|")
        if polarity not in SCORED:
            return
        bucket = self.buckets.get(f"{minute}|{brand}|{polarity}")
        if bucket is None:
            return
        per_platform = {p: eff for p, (_, eff) in bucket["n"].items() if eff}
        events = sum(per_platform.values())
        if not events:
            return
        cfg = self.config
        for prefix, items in (("t", bucket["t"]), ("p", per_platform)):
            key = f"{prefix}|{brand}|{polarity}"
            profile = self.profiles.get(key) or bl.new_profile(minute)
            bl.profile_add(
                profile, items, events, minute,
                half_life=cfg.profile_half_life, cap=cfg.profile_cap,
            )
            self.profiles[key] = profile

    def _expire(self, before: int, registry: dict[str, list[str]]) -> None:
        stale = [m for m in registry if int(m) <= before]
        if not stale:
            return
        for minute in stale:
            for key in registry.pop(minute):
                self.buckets.pop(key, None)
        self.meta["registry"] = registry

    # --- spikes ------------------------------------------------------------------

    def _best_window(
        self, key: str, state: bl.Series, forecast: bl.Forecast, recent: Recent,
        min_count: int, *, ahead: bool = False,
    ) -> tuple[float, Window | None]:
        """(score, window) of the most surprising window of at least ``min_count``
        messages (see :mod:`.reference`); ``ahead``: ``recent`` is a view with the open
        minutes (:meth:`Recent.ahead`), so a window needs one closed minute fewer.

        The score is the window's negative binomial surprise plus ``0.5 *
        log10(width)``: long windows overlap heavily (fewer independent tests a day),
        so they may open a little lower.
        """
        cfg = self.config
        phi = bl.dispersion(state)
        best: tuple[float, Window | None] = (0.0, None)
        for width in cfg.windows:
            if len(state["x"]) < width - ahead:
                break
            if recent(key, width)[0] < min_count:
                continue
            win = recent.window(key, width, forecast)
            if win.observed < win.expected * cfg.min_ratio:
                continue
            score = nb_surprise_above(win.observed, win.expected * (1.0 + cfg.margin), phi,
                                      win.rel)
            score += 0.5 * math.log10(width)
            if score > best[0]:
                best = (score, win)
        return best

    def _spike(
        self, key: str, state: bl.Series, minute: int, forecast: bl.Forecast, recent: Recent
    ) -> Alert | None:
        cfg = self.config
        incident: Incident | None = state["inc"]
        # ``min_count`` is what it takes to raise an alert, not to keep one: a small
        # series still far above its forecast is still in its incident, however few
        # messages its windows hold (else a lull of a few minutes would end it, and
        # the rest of the surge open it again).
        score, win = self._best_window(key, state, forecast, recent,
                                       cfg.min_count if incident is None else 0)
        if incident is None and (score < cfg.open_score + self._reopening(state, minute)
                                 or win is None):
            return None
        ten = recent.window(key, 10, forecast)
        factor = ten.expected / ten.forecast if ten.forecast > 0.0 else 1.0
        if incident is None:
            assert win is not None
            return self._open(key, state, minute, win, score, ten)

        part = incident.pop("part", None)
        if part is not None:  # opened by a peek: the minutes it saw in part are now whole
            incident["count"] -= part[0]
            incident["baseline"] -= part[1]
            incident["traj"] = [p for p in incident["traj"] if p[0] <= part[2]]
        if minute < incident["start"]:  # (a peek opened it on the minute after this one)
            return None
        x, m = state["x"][-1], state["mu"][-1] * factor
        # (a spam wave's take-back may be of copies counted before the incident began)
        incident["count"] = max(0.0, incident["count"] + x)
        incident["baseline"] += m
        incident["traj"] = [*incident["traj"][-239:], [minute, x, m]]
        incident["score"] = score
        if win is not None:
            incident["ratio"] = max(incident["ratio"], win.observed / max(win.expected, 1.0))
        variance = max(ten.expected, 1.0) * bl.dispersion(state) + ten.rel * ten.expected**2
        quiet = (score < cfg.keep_score
                 and ten.observed <= ten.expected * (1.0 + cfg.margin) + 2.0 * math.sqrt(variance))
        if quiet:  # (``get``: incidents restored from before the quiet sums were kept)
            incident["quiet"] += 1
            incident["qx"] = incident.get("qx", 0.0) + x
            incident["qm"] = incident.get("qm", 0.0) + m
        else:
            incident["quiet"], incident["qx"], incident["qm"] = 0, 0.0, 0.0
        if incident["quiet"] >= cfg.quiet_minutes and self._over(incident):
            state["inc"], state["ended"] = None, minute
            return self._spike_alert(incident, state, minute, AlertStatus.RESOLVED)
        grown = ten.observed >= incident["peak"][0] * cfg.update_growth
        if grown:
            incident["peak"] = [ten.observed, ten.expected]
        every = cfg.first_update if incident["seq"] == 1 else cfg.update_every
        if grown and minute - incident["last"] >= every:
            return self._spike_alert(incident, state, minute, AlertStatus.UPDATE)
        return None

    def _open(
        self, key: str, state: bl.Series, last: int, win: Window, score: float, ten: Window,
        part: list[list[float]] | None = None,
    ) -> Alert:
        """Opens an incident on ``key``: ``win`` spans its closed minutes up to ``last``
        and, when a peek found it, the ``part`` of the minutes after them seen so far
        (``[minute, messages, expected]`` each)."""
        cfg = self.config
        _, brand, polarity = key.split("|")
        scale = win.expected / max(win.forecast, 1e-9)
        closed = win.width - (part is not None)
        xs, mus = state["x"][len(state["x"]) - closed:], state["mu"][len(state["mu"]) - closed:]
        minutes = [[last - closed + 1 + i, x, m * scale]
                   for i, (x, m) in enumerate(zip(xs, mus, strict=True))] + (part or [])
        # The window's first minutes at or below expectation are not the surge, nor
        # those of an incident that ended since (its id names its first minute); the
        # newest one is.
        ended = state.get("ended", minutes[0][0] - 1)
        lead = 0
        while lead < len(minutes) - 1 and (minutes[lead][0] <= ended
                                          or minutes[lead][1] <= minutes[lead][2]):
            lead += 1
        traj = minutes[lead:]
        start = int(traj[0][0])
        incident: Incident = {
            "id": f"spike-{brand}-{polarity}-{_at(start):%Y%m%dT%H%M}",
            "brand": brand, "polarity": polarity, "start": start, "seq": 0,
            "count": sum(p[1] for p in traj), "baseline": sum(p[2] for p in traj),
            "score": score, "traj": traj, "peak": [ten.observed, ten.expected],
            "ratio": win.observed / max(win.expected, 1.0),
            "quiet": 0, "qx": 0.0, "qm": 0.0, "last": last, "origin": None,
        }
        if part is not None:
            seen = [p for p in traj if p[0] > last]
            incident["part"] = [sum(p[1] for p in seen), sum(p[2] for p in seen), last]
            incident["last"] = int(part[-1][0])
        state["inc"] = incident
        # None of its minutes may teach the brand (any polarity: neutral questions
        # come with a crisis) or the platforms carrying it; it may have been rising
        # before the window that opened it, so every queued minute goes.
        for series_key in [f"b|{brand}|{pol}" for pol in POLARITIES] + [
                k for k in self._closing if k[0] == "p"]:
            bl.release(self._series(series_key), incident["last"] - cfg.baseline.guard)
        return self._spike_alert(incident, state, incident["last"], AlertStatus.OPEN)

    def _peek(self) -> list[Alert]:
        """Scores the spike series on the minutes not closed yet, as seen so far, so a
        surge opens as soon as its messages make it unlikely rather than once its minute
        has closed (``lateness`` after its end). Peeks only open: an incident is kept,
        updated and ended on closed minutes.

        A window of width ``w`` is then the open minutes, against their forecast × the
        elapsed part of them, and the last ``w - 1`` closed ones; the peers' factor
        counts the open minutes too (a TV mention lifts all of a brand's series at once).
        The open minutes may still get late messages, which only makes a peek cautious.
        """
        self._schedule_peek()
        if self._view is None or self._closed is None:
            return []
        cfg = self.config
        recent, forecasts, spiking = self._view
        last, wm = self._closed, self._wm
        minutes = range(last + 1, int(wm // 60) + 1)
        fractions = [min(max(wm / 60.0 - m, 0.0), 1.0) for m in minutes]
        elapsed = sum(fractions)
        seen: dict[str, list[float]] = {}

        def counted(key: str) -> list[float]:
            counts = seen.get(key)
            if counts is None:  # (a series "b|<brand>|<polarity>", its buckets "<minute>|...")
                counts = seen[key] = [_kept(self.buckets.get(f"{m}{key[1:]}")) for m in minutes]
            return counts

        # Most looks find nothing new: only a series whose open minutes alone are three
        # standard deviations above their forecast is scored (one that is not would
        # mostly owe its score to closed minutes, already scored at the closing), and
        # only then are its peers' open minutes counted. A series that fell short at the
        # last look and has had no message since falls short again: its forecast grew.
        fresh, self._fresh = self._fresh, set()
        candidates = spiking if fresh is None else {
            series: spiking[series] for series in
            {"b" + k[k.index("|"):] for k in fresh} | self._near if series in spiking}
        rising = [key for key, forecast in candidates.items()
                  if sum(counted(key)) > (mean := elapsed * forecast.mean) + 3.0 * math.sqrt(mean)
                  and (state := self.series.get(key)) is not None and state["inc"] is None]
        self._near = set(rising)
        if not rising:
            return []

        def open_part(key: str) -> tuple[float, float]:
            if key[0] != "b":
                return 0.0, 0.0
            observed, forecast = sum(counted(key)), forecasts.get(key)
            # (a series still learning is its own forecast, as in its closed minutes)
            return observed, observed if forecast is None else elapsed * forecast.mean

        looking = recent.ahead(open_part)
        alerts: list[Alert] = []
        for key in rising:
            forecast, state = spiking[key], self.series[key]
            score, found = self._best_window(key, state, forecast, looking, cfg.min_count,
                                             ahead=True)
            if found is None or score < (cfg.open_score + cfg.peek_score
                                         + self._reopening(state, last)):
                continue
            factor = found.expected / found.forecast if found.forecast > 0.0 else 1.0
            part = [[float(m), x, f * forecast.mean * factor]
                    for m, x, f in zip(minutes, seen[key], fractions, strict=True)]
            _, brand, _ = key.split("|")
            touched = [f"b|{brand}|{pol}" for pol in POLARITIES] + [
                k for k in self.series if k[0] == "p"]
            self._closing = {k: s for k in touched if (s := self.series.get(k)) is not None}
            self._closing[key] = state
            try:
                alerts.append(self._open(key, state, last, found, score,
                                         looking.window(key, 10, forecast), part))
            finally:
                for series_key, series in self._closing.items():
                    self.series[series_key] = series
                self._closing = {}
        return alerts

    def _reopening(self, state: bl.Series, minute: int) -> float:
        """What a series that ended an incident less than ``reopen_minutes`` ago adds to
        the open score. Its surge seldom stops at once: its tail is still coming (a
        small series' lulls end an incident before it is over) and its forecast learns
        again from minutes the surge still lifts, so a new excess there is the same
        surge more often than a new one. A new one still opens, on more evidence."""
        ended = state.get("ended")
        if ended is not None and minute - ended < self.config.reopen_minutes:
            return self.config.reopen_score
        return 0.0

    def _over(self, incident: Incident) -> bool:
        """Its quiet minutes settle it: they held enough expected messages for being back
        within noise to mean something, or they are unlikely had the surge gone on at
        half its excess.

        On a series of a few messages an hour, a surge has minutes as empty as the usual
        ones, so a quarter of an hour back within noise says little (a slow ramp on a
        small brand would resolve in a lull and open again as it grows). Such a series
        ends its incident once its quiet stretch rules the surge out.
        """
        cfg = self.config
        qx, qm = incident["qx"], incident["qm"]  # (kept by the caller, just before)
        if qm >= cfg.end_expected:
            return True
        # The whole incident's ratio: the minutes that opened it were picked for being
        # surprising, so they alone would overstate the surge.
        baseline = incident["baseline"]
        ratio = incident["count"] / baseline if baseline > 0.0 else 1.0
        level = qm * max(1.0 + (ratio - 1.0) / 2.0, cfg.min_ratio)
        return nb_surprise_below(qx, level) >= cfg.end_score

    def _window_buckets(self, brand: str, polarity: str, start: int, minute: int) -> list[Bucket]:
        first = max(start, minute - self.config.retention + 1)
        found = (self.buckets.get(f"{m}|{brand}|{polarity}") for m in range(first, minute + 1))
        return [b for b in found if b is not None]

    def _spike_alert(
        self, incident: Incident, state: bl.Series, minute: int, status: AlertStatus
    ) -> Alert:
        cfg = self.config
        brand, polarity = incident["brand"], incident["polarity"]
        buckets = self._window_buckets(brand, polarity, incident["start"], minute)
        terms: dict[str, int] = {}
        platforms: dict[str, int] = {}
        kept = discounted = 0
        for bucket in buckets:
            for term, n in bucket["t"].items():
                terms[term] = terms.get(term, 0) + n
            for platform, (raw, eff) in bucket["n"].items():
                platforms[platform] = platforms.get(platform, 0) + eff
                kept += eff
                discounted += raw - eff
        first = max(incident["start"], minute - cfg.retention + 1)
        window_base = sum(p[2] for p in incident["traj"] if p[0] >= first)
        excess_terms = self._term_excess(f"t|{brand}|{polarity}", terms, kept)
        affected = self._affected(f"p|{brand}|{polarity}", platforms, window_base, kept)
        if incident["origin"] is None:  # a few minutes back: the first post precedes the surge
            incident["origin"] = _origin(
                self._window_buckets(brand, polarity, incident["start"] - 5, minute))
        ranked = sorted(buckets, key=lambda b: sum(e for _, e in b["n"].values()), reverse=True)
        samples = [i for b in ranked for i in b["s"]][: cfg.max_samples]
        # Closed minutes from the series, the ones a peek saw from their buckets.
        closed = incident["part"][2] if "part" in incident else minute
        width = max(0, min(len(state["x"]), closed - incident["start"] + 1))
        mix = {}
        for pol in POLARITIES:
            xs = state["x"] if pol == polarity else self._series(f"b|{brand}|{pol}")["x"]
            mix[pol] = int(sum(xs[max(0, len(xs) - width):])
                           + sum(_kept(self.buckets.get(f"{m}|{brand}|{pol}"))
                                 for m in range(closed + 1, minute + 1)))
        severity = _severity(incident["ratio"], incident["count"] - incident["baseline"])
        incident["last"] = minute
        sequence = incident["seq"]
        incident["seq"] += 1
        top = [t.term for t in excess_terms]
        summary = (
            f"{polarity} surge on {brand}: {int(incident['count'])} messages vs "
            f"{incident['baseline']:.0f} expected since {_at(incident['start']):%H:%M} UTC"
            f" on {', '.join(affected)}" + (f"; driven by {', '.join(top)}" if top else "")
        )
        return Alert(
            alert_id=incident["id"], kind=AlertKind.SPIKE, status=status, brand=brand,
            platforms=[Platform(p) for p in affected], polarity=Polarity(polarity),
            window_start=_at(incident["start"]), detected_at=self._detected_at(closed),
            severity=severity, count=int(incident["count"]),
            baseline=round(incident["baseline"], 2), score=round(incident["score"], 2),
            top_terms=top, sample_event_ids=samples, origin_event_id=incident["origin"],
            sequence=sequence, summary=summary,
            trajectory=_trajectory(incident["traj"]), polarity_mix=mix,
            term_excess=excess_terms, platform_counts=platforms, discounted=discounted,
        )

    def _detected_at(self, minute: int) -> datetime:
        return datetime.fromtimestamp(max(self._wm, (minute + 1) * 60.0), UTC)

    def _term_excess(self, key: str, terms: dict[str, int], events: int) -> list[TermExcess]:
        profile = self.profiles.get(key)
        scored = []
        for term, n in terms.items():
            expected = events * bl.share(profile, term)
            if n >= 3 and n >= 2.0 * expected + 1.0:
                scored.append(((n - expected) / math.sqrt(expected + 1.0), term, n, expected))
        scored.sort(reverse=True)
        return [
            TermExcess(term=t, count=n, expected=round(e, 2))
            for _, t, n, e in scored[: self.config.max_terms]
        ]

    def _affected(
        self, key: str, platforms: dict[str, int], expected_total: float, observed: int
    ) -> list[str]:
        """Platforms carrying the excess, most first (the busiest one if none stands out)."""
        profile = self.profiles.get(key)
        excess = {p: n - expected_total * bl.share(profile, p) for p, n in platforms.items()}
        floor = max(2.0, 0.1 * (observed - expected_total))
        chosen = sorted((p for p, e in excess.items() if e >= floor), key=lambda p: -excess[p])
        if not chosen and platforms:
            chosen = [max(platforms, key=lambda p: platforms[p])]
        return chosen

    # --- silences ----------------------------------------------------------------

    def _silent(
        self, key: str, state: bl.Series, forecast: bl.Forecast, recent: Recent,
        quiet: list[tuple[int, float, float]],
    ) -> tuple[float, Window] | None:
        cfg = self.config
        phi = bl.dispersion(state)
        for width, _, _ in quiet:
            win = recent.window(key, width, forecast)
            if win.expected < cfg.silence_min_expected \
                    or win.observed > cfg.silence_ratio * win.expected:
                continue
            score = nb_surprise_below(win.observed, win.expected * (1.0 - cfg.margin), phi,
                                      win.rel)
            if score >= cfg.silence_score:
                return score, win
        return None

    def _hushed(self, warm: dict[str, tuple[str, bl.Series, bl.Forecast]], voters: Recent,
                exclude: set[str], quiet: dict[str, list[tuple[int, float, float]]]) -> set[str]:
        """Platforms far below what their peers say over some silence window (p <= 1 %,
        not yet significant enough to open): they must not vote for each other. Not
        lower: small platforms at zero by chance would leave only the busier peers."""
        cfg = self.config
        hushed = set()
        for platform, (key, state, forecast) in warm.items():
            if platform in exclude:
                continue
            for width, _, _ in quiet[platform]:
                win = voters.window(key, width, forecast)
                if win.expected >= cfg.silence_group_min \
                        and win.observed <= cfg.silence_ratio * win.expected \
                        and nb_surprise_below(win.observed, win.expected, bl.dispersion(state),
                                              win.rel) >= 2.0:
                    hushed.add(platform)
                    break
        return hushed

    def _silent_together(
        self, warm: dict[str, tuple[str, bl.Series, bl.Forecast]], voters: Recent,
        exclude: set[str], rows: dict[str, list[tuple[int, float, float]]],
    ) -> dict[str, tuple[float, int, float, float]]:
        """Platforms quiet at once, each too small to be significant alone: scored as one
        count (the smallest window where they are), less log10 of the number of groups
        of that size that could have been picked among the platforms big enough."""
        cfg = self.config
        by_width = {p: {r[0]: r for r in platform_rows} for p, platform_rows in rows.items()}
        for width in cfg.silence_windows:
            members: dict[str, tuple[float, Window]] = {}
            eligible = 0
            for platform, (key, state, forecast) in warm.items():
                row = by_width[platform].get(width)
                if platform in exclude or row is None:
                    continue
                _, observed, mu = row
                if mu < cfg.silence_group_min:  # counted by its own forecast: cheaper
                    continue
                eligible += 1
                if observed > 2.0 * cfg.silence_ratio * mu:  # cannot be, whatever the peers
                    continue
                win = voters.window(key, width, forecast)
                if win.expected < cfg.silence_group_min \
                        or win.observed > cfg.silence_ratio * win.expected:
                    continue
                score = nb_surprise_below(win.observed, win.expected * (1.0 - cfg.margin),
                                          bl.dispersion(state), win.rel)
                if score >= cfg.silence_member_score:
                    members[platform] = (score, win)
            if len(members) < 2:
                continue
            wins = [w for _, w in members.values()]
            score = nb_surprise_below(
                sum(w.observed for w in wins),
                sum(w.expected for w in wins) * (1.0 - cfg.margin), 1.0, max(w.rel for w in wins))
            score -= math.log10(math.comb(eligible, len(members)))
            if score >= cfg.silence_score:
                return {p: (score, width, w.observed, w.expected) for p, (_, w) in members.items()}
        return {}

    def _silence(
        self,
        all_states: dict[str, bl.Series],
        forecasts: dict[str, bl.Forecast | None],
        minute: int,
        recent: Recent,
    ) -> list[Alert]:
        cfg = self.config
        warm = {k[2:]: (k, s, f) for k, s in all_states.items()
                if k[0] == "p" and (f := forecasts[k]) is not None}
        states = {k[2:]: s for k, s in all_states.items() if k[0] == "p"}
        incident: Incident | None = self.meta.get("silence")
        current = set(incident["platforms"]) if incident else set()
        # Each platform's own counts over the silence windows, read once for the three
        # tests below (which peers vote changes the factor, not these sums).
        rows = {p: recent.widths(k, cfg.silence_windows) for p, (k, _, _) in warm.items()}
        # The windows over which each could be quiet (at most ``silence_ratio`` × its
        # forecast × its peers' factor, a factor taken to stay under 2): the only ones
        # the tests alone and ``_hushed`` look at; ``_silent_together`` checks the same
        # on all rows, as it also counts the platforms big enough.
        quiet = {p: [r for r in platform_rows if r[1] <= 2.0 * cfg.silence_ratio * r[2]]
                 for p, platform_rows in rows.items()}
        if incident is None and not any(quiet.values()):
            return []
        # Twice: platforms going quiet together must not vote for each other.
        voters = recent.without(current)
        candidates = self._hushed(warm, voters, current, quiet)
        if candidates:
            voters = recent.without(current | candidates)
        silent = {p: (hit[0], hit[1].width, hit[1].observed, hit[1].expected)
                  for p, (k, s, f) in warm.items()
                  if (hit := self._silent(k, s, f, voters, quiet[p])) is not None}
        silent.update(self._silent_together(warm, voters, current | set(silent), rows))
        # The others must be alive over the same minutes the silent ones are quiet.
        width = max([3, *(hit[1] for hit in silent.values())])
        pairs = [recent(k, width) for p, (k, _, _) in warm.items()
                 if p not in silent and p not in current]
        seen, usual = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
        if incident is None:
            if not silent or usual <= 0.0 or seen < 0.5 * usual:
                return []
            start = min(minute - hit[1] + 1 for hit in silent.values())
            names = sorted(silent)
            incident = {
                "id": f"silence-{'+'.join(names)}-{_at(start):%Y%m%dT%H%M}",
                "platforms": names, "start": start, "seq": 0, "quiet": 0,
                "count": sum(h[2] for h in silent.values()),
                "baseline": sum(h[3] for h in silent.values()),
                "score": max(h[0] for h in silent.values()), "traj": [],
                "share": _shares(names, recent, width, usual),
            }
            for name in names:
                bl.release(states[name], start)
            return [self._silence_alert(incident, minute, AlertStatus.OPEN)]
        x = sum(states[p]["x"][-1] for p in current)
        m = sum(states[p]["mu"][-1] for p in current)
        incident["count"] += x
        incident["baseline"] += m
        incident["traj"] = [*incident["traj"][-239:], [minute, x, m]]
        # Back once each carries half of what it should: its forecast corrected by the
        # platforms still voting, as when it went quiet (a forecast frozen for hours
        # while the daily shape moved can be several times too high or too low). A
        # platform frozen long enough loses its recent level (its mu is then its own
        # count): it is then expected to carry the other platforms' messages × the share
        # its forecast had of theirs as it went quiet, so a forecast lapsing is not taken
        # for messages returning.
        # The others' messages need no forecast of theirs: theirs may have lapsed too.
        shares: dict[str, float] = incident.get("share", {})
        alive = sum(recent(f"p|{p}", cfg.recovery_minutes)[0] for p in states
                    if p not in silent and p not in current)
        recovered = True
        for name in current:
            if name in warm:
                key, _, forecast = warm[name]
                win = voters.window(key, cfg.recovery_minutes, forecast)
                obs, mu = win.observed, win.expected
            else:
                obs, mu = recent(f"p|{name}", cfg.recovery_minutes)
                if name in shares:
                    mu = shares[name] * alive
            recovered = recovered and obs >= 0.5 * mu
        incident["quiet"] = incident["quiet"] + 1 if recovered else 0
        if incident["quiet"] >= cfg.recovery_minutes:
            self.meta["silence"] = None
            return [self._silence_alert(incident, minute, AlertStatus.RESOLVED)]
        added = sorted(set(silent) - current)
        if added:
            incident["platforms"] = sorted(current | set(added))
            incident["share"] = {**shares, **_shares(added, recent, width, usual)}
            incident["score"] = max(incident["score"], *(silent[p][0] for p in added))
            for name in added:
                bl.release(states[name], minute - silent[name][1] + 1)
            return [self._silence_alert(incident, minute, AlertStatus.UPDATE)]
        self.meta["silence"] = incident
        return []

    def _silence_alert(self, incident: Incident, minute: int, status: AlertStatus) -> Alert:
        if status is not AlertStatus.RESOLVED:
            self.meta["silence"] = incident
        sequence = incident["seq"]
        incident["seq"] += 1
        names = incident["platforms"]
        missing = incident["baseline"] - incident["count"]
        severity = Severity.CRITICAL if len(names) >= 3 else (
            Severity.HIGH if len(names) == 2 else Severity.MEDIUM)
        return Alert(
            alert_id=incident["id"], kind=AlertKind.SILENCE, status=status, brand=None,
            platforms=[Platform(p) for p in names], polarity=None,
            window_start=_at(incident["start"]), detected_at=self._detected_at(minute),
            severity=severity, count=int(incident["count"]),
            baseline=round(incident["baseline"], 2), score=round(incident["score"], 2),
            top_terms=[], sample_event_ids=[], origin_event_id=None, sequence=sequence,
            summary=(
                f"{', '.join(names)} went quiet at {_at(incident['start']):%H:%M} UTC: "
                f"{int(incident['count'])} messages vs {incident['baseline']:.0f} expected "
                f"({missing:.0f} missing) while other platforms continue"
            ),
            trajectory=_trajectory(incident["traj"]),
        )


def _surging(series: bl.Series) -> bool:
    """In an incident since before the minute being closed. One a peek opened during
    that minute counts as a closing would have had it: in its peers' sums and its
    platforms' volume until the closing of the minute it opened in."""
    incident = series["inc"]
    return incident is not None and "part" not in incident


def _kept(bucket: Bucket | None) -> float:
    """The messages of a minute's bucket that count for spikes."""
    if bucket is None:
        return 0.0
    return float(sum(eff for _, eff in bucket["n"].values()) - bucket.get("r", 0))


def _shares(names: list[str], recent: Recent, width: int,
            others: float) -> dict[str, float]:
    """Each platform's forecast over the last ``width`` minutes, as a share of the other
    platforms' forecast over them (``others``)."""
    if others <= 0.0:
        return {}
    return {p: recent(f"p|{p}", width)[1] / others for p in names}


def _origin(buckets: list[Bucket]) -> str | None:
    """Earliest message whose reach is at least half the top reach in the window."""
    candidates = [b["o"] for b in buckets if b["o"] is not None]
    if not candidates:
        return None
    top = max(c[0] for c in candidates)
    earliest = min((c for c in candidates if c[0] >= 0.5 * top), key=lambda c: c[1])
    return str(earliest[2])


def _trajectory(points: list[list[Any]]) -> list[TrajectoryPoint]:
    return [
        TrajectoryPoint(minute=_at(int(m)), count=int(x), baseline=round(mu, 2))
        for m, x, mu in points[-60:]
    ]
