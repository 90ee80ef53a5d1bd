"""The sampling floor on the residual's probability, and novelty at a typical sample size."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vigil.core import SeriesKey
from vigil.detect import ConsensusDetector, ConsensusSettings
from vigil.detect.consensus import at_typical_size
from vigil.detect.residual import residual
from vigil.detect.sampling import sampling_probability
from vigil.stats import Series


def hourly(values: np.ndarray, support: np.ndarray | None = None) -> Series:
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(len(values)) * np.timedelta64(
        3600, "s"
    )
    key = SeriesKey(model="m", version="", family="f", column="s", statistic="mean")
    return Series(key=key, timestamps=stamps, values=values, support=support)


def test_a_proportion_is_judged_binomial_at_the_larger_of_its_expected_and_pooled_rates() -> None:
    rows = np.full(60, 10.0)
    values = np.zeros(60)
    values[[10, 30]] = 0.1  # 1 null in the 24 steps before step 40: a pooled rate of 1/240
    values[40] = 0.3
    p = sampling_probability(hourly(values, rows), np.zeros(60))
    assert p is not None
    rate = 1.0 / 240.0
    # The expected value (a median of zeros) says 0; the pooled rate says 1 in 240 rows.
    expected = 2 * stats.binom.sf(2, 10, rate)
    assert p[40] == pytest.approx(expected, rel=1e-9)
    assert np.isnan(p[:19]).all() and not np.isnan(p[19:]).any()  # 20 values make a proportion


@pytest.mark.parametrize(("rows", "rare"), [(10.0, False), (1000.0, True)])
def test_one_in_ten_rows_is_routine_on_ten_rows_and_news_on_a_thousand(
    rows: float, rare: bool
) -> None:
    """A rate of 1 in 200: a tenth of 10 rows is one event (P about 5%), a tenth of 1,000 rows
    is a hundred events where five are expected."""
    support = np.full(100, rows)
    values = np.full(100, 0.005 if rows == 1000.0 else 0.0)
    values[::20] = 0.1 if rows == 10.0 else 0.005  # events now and then on 10 rows
    values[80] = 0.1
    expected = np.full(100, 0.005)
    p = sampling_probability(hourly(values, support), expected)
    assert p is not None
    assert (p[80] < 1e-6) == rare
    assert p[80] > 0.05 or rare


def test_a_count_carrying_itself_is_judged_poisson() -> None:
    counts = np.zeros(80)
    counts[::10] = 1.0  # one request every ten minutes: a pooled rate of 0.1 a step
    counts[50] = 1.0
    counts[70] = 12.0
    p = sampling_probability(hourly(counts, counts.copy()), np.zeros(80))
    assert p is not None
    rate = 2.0 / 24.0  # two requests in the 24 steps before step 50 (steps 30 and 40)
    assert p[50] == pytest.approx(2 * stats.poisson.sf(0, rate), rel=1e-9)
    assert p[50] > 0.1 and p[70] < 1e-12


def test_a_series_without_sample_sizes_or_not_a_rate_or_count_has_no_floor() -> None:
    values = np.random.default_rng(1).normal(50.0, 5.0, 100)
    assert sampling_probability(hourly(values), values) is None
    assert sampling_probability(hourly(values, np.full(100, 30.0)), values) is None


def test_the_floor_only_raises_the_residual_probability() -> None:
    rng = np.random.default_rng(4)
    hours = np.arange(24 * 30) % 24
    rows = np.where(hours < 6, 8.0, 400.0)
    values = rng.binomial(rows.astype(int), 0.01) / rows
    series = hourly(values, rows)
    floored = ConsensusDetector().evidence(series).residual
    plain = ConsensusDetector(settings=ConsensusSettings(sampling_floor=False))
    bare = plain.evidence(series).residual
    assert np.all((floored >= bare) | np.isnan(bare))
    assert np.array_equal(np.isnan(floored), np.isnan(bare))
    # A single null among 8 night rows (P about 8%) is no longer a small probability.
    single = (rows == 8.0) & (values > 0) & ~np.isnan(bare)
    assert single.any() and np.all(floored[single] > 0.01)


def test_consensus_without_sample_sizes_is_unchanged_by_both() -> None:
    values = 100 + 10 * np.sin(np.arange(24 * 30) * 2 * np.pi / 24)
    values = values + np.random.default_rng(2).normal(0, 2, values.size)
    values[500] += 40
    series = hourly(values)
    old = ConsensusSettings(sampling_floor=False, typical_size_novelty=False)
    a = ConsensusDetector(settings=old).score([series])[0].score
    b = ConsensusDetector().score([series])[0].score
    np.testing.assert_array_equal(a, b)


def test_at_a_typical_size_steps_on_few_rows_are_drawn_in_and_busy_steps_are_kept() -> None:
    rng = np.random.default_rng(9)
    hours = np.arange(24 * 30) % 24
    rows = np.where(hours < 6, 10.0, 1000.0)
    values = rng.binomial(rows.astype(int), 0.1) / rows
    series = hourly(values, rows)
    base = residual(series)
    typical = at_typical_size(series, base)
    scored = ~np.isnan(base.z)
    raw_gap = np.abs(values - base.expected)
    few = scored & (rows == 10.0) & (raw_gap > 0)
    many = scored & (rows == 1000.0) & (raw_gap > 0)
    new_gap = np.abs(typical - base.expected)
    assert np.median(new_gap[few] / raw_gap[few]) < 0.5
    # The median scale is a busy hour's (18 of 24 hours are busy): busy steps keep their values
    # or nearly (a busy step noisier than the median is drawn in a little, never pushed out).
    assert np.median(new_gap[many] / raw_gap[many]) == pytest.approx(1.0)
    assert np.all(new_gap[many] <= raw_gap[many] * (1 + 1e-9))
    # Where there is no z (warm-up), the value itself; without sample sizes, every value.
    np.testing.assert_array_equal(typical[~scored], values[~scored])
    blind = hourly(values)
    assert at_typical_size(blind, residual(blind)) is blind.values
