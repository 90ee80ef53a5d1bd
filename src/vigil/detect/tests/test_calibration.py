"""The calibration layer: tail probabilities that mean the same on every series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vigil.core import ConfigError
from vigil.detect import (
    Calibration,
    CalibrationError,
    calibrate,
    calibrated_threshold,
    suppress,
    tail_probability,
)


def test_inside_the_history_the_probability_is_the_mid_rank() -> None:
    history = np.arange(1.0, 100.0, dtype=np.float64)  # 99 values
    p = tail_probability(history, np.array([50.0, 1.0]))
    # 49 above, one tie counted half, plus half a pseudo-count, over 100.
    assert p[0] == pytest.approx((49 + 0.5 + 0.5) / 100)
    assert p[1] == pytest.approx((98 + 0.5 + 0.5) / 100)


def test_beyond_the_history_the_tail_keeps_falling_below_one_over_n() -> None:
    history = np.random.default_rng(0).exponential(1.0, 1000)
    p = tail_probability(history, np.array([history.max(), history.max() + 2, history.max() + 6]))
    assert p[0] <= 1.5 / 1001
    assert p[0] > p[1] > p[2] > 0
    # Exponential data (mean excess 1): four more units cost about e^4, a little less because
    # the Lomax tail allows for the rate's uncertainty.
    assert math.exp(3.5) < p[1] / p[2] < math.exp(4.0)


def test_probabilities_never_rise_with_the_score() -> None:
    history = np.random.default_rng(1).standard_t(3, 500)
    grid = np.linspace(-10, 30, 400)
    assert np.all(np.diff(tail_probability(history, grid)) <= 1e-15)


def test_calibrated_probabilities_are_uniform_on_a_stationary_series() -> None:
    raw = np.abs(np.random.default_rng(2).standard_t(4, 20_000))
    p = calibrate(raw, Calibration())
    scored = p[~np.isnan(p)]
    # Binomial spread at 1% of ~19,900 steps is about 0.07 percentage points.
    assert abs(np.mean(scored < 0.01) - 0.01) < 0.003
    assert abs(np.mean(scored < 0.1) - 0.1) < 0.01


def test_no_probability_before_min_history_steps() -> None:
    raw = np.random.default_rng(3).normal(size=300)
    p = calibrate(raw, Calibration(min_history=100, reestimate=50))
    assert np.all(np.isnan(p[:100])) and not np.any(np.isnan(p[100:]))
    # Exactly 99 steps of history are too few: the block starting at 100 - 1 would need 100.
    p = calibrate(raw, Calibration(min_history=101, reestimate=1))
    assert np.isnan(p[100]) and not np.isnan(p[101])


def test_the_fitted_history_is_calibrated_in_sample() -> None:
    raw = np.random.default_rng(4).normal(size=400)
    p = calibrate(raw, Calibration(), fitted=60)
    assert not np.any(np.isnan(p[:60]))  # in-sample, although 60 < min_history
    assert np.isclose(np.min(p[:60]), 1.0 / 61, rtol=0.01)  # the fitted maximum: rank 1 of 60


def test_the_future_never_changes_an_earlier_probability() -> None:
    raw = np.random.default_rng(5).normal(size=600)
    changed = raw.copy()
    changed[401:] += 100.0
    a = calibrate(raw, Calibration(), fitted=200)
    b = calibrate(changed, Calibration(), fitted=200)
    np.testing.assert_array_equal(a[:401], b[:401])


def test_suppression_keeps_one_step_per_excursion_and_a_higher_one() -> None:
    score = np.zeros(40)
    score[[5, 6, 7, 10, 12]] = [3.0, 2.0, 4.0, 1.0, 3.5]
    score[30] = 2.0
    out = suppress(score, 12)
    assert out[5] == 3.0 and out[7] == 4.0  # 4 beats the 3 kept before it
    assert out[6] == out[10] == out[12] == 0.0
    assert out[30] == 2.0  # 23 steps after the last kept one: a new excursion


def test_suppression_ends_exactly_after_its_window() -> None:
    score = np.zeros(30)
    score[[0, 12, 13]] = [5.0, 1.0, 1.5]
    out = suppress(score, 12)
    assert out[12] == 0.0  # 12 steps later: still inside
    assert out[13] == 1.5  # 13 steps later: the window has passed


def test_the_threshold_means_fpr_and_never_less_than_minus_log10_fpr() -> None:
    scores = [np.linspace(0.0, 2.0, 1000)]
    assert calibrated_threshold(scores, 0.01, name="x") == pytest.approx(2.0)  # -log10(0.01)
    high = [np.linspace(0.0, 10.0, 1000)]
    assert calibrated_threshold(high, 0.01, name="x") == pytest.approx(high[0][-11])


def test_a_detector_that_cannot_calibrate_says_so() -> None:
    with pytest.raises(CalibrationError, match="cannot calibrate"):
        calibrated_threshold([np.full(50, np.nan)], 0.01, name="consensus")


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="history"):
        Calibration(history=0)
    with pytest.raises(ConfigError, match="min_history"):
        Calibration(history=50, min_history=100)
    with pytest.raises(ConfigError, match="tail_quantile"):
        Calibration(tail_quantile=1.0)
