"""The interval base and the statistical baselines behave as their statistics say they should."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vigil.core import ConfigError, SeriesKey
from vigil.detect import (
    Band,
    RollingMAD,
    RollingZScore,
    SeasonalZScore,
    hour_of_week,
    scores_from_band,
    threshold_for_fpr,
    z_for_level,
)
from vigil.stats.series import Series


def hourly(values: np.ndarray, start: str = "2024-03-04T00:00:00") -> Series:
    stamps = np.datetime64(start) + np.arange(len(values)) * np.timedelta64(3600, "s")
    key = SeriesKey(model="m", version="1", family="f", column="c", statistic="mean")
    return Series(key=key, timestamps=stamps, values=values.astype(np.float64))


def outside_rate(scores: np.ndarray) -> tuple[float, int]:
    scorable = scores[~np.isnan(scores)]
    return float(np.mean(scorable > 1.0)), scorable.size


def test_score_is_distance_in_half_widths() -> None:
    series = hourly(np.array([10.0, 14.0, 7.0, 5.0, np.nan]))
    band = Band(
        expected=np.array([10.0, 10.0, 10.0, 5.0, 1.0]),
        lower=np.array([8.0, 8.0, 8.0, 5.0, 0.0]),
        upper=np.array([12.0, 12.0, 12.0, 5.0, 2.0]),
    )
    scores = scores_from_band(series, band).score
    np.testing.assert_array_equal(scores[:4], [0.0, 2.0, 1.5, 0.0])
    assert math.isnan(scores[4])


def test_zero_width_band_scores_any_deviation_infinite() -> None:
    series = hourly(np.array([5.0, 6.0]))
    band = Band(expected=np.full(2, 5.0), lower=np.full(2, 5.0), upper=np.full(2, 5.0))
    np.testing.assert_array_equal(scores_from_band(series, band).score, [0.0, np.inf])


def test_threshold_for_fpr_ignores_nan_and_rejects_bad_rates() -> None:
    scores = [np.array([np.nan, *range(100)], dtype=np.float64)]
    threshold = threshold_for_fpr(scores, 0.1)
    assert np.sum(scores[0] > threshold) == 10
    with pytest.raises(ConfigError, match="fpr"):
        threshold_for_fpr(scores, 1.5)
    with pytest.raises(ConfigError, match="no scorable"):
        threshold_for_fpr([np.array([np.nan])], 0.1)


def test_z_for_level_matches_normal_quantile() -> None:
    assert z_for_level(0.95) == pytest.approx(1.959964, abs=1e-6)
    with pytest.raises(ConfigError, match="level"):
        z_for_level(1.0)


def binomial_slack(p: float, n: int) -> float:
    # Overlapping windows correlate neighbouring exceedances; 5 binomial sds covers that.
    return 5.0 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("level", [0.95, 0.99])
def test_zscore_nominal_coverage_on_white_noise(level: float) -> None:
    """The Student-t prediction interval covers a new iid normal draw with probability level."""
    values = np.random.default_rng(11).normal(20.0, 3.0, 6000)
    rate, n = outside_rate(RollingZScore(level=level).score([hourly(values)])[0].score)
    assert abs(rate - (1 - level)) <= binomial_slack(1 - level, n)


def test_seasonal_nominal_coverage_on_seasonal_noise() -> None:
    rng = np.random.default_rng(12)
    hours = np.arange(24 * 7 * 16)
    values = 100 + 30 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 2, hours.size)
    rate, n = outside_rate(SeasonalZScore(level=0.95).score([hourly(values)])[0].score)
    assert abs(rate - 0.05) <= binomial_slack(0.05, n)


def test_mad_is_not_masked_by_an_earlier_outlier() -> None:
    """A spike inflates the rolling std for a window; the median/MAD band barely moves."""
    values = np.random.default_rng(13).normal(0.0, 1.0, 400)
    values[300] = 40.0
    values[310] = 6.0
    mad = RollingMAD().score([hourly(values)])[0].score
    zscore = RollingZScore().score([hourly(values)])[0].score
    assert mad[310] > 1.0
    assert zscore[310] < 1.0


def test_rolling_zscore_fires_on_weekly_seasonality_that_seasonal_explains() -> None:
    """Quiet weekends then busy Mondays: the naive z-score alarms, hour-of-week does not."""
    stamps_start = "2024-03-04T00:00:00"  # a Monday
    n = 24 * 7 * 12
    base = hourly(np.zeros(n), stamps_start)
    weekend = (hour_of_week(base.timestamps) >= 5 * 24).astype(float)
    values = 100 - 60 * weekend + np.random.default_rng(14).normal(0, 2, n)
    series = hourly(values, stamps_start)
    naive, _ = outside_rate(RollingZScore(level=0.99).score([series])[0].score)
    seasonal, count = outside_rate(SeasonalZScore(level=0.99).score([series])[0].score)
    assert seasonal <= 0.01 + binomial_slack(0.01, count)
    assert naive > 3 * seasonal + 0.005


def test_hour_of_week_starts_on_monday() -> None:
    stamps = np.array(["2024-03-04T00:30", "2024-03-10T23:00", "2024-03-11T00:00"], "datetime64[s]")
    np.testing.assert_array_equal(hour_of_week(stamps), [0, 167, 0])


@pytest.mark.parametrize("make", [lambda: RollingZScore(window=1), lambda: SeasonalZScore(weeks=0)])
def test_bad_settings_are_rejected(make: object) -> None:
    with pytest.raises(ConfigError):
        make()  # type: ignore[operator]
