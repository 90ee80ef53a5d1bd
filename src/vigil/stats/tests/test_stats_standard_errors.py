"""Standard errors of health statistics: each matches the spread of the statistic over many
samples, which is what the detector takes it for."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vigil.profile import QuantileSketch
from vigil.stats.standard_errors import (
    mean_stderr,
    proportion_stderr,
    quantile_stderr,
    sketch_quantile_stderrs,
    std_stderr,
)

DRAWS = 2000


def _spread(statistic: object, draw: object) -> tuple[float, float]:
    """The standard deviation of a statistic over DRAWS samples, and the median stated error."""
    rng = np.random.default_rng(7)
    values, errors = [], []
    for _ in range(DRAWS):
        x = draw(rng)  # type: ignore[operator]
        value, error = statistic(x)  # type: ignore[operator]
        values.append(value)
        errors.append(error)
    return float(np.std(values)), float(np.median(errors))


def test_a_means_standard_error_is_the_spread_of_means() -> None:
    spread, stated = _spread(
        lambda x: (x.mean(), mean_stderr(float(x.std(ddof=1)), x.size)),
        lambda rng: rng.normal(5.0, 3.0, 50),
    )
    # Over 2,000 draws the spread is known to about 1.6%; the median s/sqrt(n) is slightly low.
    assert stated == pytest.approx(spread, rel=0.06)


def test_a_rates_standard_error_is_binomial() -> None:
    assert proportion_stderr(0.1, 100) == pytest.approx(0.03)
    assert proportion_stderr(0.0, 100) == 0.0
    assert math.isnan(proportion_stderr(0.5, 0))
    assert math.isnan(proportion_stderr(1.5, 10))


def test_a_standard_deviations_standard_error_is_its_spread() -> None:
    spread, stated = _spread(
        lambda x: (x.std(ddof=1), std_stderr(float(x.std(ddof=1)), x.size)),
        lambda rng: rng.normal(0.0, 2.0, 80),
    )
    assert stated == pytest.approx(spread, rel=0.08)
    assert math.isnan(std_stderr(1.0, 1))


@pytest.mark.parametrize(("level", "n"), [(0.5, 400), (0.9, 400), (0.99, 2000)])
def test_a_quantiles_standard_error_is_the_spread_of_sample_quantiles(level: float, n: int) -> None:
    def statistic(x: np.ndarray) -> tuple[float, float]:
        return float(np.quantile(x, level)), quantile_stderr(
            lambda at: np.asarray(np.quantile(x, at), dtype=np.float64), level, x.size
        )

    spread, stated = _spread(statistic, lambda rng: rng.lognormal(0.0, 0.5, n))
    assert stated == pytest.approx(spread, rel=0.15)


def test_a_sketch_below_k_is_exact_and_above_k_adds_its_rank_error() -> None:
    rng = np.random.default_rng(3)
    few = rng.normal(0.0, 1.0, 150)
    sketch = QuantileSketch.empty(200).update(few)
    exact = quantile_stderr(
        lambda at: np.asarray(np.quantile(few, at, method="inverted_cdf"), dtype=np.float64),
        0.5,
        150,
    )
    (from_sketch,) = sketch_quantile_stderrs(sketch, [0.5])
    assert from_sketch == pytest.approx(exact, rel=0.15)
    many = rng.normal(0.0, 1.0, 100_000)
    # KLL compacts at random, so one sketch's reading varies (a lower bound failed 1 run in
    # about 50): the median of 9 sketches of the same values is judged.
    sketches = [QuantileSketch.empty(200).update(many) for _ in range(9)]
    wide = float(np.median([sketch_quantile_stderrs(one, [0.5])[0] for one in sketches]))
    big = sketches[0]
    sampling = math.sqrt(math.pi / 2) / math.sqrt(many.size)  # 0.004
    rank = big.normalized_rank_error / 2.576 * math.sqrt(2 * math.pi)  # rank -> value at the mode
    # KLL compacts at random: each end it reads is off by up to its rank error (99%), so the
    # half-spread is held to within a factor of two of what is stated, and well above sampling.
    assert 0.5 * (sampling + rank) < wide < 2.0 * (sampling + rank)
    assert wide > 2 * sampling
    assert all(math.isnan(e) for e in sketch_quantile_stderrs(QuantileSketch.empty(200), [0.5]))
