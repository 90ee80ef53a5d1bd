"""DeepAR: trained once across series, causal rolling bands, clear errors when unusable."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from vigil.core import MissingExtraError, NotFittedError, SeriesKey
from vigil.lab.forecasting import DeepARDetector
from vigil.lab.forecasting.deepar import frequency_of
from vigil.stats.series import Series


def hourly(values: np.ndarray, name: str, step_s: int = 3600) -> Series:
    stamps = np.datetime64("2024-03-04T00:00:00") + np.arange(len(values)) * np.timedelta64(
        step_s, "s"
    )
    key = SeriesKey(model="m", version="1", family="f", column=name, statistic="mean")
    return Series(key=key, timestamps=stamps, values=values.astype(np.float64))


def daily_noise(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Centred near zero: DeepAR scales by the mean absolute value, so a level of 50 would leave
    # the noise a 2% detail that a briefly trained network cannot resolve.
    return 5 * np.sin(2 * np.pi * np.arange(n) / 24) + rng.normal(0, 1, n)


def small() -> DeepARDetector:
    return DeepARDetector(level=0.99, epochs=3, batches_per_epoch=20, num_samples=50)


@pytest.mark.slow
def test_one_training_serves_every_series_causally_and_spikes_stand_out() -> None:
    n, cut, spike = 24 * 16, 24 * 12, 24 * 10
    values = [daily_noise(n, seed) for seed in range(3)]
    values[0][spike] += 40.0  # 40 noise sds
    detector = small().fit([hourly(v[: 24 * 7], str(i)) for i, v in enumerate(values)])
    assert list(detector.predictors_) == ["1h"]
    first = detector.score([hourly(v, str(i)) for i, v in enumerate(values)])
    changed = values[0].copy()
    changed[cut:] += 100.0
    again = detector.score([hourly(changed, "0")])[0]
    for field in ("expected", "lower", "upper"):
        np.testing.assert_array_equal(
            getattr(first[0], field)[: cut + 1], getattr(again, field)[: cut + 1], err_msg=field
        )
    assert first[0].score[spike] > 1.0
    scorable = np.concatenate([s.score[24 * 7 :] for s in first[1:]])
    # Clean series: most steps inside the 99% band even for a briefly trained network.
    assert np.mean(scorable[np.isfinite(scorable)] <= 1.0) > 0.9


def test_scoring_before_fit_or_at_an_unseen_step_says_what_to_do() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        small().score([hourly(daily_noise(100, 1), "a")])
    detector = small()
    detector.predictors_ = {"1h": object()}
    detector.short_steps_ = {"24h"}
    with pytest.raises(NotFittedError, match="5min"):
        detector.score([hourly(daily_noise(100, 1), "a", step_s=300)])
    # A step seen in the history but too short to train on: no opinion, not an error.
    daily = detector.score([hourly(daily_noise(100, 1), "d", step_s=86_400)])[0]
    assert np.isnan(daily.score).all()


def test_frequency_names_the_median_step() -> None:
    assert frequency_of(hourly(np.zeros(5), "a").timestamps) == "1h"
    assert frequency_of(hourly(np.zeros(5), "a", step_s=300).timestamps) == "5min"
    assert frequency_of(hourly(np.zeros(5), "a", step_s=90).timestamps) == "90s"


def test_missing_gluonts_names_the_bench_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gluonts.torch", None)
    with pytest.raises(MissingExtraError, match=r"vigil-ml\[bench\]"):
        small().fit([hourly(daily_noise(200, 1), "a")])
