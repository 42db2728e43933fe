"""What volume is normal: a recent level from the first hour, seasonal per-minute
baselines as days accrue, and long-run frequency profiles.

All state lives in plain JSON-able dicts (the values of the detector's state mappings).

**Recent level** (usable after ``min_minutes`` of data). The series' level is the
ratio of its recent counts to a daily-cycle prior (``shape``, 24 hourly values of
mean 1), both summed with exponentially decaying weights (``half_life``); the
expected count of a minute is its prior value × that level. A closed minute waits
``guard`` minutes before it moves the level, and the minutes of an incident never
do, so a surge does not raise its own baseline before it is detected. Its
uncertainty has two parts: the counts behind it (a Gamma posterior: 1 / effective
count) and the prior's error when it carries the level from past hours to this one
(``shape_error``).

**Seasonal profile** (once a day has been seen). The hour-of-day profile of the
series, linearly interpolated between hour centres. Each hour bin holds the mean
count per minute of that hour on previous days, as a bias-corrected exponentially
weighted mean over days (``day_weight``: about three days of memory). Today's
minutes are only accumulated (``p``/``c``/``d``) and folded in when the same hour
comes back the next day. The seasonal expectation is scaled by today's level
against it (the same recent sums, shrunk towards 1 by ``prior`` messages), and
blended with the recent level by their uncertainties, so it takes over as days
accrue. Minutes are winsorized before they are accumulated, and not accumulated at
all while the series is in an incident. A dispersion factor (variance / mean, at
least 1) is learned from the residuals, which makes the score quasi-Poisson.

**Frequency profile.** Exponentially decayed counts of terms (or platforms) for a
brand and polarity, kept with a growth factor instead of decaying every entry: an
item added at minute ``m`` weighs ``2 ** ((m - m0) / half_life)``; shares are ratios,
so the factor cancels out. ``m0`` is moved forward (and weights rescaled) rarely.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Series = dict[str, Any]
Profile = dict[str, Any]

MINUTES_PER_DAY = 1440


def _unit_mean(values: tuple[float, ...]) -> tuple[float, ...]:
    mean = sum(values) / len(values)
    return tuple(v / mean for v in values)


# Relative volume per hour of day (UTC) before a series has days of its own: quiet
# nights, a lunch and an evening peak, as messages to and about brands are.
DEFAULT_SHAPE = _unit_mean((
    0.35, 0.22, 0.14, 0.10, 0.09, 0.12, 0.25, 0.45, 0.62, 0.68, 0.70, 0.74,
    0.85, 0.80, 0.70, 0.68, 0.70, 0.75, 0.85, 0.95, 1.00, 0.95, 0.80, 0.55,
))


@dataclass(frozen=True, slots=True)
class BaselineConfig:
    """How baselines learn (``day_weight``: weight of the latest day in an hour bin)."""

    day_weight: float = 0.3
    min_minutes: int = 20  # an hour seen for fewer minutes on a day is not folded in
    dispersion_alpha: float = 0.003
    max_residual: float = 4.0
    ring: int = 60
    half_life: float = 180.0  # minutes, of the recent level's weights
    guard: int = 20  # minutes a closed minute waits before it moves the recent level
    warm_minutes: float = 40.0  # (weighted) minutes of recent level before scoring
    shape: tuple[float, ...] = DEFAULT_SHAPE
    contrast: float = 1.0  # exponent of the default shape (0: flat)
    shape_error: float = 0.3  # relative error of the prior shape carried over hours
    season_error: float = 0.15  # relative error of a one-day seasonal profile
    prior: float = 20.0  # messages: weight of the seasonal level against today's


@dataclass(frozen=True, slots=True)
class Forecast:
    """Expected count of a minute and its relative variance: ``own`` (the series' own
    counts behind it) and ``common`` (errors every series of a brand shares: the
    daily shape, today's level)."""

    mean: float
    own: float
    common: float


def new_series() -> Series:
    """Hour bins: level ``s`` over ``k`` days; today's pending sum ``p``, count ``c``, day
    ``d``. Recent level ``r``: decayed sums of counts, of the prior shape, of minutes, of
    seasonal expectations and of the counts they cover, as of minute ``r[5]``; minutes
    waiting to enter it ``q``."""
    return {
        "s": [0.0] * 24, "k": [0] * 24, "p": [0.0] * 24, "c": [0] * 24, "d": [-1] * 24,
        "phi": 1.0, "x": [], "mu": [], "inc": None,
        "r": [0.0, 0.0, 0.0, 0.0, 0.0, None], "q": [],
    }


def _between_hours(values: list[float] | tuple[float, ...], minute: int) -> float:
    """Hourly ``values`` at ``minute``, interpolated linearly between hour centres."""
    position = (minute % MINUTES_PER_DAY + 0.5) / 60.0 - 0.5
    lower = math.floor(position)
    frac = position - lower
    return (1.0 - frac) * values[lower % 24] + frac * values[(lower + 1) % 24]


class DailyShape:
    """The daily-cycle prior of every series: the hourly profile of all brands' messages
    together (``pooled``, a series learned like the others) once each of its hours has
    an earlier day, else the default curve with ``contrast`` (an exponent: 0 is flat).
    Values are relative (mean 1 over a day)."""

    def __init__(self, pooled: Series, config: BaselineConfig) -> None:
        self.pooled = pooled
        self.config = config
        self._day: int | None = None
        self._hours: list[float] | tuple[float, ...] = _unit_mean(
            tuple(v**config.contrast for v in config.shape))
        self._default = self._hours
        self.learned = False

    def __call__(self, minute: int) -> float:
        day = minute // MINUTES_PER_DAY
        if day != self._day:  # hour levels only change when a day is folded in
            self._day = day
            levels = [_hour_level(self.pooled, h, day, self.config) for h in range(24)]
            self.learned = all(v is not None and v > 0.0 for v in levels)
            self._hours = _unit_mean(tuple(v or 0.0 for v in levels)) if self.learned \
                else self._default
        return _between_hours(self._hours, minute)


def _hour_level(series: Series, hour: int, day: int, config: BaselineConfig) -> float | None:
    """The bin's level as of the start of ``day`` (an earlier day still pending counts)."""
    level: float = series["s"][hour]
    days: int = series["k"][hour]
    count = series["c"][hour]
    if series["d"][hour] < day and count >= config.min_minutes:
        level += config.day_weight * (series["p"][hour] / count - level)
        days += 1
    if days == 0:
        return None
    return level / (1.0 - (1.0 - config.day_weight) ** days)


def expected(series: Series, minute: int, config: BaselineConfig) -> float | None:
    """Expected count for ``minute`` (epoch minutes, UTC), or None while still learning."""
    day = minute // MINUTES_PER_DAY
    position = (minute % MINUTES_PER_DAY + 0.5) / 60.0 - 0.5
    lower = math.floor(position)
    frac = position - lower
    first = _hour_level(series, lower % 24, day, config)
    second = _hour_level(series, (lower + 1) % 24, day, config)
    if first is None or second is None:
        return None
    return (1.0 - frac) * first + frac * second


def history_days(series: Series, minute: int, config: BaselineConfig) -> float:
    """Days of history behind ``minute``'s seasonal baseline, as an effective sample size."""
    hour = minute % MINUTES_PER_DAY // 60
    day = minute // MINUTES_PER_DAY
    days = series["k"][hour] + (series["d"][hour] < day and series["c"][hour] > 0)
    return float(max(1, min(days, (2.0 - config.day_weight) / config.day_weight)))


def forecast(series: Series, minute: int, shape: float,
             config: BaselineConfig) -> Forecast | None:
    """Expected count for ``minute`` (epoch minutes, UTC), or None before
    ``warm_minutes`` of recent data or an earlier day of the same hour (or once the
    recent level, frozen, has decayed below them, unless the series is in an incident)."""
    counts, shaped, minutes, seasonal, covered, at = series["r"]
    decay = 1.0 if at is None else 2.0 ** (-(minute - at) / config.half_life)
    recent = None
    # A series in an incident learns nothing: however old its recent level grows, it is
    # the best there is, and without a forecast the incident could never be seen over.
    held = series["inc"] is not None and minutes >= config.warm_minutes
    if held or minutes * decay >= config.warm_minutes:
        counts = max(counts * decay, 0.0)  # spam-wave heads taken back can dip below 0
        level = (counts + 1.0) / (shaped * decay)
        recent = Forecast(shape * level, 1.0 / (counts + 1.0), config.shape_error**2)
    usual = expected(series, minute, config)
    if usual is None or usual <= 0.0:
        return recent
    days = history_days(series, minute, config)
    today = (covered * decay + config.prior) / (seasonal * decay + config.prior)
    own = 1.0 / (covered * decay + config.prior) + 1.0 / (60.0 * usual * days + 1.0)
    seasonal_fc = Forecast(usual * today, own, config.season_error**2 / days)
    return seasonal_fc if recent is None else _blend(recent, seasonal_fc)


def _blend(a: Forecast, b: Forecast) -> Forecast:
    """Inverse-variance mean of two forecasts, on the log scale."""
    wa, wb = 1.0 / (a.own + a.common), 1.0 / (b.own + b.common)
    total = wa + wb
    mean = math.exp((wa * math.log(max(a.mean, 1e-9)) + wb * math.log(max(b.mean, 1e-9)))
                    / total)
    ka, kb = wa / total, wb / total
    return Forecast(mean, ka * ka * a.own + kb * kb * b.own,
                    ka * ka * a.common + kb * kb * b.common)


def hold(series: Series, minute: int, count: float, shape: DailyShape,
         config: BaselineConfig) -> None:
    """Queue a closed minute outside incidents; fold the ones older than ``guard``."""
    queue: list[list[float]] = series["q"]
    queue.append([minute, count])
    while queue and queue[0][0] <= minute - config.guard:
        old, value = queue.pop(0)
        _fold(series, int(old), value, shape(int(old)), config)


def release(series: Series, since: int) -> None:
    """Forget queued minutes from ``since`` on: they belong to an incident."""
    series["q"] = [entry for entry in series["q"] if entry[0] < since]


def _fold(series: Series, minute: int, count: float, shape: float,
          config: BaselineConfig) -> None:
    state = series["r"]
    at = state[5]
    if at is not None:
        decay = 2.0 ** (-(minute - at) / config.half_life)
        for i in range(5):
            state[i] *= decay
    state[0] += count
    state[1] += shape
    state[2] += 1.0
    usual = expected(series, minute, config)
    if usual is not None:
        state[3] += usual
        state[4] += count
    state[5] = minute


def learn(
    series: Series, minute: int, count: float, mu: float | None, config: BaselineConfig
) -> None:
    """Accumulate one closed minute for its hour bin (winsorized against ``mu`` when known)."""
    hour = minute % MINUTES_PER_DAY // 60
    day = minute // MINUTES_PER_DAY
    if mu is not None:
        count = min(count, mu + 3.0 * math.sqrt(mu * series["phi"]) + 2.0)
        residual = (count - mu) ** 2 / max(mu, 1.0)
        phi = series["phi"] + config.dispersion_alpha * (
            min(residual, config.max_residual) - series["phi"]
        )
        series["phi"] = phi
    if series["d"][hour] != day:
        if series["c"][hour] >= config.min_minutes:
            mean = series["p"][hour] / series["c"][hour]
            series["s"][hour] += config.day_weight * (mean - series["s"][hour])
            series["k"][hour] += 1
        series["p"][hour], series["c"][hour], series["d"][hour] = 0.0, 0, day
    series["p"][hour] += count
    series["c"][hour] += 1


def push(series: Series, count: float, mu: float, config: BaselineConfig) -> None:
    """Append a closed minute to the recent rings used by the windowed scores."""
    xs, mus = series["x"], series["mu"]
    xs.append(count)
    mus.append(mu)
    if len(xs) > config.ring:
        del xs[0]
        del mus[0]


def dispersion(series: Series) -> float:
    return max(1.0, float(series["phi"]))


def new_profile(minute: int) -> Profile:
    return {"m0": minute, "total": 0.0, "f": {}}


def profile_add(
    profile: Profile,
    items: dict[str, int],
    events: int,
    minute: int,
    *,
    half_life: float,
    cap: int,
) -> None:
    """Add one minute's item counts (out of ``events`` events) to a decayed profile."""
    age = (minute - profile["m0"]) / half_life
    if age > 30.0:  # keep weights far from float overflow: rescale to a new origin
        scale = 2.0 ** -age
        profile["f"] = {k: v * scale for k, v in profile["f"].items() if v * scale > 1e-9}
        profile["total"] *= scale
        profile["m0"] = minute
        age = 0.0
    weight = 2.0**age
    freq: dict[str, float] = profile["f"]
    for item, n in items.items():
        freq[item] = freq.get(item, 0.0) + n * weight
    profile["total"] += events * weight
    if len(freq) > cap:
        kept = sorted(freq.items(), key=lambda kv: kv[1], reverse=True)[: cap * 3 // 4]
        profile["f"] = dict(kept)


def share(profile: Profile | None, item: str) -> float:
    """Long-run share of events carrying ``item`` (smoothed so unseen items are rare)."""
    if profile is None or profile["total"] <= 0.0:
        return 0.0
    freq: float = profile["f"].get(item, 0.0)
    total: float = profile["total"]
    return (freq + total * 1e-5) / total
