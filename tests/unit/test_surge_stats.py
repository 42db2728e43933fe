"""The detector's tail probabilities, against scipy's distributions."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats  # type: ignore[import-untyped]

from core.surge.stats import (
    nb_surprise_above,
    nb_surprise_below,
    surprise_above,
    surprise_below,
)


def _close(ours: float, p: float) -> bool:
    """Ours against scipy's probability; past float's range scipy says 0, ours goes on."""
    if p < 1e-250:
        return ours > 249.0
    return ours == pytest.approx(-math.log10(p), abs=1e-6, rel=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_poisson_and_negative_binomial_tails_match_scipy(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        mean = rng.choice([0.3, 2.0, 15.0, 120.0, 3000.0]) * rng.uniform(0.5, 2.0)
        count = float(max(1, round(mean * rng.uniform(0.0, 3.0))))
        p_above, p_below = stats.poisson.sf(count - 1, mean), stats.poisson.cdf(count, mean)
        assert _close(surprise_above(count, mean), p_above)
        assert _close(surprise_below(count, mean), p_below)
        rel = rng.choice([0.01, 0.1, 0.5])
        shape = 1.0 / rel
        p = shape / (shape + mean)  # scipy's nbinom: number of failures, success p
        assert _close(nb_surprise_above(count, mean, rel=rel), stats.nbinom.sf(count - 1, shape, p))
        assert _close(nb_surprise_below(count, mean, rel=rel), stats.nbinom.cdf(count, shape, p))


@pytest.mark.parametrize("rel", [0.0, 0.2])
@pytest.mark.parametrize("taken_back", [-1.0, -2.0, -0.5, -7.0])
def test_a_count_below_zero_is_as_surprising_as_none(rel: float, taken_back: float) -> None:
    """A minute's count goes below 0 when a spam wave's earlier copies are taken back;
    summed into a quiet stretch it once crashed the detector (lgamma of 0)."""
    for mean in (0.4, 3.0, 40.0):
        assert nb_surprise_below(taken_back, mean, rel=rel) == nb_surprise_below(
            0.0, mean, rel=rel)
        assert nb_surprise_below(taken_back, mean, 2.0, rel) == nb_surprise_below(
            0.0, mean, 2.0, rel)
        assert nb_surprise_above(taken_back, mean, rel=rel) == 0.0
