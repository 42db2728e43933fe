"""Tail probabilities of counts as surprise scores (-log10 p).

Counts are scored against a negative binomial: a Poisson count with dispersion
``phi`` (``X / phi`` is treated as Poisson with mean ``mean / phi``) whose mean is
itself uncertain, with relative variance ``rel`` (a Gamma of shape ``1 / rel``: the
predictive distribution of a count whose rate was estimated from ``1 / rel``
messages). Variance = ``phi`` × mean + ``rel`` × mean². With ``rel`` = 0 it is the
Poisson tail, by the regularized incomplete gamma function; otherwise the
regularized incomplete beta function. Both extend the tails to non-integer counts
and are computed in log space so tiny p-values do not underflow.
"""

from __future__ import annotations

import math

_LN10 = math.log(10.0)
_EPS = 1e-13
_TINY = 1e-300


def _log_p_series(a: float, x: float) -> float:
    """log P(a, x) by its power series (converges fast when x < a + 1)."""
    term = total = 1.0
    ap = a
    for _ in range(1000):
        ap += 1.0
        term *= x / ap
        total += term
        if term < total * _EPS:
            break
    return -x + a * math.log(x) - math.lgamma(a + 1.0) + math.log(total)


def _log_q_fraction(a: float, x: float) -> float:
    """log Q(a, x) by Lentz's continued fraction (converges fast when x >= a + 1)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return -x + a * math.log(x) - math.lgamma(a) + math.log(h)


def _log_p(a: float, x: float) -> float:
    """log of the regularized lower incomplete gamma P(a, x)."""
    if x <= 0.0:
        return -math.inf
    if x < a + 1.0:
        return _log_p_series(a, x)
    return math.log1p(-math.exp(_log_q_fraction(a, x)))


def _log_q(a: float, x: float) -> float:
    """log of the regularized upper incomplete gamma Q(a, x) = 1 - P(a, x)."""
    if x <= 0.0:
        return 0.0
    if x < a + 1.0:
        return math.log1p(-math.exp(_log_p_series(a, x)))
    return _log_q_fraction(a, x)


def surprise_above(count: float, mean: float, dispersion: float = 1.0) -> float:
    """-log10 P(N >= count) for N with the given mean and dispersion (0 when count <= 0)."""
    if count <= 0.0:
        return 0.0
    mean = max(mean, 1e-9)
    return max(0.0, -_log_p(count / dispersion, mean / dispersion) / _LN10)


def surprise_below(count: float, mean: float, dispersion: float = 1.0) -> float:
    """-log10 P(N <= count) for N with the given mean and dispersion. A count below 0
    (messages taken back: a spam wave's copies, once recognised) counts as none."""
    if mean <= 0.0:
        return 0.0
    return max(0.0, -_log_q(max(count, 0.0) / dispersion + 1.0, mean / dispersion) / _LN10)


_MIN_REL = 1e-6  # below this the mean is as good as known: the Poisson tail


def _log_beta_fraction(a: float, b: float, x: float) -> float:
    """log I_x(a, b) by Lentz's continued fraction (converges fast when
    x < (a + 1) / (a + b + 2))."""
    front = (a * math.log(x) + b * math.log1p(-x) - math.log(a)
             - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)))
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (_TINY if abs(d) < _TINY else d)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((a - 1.0 + m2) * (a + m2)),
                          -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (_TINY if abs(d) < _TINY else d)
            c = 1.0 + numerator / c
            c = _TINY if abs(c) < _TINY else c
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return front + math.log(h)


def _log_betainc(a: float, b: float, x: float) -> float:
    """log of the regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return -math.inf
    if x >= 1.0:
        return 0.0
    if x < (a + 1.0) / (a + b + 2.0):
        return _log_beta_fraction(a, b, x)
    return math.log1p(-min(1.0, math.exp(_log_beta_fraction(b, a, 1.0 - x))))


def nb_surprise_above(count: float, mean: float, dispersion: float = 1.0,
                      rel: float = 0.0) -> float:
    """-log10 P(N >= count) for N with the given mean, dispersion and relative variance
    of the mean (0 when count <= 0)."""
    if rel < _MIN_REL:
        return surprise_above(count, mean, dispersion)
    if count <= 0.0:
        return 0.0
    shape, m = 1.0 / rel, max(mean, 1e-9) / dispersion
    # P(N >= k) = I_{1-p}(k, r) for a negative binomial of shape r and p = r / (r + mean)
    return max(0.0, -_log_betainc(count / dispersion, shape, m / (shape + m)) / _LN10)


def nb_surprise_below(count: float, mean: float, dispersion: float = 1.0,
                      rel: float = 0.0) -> float:
    """-log10 P(N <= count), same model as :func:`nb_surprise_above` (a count below 0
    counts as none, as in :func:`surprise_below`)."""
    if rel < _MIN_REL:
        return surprise_below(count, mean, dispersion)
    if mean <= 0.0:
        return 0.0
    shape, m, k = 1.0 / rel, mean / dispersion, max(count, 0.0) / dispersion
    # P(N <= k) = I_p(r, k + 1)
    return max(0.0, -_log_betainc(shape, k + 1.0, shape / (shape + m)) / _LN10)
