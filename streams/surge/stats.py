"""Poisson tail probabilities as surprise scores (-log10 p), overdispersion allowed.

Counts are scored against a quasi-Poisson model: with dispersion ``phi`` (variance =
``phi`` × mean), ``X / phi`` is treated as Poisson with mean ``mean / phi``. The tails
use the regularized incomplete gamma function, which extends the Poisson tail to
non-integer counts, computed in log space so tiny p-values do not underflow.
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
    """-log10 P(N <= count) for N with the given mean and dispersion."""
    if mean <= 0.0:
        return 0.0
    return max(0.0, -_log_q(count / dispersion + 1.0, mean / dispersion) / _LN10)
