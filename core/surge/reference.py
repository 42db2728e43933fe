"""What a series' last minutes are compared with: its forecast, corrected by its peers.

A forecast (:func:`core.surge.baseline.forecast`) errs in ways a brand's series
share: the daily shape it assumed, today's level, a TV mention or a sale that makes
the whole brand busier. Over the same window, the brand's other polarities measure
that error, and the other brands measure the part every brand shares (the time of
day). Both are Gamma posteriors of a factor on the forecast:

- other brands: ``G = (n + X) / (n + M)``, their observed ``X`` against their
  forecast ``M``, shrunk towards 1 by ``n`` = 1 / the forecast's common variance;
- the brand: ``F = (n + O) / (n / G + E)``, its other polarities' observed ``O``
  against forecast ``E``, shrunk towards ``G``.

The common variance is widened by how far all the other series of its kind stood
from their forecasts over the last half hour (a wrong default daily shape shows
there first), so a forecast the data contradicts hands over to its peers.

The expected count is the forecast × ``F``, with relative variance the forecast's
own + ``1 / (n + O)`` + ``mix_error``² (a polarity's share drifts too). A platform
is compared with the other platforms alike (they are every brand). Series in an
incident never vote.

:class:`Recent` computes every sum once per closing minute (suffix sums of each
series' ring), so a window costs a lookup.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from core.surge.baseline import Forecast, Series

CHECK = 30  # minutes over which every forecast is checked against what happened


class Window(NamedTuple):
    """One window of a series: what was seen, what was expected, how sure that is."""

    width: int
    observed: float
    expected: float
    rel: float  # relative variance of ``expected``
    forecast: float  # the series' own forecast, before its peers' factor


class Recent:
    """Sums over the last minutes of every series, as of one closing minute.

    ``states`` maps series keys (``b|<brand>|<polarity>``, ``p|<platform>``) to their
    state; ``quiet`` is the keys of the series not in an incident (the voters).
    """

    def __init__(self, states: Mapping[str, Series], quiet: Iterable[str],
                 mix_error: float, *, outage: bool = False) -> None:
        """``outage``: platforms are silent, which changes a brand's mix of polarities
        wherever tone differs by platform; the peers may then raise a brand's expected
        counts but not lower them."""
        self._states = states
        self._outage = outage
        self._sums: dict[str, tuple[list[float], list[float]]] = {}
        self._mix = mix_error * mix_error
        self._brands: dict[str, list[str]] = {}
        self._platforms: list[str] = []
        for key in quiet:
            if key[0] == "b":
                self._brands.setdefault(key.split("|", 2)[1], []).append(key)
            else:
                self._platforms.append(key)
        self._brand_keys = [k for keys in self._brands.values() for k in keys]
        self._voters = {*self._brand_keys, *self._platforms}
        self._totals: dict[tuple[str, int], tuple[float, float]] = {}
        self._disagreements: dict[str, float] = {}

    def ahead(self, open_part: Callable[[str], tuple[float, float]]) -> Recent:
        """The same series with the minutes after the closed ones, as seen so far:
        ``open_part`` gives a key's (observed, forecast) sums over them, asked once per
        key and only when needed. A window of width ``w`` is then those and the last
        ``w - 1`` closed minutes."""
        return _Ahead(self, open_part)

    def _suffix(self, key: str) -> tuple[list[float], list[float]]:
        """Observed and forecast sums of ``key``'s last 1, 2, ... closed minutes."""
        sums = self._sums.get(key)
        if sums is None:
            state = self._states[key]
            sums = (list(itertools.accumulate(reversed(state["x"]))),
                    list(itertools.accumulate(reversed(state["mu"]))))
            self._sums[key] = sums
        return sums

    def __call__(self, key: str, width: int) -> tuple[float, float]:
        """(observed, forecast) summed over the last ``width`` minutes of ``key``."""
        xs, mus = self._sums.get(key) or self._suffix(key)
        if not xs:
            return 0.0, 0.0
        last = min(width, len(xs)) - 1
        return xs[last], mus[last]

    def widths(self, key: str, widths: Iterable[int]) -> list[tuple[int, float, float]]:
        """(width, observed, forecast) of ``key`` for each of ``widths`` in turn, up to
        the first one longer than the series' closed minutes."""
        xs, mus = self._sums.get(key) or self._suffix(key)
        rows = []
        for width in widths:
            if len(xs) < width:
                break
            rows.append((width, xs[width - 1], mus[width - 1]))
        return rows

    def _total(self, name: str, keys: Iterable[str], width: int) -> tuple[float, float]:
        total = self._totals.get((name, width))
        if total is None:
            # The lookups of __call__, inlined: this loop runs for every window width
            # of every kind of peer, each closing minute.
            seen = usual = 0.0
            sums, suffix = self._sums, self._suffix
            for key in keys:
                xs, mus = sums.get(key) or suffix(key)
                if xs:
                    last = min(width, len(xs)) - 1
                    seen += xs[last]
                    usual += mus[last]
            total = self._totals[name, width] = (seen, usual)
        return total

    def _disagreement(self, key: str, quiet: bool) -> float:
        """How far every other series of ``key``'s kind is from its forecast over the
        last ``CHECK`` minutes: the squared log ratio, less its Poisson part. A default
        daily shape can be far off (another time zone, office hours); then no forecast
        deserves the trust its common variance claims."""
        cached = self._disagreements.get(key)
        if cached is not None:
            return cached
        name, keys = ("", self._brand_keys) if key[0] == "b" else ("p", self._platforms)
        seen, usual = self._total(name, keys, CHECK)
        if quiet:
            own = self(key, CHECK)
            seen, usual = seen - own[0], usual - own[1]
        seen, usual = max(seen, 0.0), max(usual, 0.0)
        log_ratio = math.log((seen + 1.0) / (usual + 1.0))
        if self._outage and name == "":
            # Platforms are silent: brands falling short of their forecasts is the
            # outage, not a wrong forecast (as in ``window``, it may only raise them).
            log_ratio = max(log_ratio, 0.0)
        value = max(0.0, log_ratio**2 - 1.0 / (seen + 1.0))
        self._disagreements[key] = value
        return value

    def window(self, key: str, width: int, forecast: Forecast) -> Window:
        """The window of ``key`` against its forecast × its peers' factor."""
        observed, mu = self(key, width)
        # Its own counts are taken out of its peers' only if they are in them: a platform
        # gone quiet (``without``) is compared with the others whole.
        quiet = key in self._voters
        prior = 1.0 / max(forecast.common + self._disagreement(key, quiet), 1e-6)
        if key[0] == "b":
            brand = key.split("|", 2)[1]
            everyone = self._total("", self._brand_keys, width)
            mine = self._total(brand, self._brands.get(brand, ()), width)
            own = (observed, mu) if quiet else (0.0, 0.0)
            others = (mine[0] - own[0], mine[1] - own[1])
            elsewhere = (everyone[0] - mine[0], everyone[1] - mine[1])
            # (a spam wave's take-back can leave a sum of counts below zero)
            general = (prior + max(elsewhere[0], 0.0)) / (prior + max(elsewhere[1], 0.0))
        else:
            everyone = self._total("p", self._platforms, width)
            own = (observed, mu) if quiet else (0.0, 0.0)
            others = (everyone[0] - own[0], everyone[1] - own[1])
            general = 1.0
        seen, usual = max(others[0], 0.0), max(others[1], 0.0)
        factor = (prior + seen) / (prior / general + usual)
        if self._outage and key[0] == "b":
            factor = max(factor, 1.0)
        rel = forecast.own + 1.0 / (prior + seen) + self._mix
        return Window(width, observed, mu * factor, rel, mu)

    def without(self, platforms: Iterable[str]) -> Recent:
        """The same sums with ``platforms`` no longer voting (they went quiet)."""
        dropped = {f"p|{p}" for p in platforms}
        quiet = [*self._brand_keys, *(k for k in self._platforms if k not in dropped)]
        recent = Recent(self._states, quiet, 0.0, outage=self._outage)
        recent._mix = self._mix
        recent._sums = self._sums
        return recent


