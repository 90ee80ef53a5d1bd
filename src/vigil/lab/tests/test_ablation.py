"""The ablated deep detector: the product's decision when nothing is switched off, and the
budget-filling encoding for comparison."""

from __future__ import annotations

import numpy as np

from vigil.core import SeriesKey
from vigil.detect.deep import DeepDetector
from vigil.lab.ablation import AblatedDeepDetector
from vigil.stats.series import Series


def hourly(values: np.ndarray) -> Series:
    stamps = np.datetime64("2024-03-04T00:00:00") + np.arange(len(values)) * np.timedelta64(
        3600, "s"
    )
    key = SeriesKey(model="m", version="1", family="f", column="c", statistic="mean")
    return Series(key=key, timestamps=stamps, values=values.astype(np.float64))


def daily_cycle(n: int, seed: int, level: float = 50.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hours = np.arange(n)
    return level * (1 + 0.1 * np.sin(2 * np.pi * hours / 24) + 0.01 * rng.normal(size=n))


def test_nothing_switched_off_is_the_product_detector() -> None:
    values = daily_cycle(24 * 21, 7)
    values[24 * 18 + 5] *= 3.0
    series = hourly(values)
    product = DeepDetector().score([series])[0].score
    ablated = AblatedDeepDetector().score([series])[0].score
    np.testing.assert_array_equal(product, ablated)
    assert np.nanmax(product) > 0  # the spike alerts, so the comparison is not all zeros


def test_without_filters_more_steps_pass() -> None:
    values = daily_cycle(24 * 21, 3)
    values[24 * 18 + 5] *= 3.0
    series = hourly(values)
    full = AblatedDeepDetector().explain(series).passed.sum()
    bare = AblatedDeepDetector(use_filters=False, use_classifier=False).explain(series)
    outside = (values < bare.lower) | (values > bare.upper)
    np.testing.assert_array_equal(bare.passed, outside & ~np.isnan(bare.probability))
    assert bare.passed[24 * 18 + 5]
    assert bare.passed.sum() >= full


def test_alert_only_scores_flag_only_steps_outside_the_band() -> None:
    values = daily_cycle(24 * 21, 7)
    values[24 * 18 + 5] *= 3.0
    series = hourly(values)
    filling = AblatedDeepDetector(alert_only=False).score([series])[0]
    detector = DeepDetector()  # the product scores only its alerts
    scores = detector.score([series])[0]
    alerts = filling.score > 1.5
    assert alerts.any()
    np.testing.assert_array_equal(scores.score > 0, alerts)
    detector.infer_threshold([series], 0.05)  # asks for more flags than the decision makes
    flags = detector.predict([series])[0].flags
    outside = (values < filling.lower) | (values > filling.upper)
    np.testing.assert_array_equal(flags, alerts)  # a cap: nothing added inside the band
    assert np.all(outside[flags])
    filled = AblatedDeepDetector(alert_only=False).infer_threshold([series], 0.05)
    assert filled.predict([series])[0].flags.sum() > flags.sum()
