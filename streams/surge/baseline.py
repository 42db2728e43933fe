"""What volume is normal: seasonal per-minute baselines and long-run frequency profiles.

Both live in plain JSON-able dicts (the values of the detector's state mappings).

**Series baseline.** The expected count for a minute is the hour-of-day profile of
the series, linearly interpolated between hour centres, so the daily cycle (quiet
nights, lunch and evening peaks) is part of the baseline. Each hour bin holds the
mean count per minute of that hour on previous days, as a bias-corrected
exponentially weighted mean over days (``day_weight``: about three days of memory,
usable after one). Today's minutes are only accumulated (``p``/``c``/``d``) and
folded in when the same hour comes back the next day, so a crisis that builds
slowly over hours never raises its own baseline. Minutes are winsorized before
they are accumulated, and not accumulated at all while the series is in an
incident, so an earlier spike cannot inflate the baseline either. A dispersion
factor (variance / mean, at least 1) is learned from the residuals, which makes
the score quasi-Poisson.

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


@dataclass(frozen=True, slots=True)
class BaselineConfig:
    """How baselines learn (``day_weight``: weight of the latest day in an hour bin)."""

    day_weight: float = 0.3
    min_minutes: int = 20  # an hour seen for fewer minutes on a day is not folded in
    dispersion_alpha: float = 0.003
    max_residual: float = 4.0
    ring: int = 60


def new_series() -> Series:
    """Hour bins: level ``s`` over ``k`` days; today's pending sum ``p``, count ``c``, day ``d``."""
    return {
        "s": [0.0] * 24, "k": [0] * 24, "p": [0.0] * 24, "c": [0] * 24, "d": [-1] * 24,
        "phi": 1.0, "x": [], "mu": [], "inc": None,
    }


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
    """Days of history behind ``minute``'s baseline, as an effective sample size."""
    hour = minute % MINUTES_PER_DAY // 60
    day = minute // MINUTES_PER_DAY
    days = series["k"][hour] + (series["d"][hour] < day and series["c"][hour] > 0)
    return float(max(1, min(days, (2.0 - config.day_weight) / config.day_weight)))


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


def window(series: Series, minutes: int) -> tuple[float, float]:
    """(observed, expected) summed over the last ``minutes`` closed minutes."""
    return float(sum(series["x"][-minutes:])), float(sum(series["mu"][-minutes:]))


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