class _Ahead(Recent):
    """:meth:`Recent.ahead`: each sum is the closed minutes' (cached by the closing's
    :class:`Recent` across looks) plus the open minutes'. Only the window sums (a call,
    :meth:`window`) look ahead: a peek needs no more, so ``widths`` and ``without``
    stay those of the closed minutes."""

    def __init__(self, closed: Recent, open_part: Callable[[str], tuple[float, float]]) -> None:
        super().__init__(closed._states, (), 0.0, outage=closed._outage)
        self._mix = closed._mix
        self._brands, self._platforms = closed._brands, closed._platforms
        self._brand_keys, self._voters = closed._brand_keys, closed._voters
        self._closed = closed
        self._open_part = open_part
        self._open: dict[str, tuple[float, float]] = {}

    def _part(self, key: str) -> tuple[float, float]:
        part = self._open.get(key)
        if part is None:
            part = self._open[key] = self._open_part(key)
        return part

    def __call__(self, key: str, width: int) -> tuple[float, float]:
        x, mu = self._part(key)
        if width > 1:
            seen, usual = self._closed(key, width - 1)
            x, mu = x + seen, mu + usual
        return x, mu

    def _total(self, name: str, keys: Iterable[str], width: int) -> tuple[float, float]:
        total = self._totals.get((name, width))
        if total is None:
            seen = usual = 0.0
            if width > 1:
                seen, usual = self._closed._total(name, keys, width - 1)
            for key in keys:
                x, mu = self._part(key)
                seen, usual = seen + x, usual + mu
            total = self._totals[name, width] = (seen, usual)
        return total
