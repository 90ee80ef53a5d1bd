"""``deep-calibrated``: deep's forecast behind the calibration layer, runs and an alpha floor."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.core import ConfigError, SeriesKey
from vigil.detect import DETECTORS, make_detector
from vigil.detect.deep import CalibratedDeepDetector, DeepCalibration
from vigil.stats.series import Series

SPIKE = 400


def hourly(values: np.ndarray) -> Series:
    stamps = np.datetime64("2024-03-04T00:00:00") + np.arange(len(values)) * np.timedelta64(
        3600, "s"
    )
    key = SeriesKey(model="m", version="1", family="f", column="c", statistic="mean")
    return Series(key=key, timestamps=stamps, values=values.astype(np.float64))


def daily(n: int = 24 * 25, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hours = np.arange(n)
    return 50.0 * (1 + 0.1 * np.sin(2 * np.pi * hours / 24)) + rng.normal(0.0, 0.5, n)


def fitted(values: np.ndarray, settings: DeepCalibration | None = None) -> tuple:  # type: ignore[type-arg]
    series = hourly(values)
    detector = CalibratedDeepDetector(settings=settings).fit([series.slice(0, 240)])
    return detector, series


def test_registered_and_reads_no_weights_until_used() -> None:
    detector = make_detector("deep-calibrated")
    assert isinstance(detector, CalibratedDeepDetector)
    assert DETECTORS["deep-calibrated"] is CalibratedDeepDetector
    assert detector.deep._model is None  # the weights load on first use
    # Its weights hold no development data set: every benchmark set is unseen by them.
    provenance = detector.deep.model.provenance
    assert "corpus: generated broad seed 1 x240;" in provenance
    assert "support True" in provenance and detector.deep.model.spec.support


def test_a_spike_alerts_and_ordinary_steps_do_not() -> None:
    values = daily()
    values[SPIKE] += 40.0  # 80 noise sigmas, 4 daily amplitudes
    detector, series = fitted(values)
    scores = detector.score([series])[0]
    alerts = np.flatnonzero(np.nan_to_num(scores.score) > 0)
    assert SPIKE in alerts
    assert len(alerts) <= 3  # the spike, and at most its echo in the next steps
    assert scores.lower[SPIKE] < scores.expected[SPIKE] < scores.upper[SPIKE] < values[SPIKE]


def test_alpha_is_the_floor_on_both_sides_of_the_spikes_probability() -> None:
    values = daily()
    values[SPIKE] += 15.0
    detector, series = fitted(values)
    output = detector.deep.explain(series)
    p = float(detector.probability(series, output)[SPIKE])
    assert 0.0 < p < 1e-3
    above, _ = fitted(values, DeepCalibration(alpha=p * 1.01))
    below, _ = fitted(values, DeepCalibration(alpha=p * 0.99))
    assert above.score([series])[0].score[SPIKE] == pytest.approx(-np.log10(p))
    assert below.score([series])[0].score[SPIKE] == 0.0


def test_a_stuck_value_alerts_through_the_runs_evidence() -> None:
    values = daily()
    values[SPIKE : SPIKE + 30] = values[SPIKE - 1]  # a value repeated for 30 hours
    detector, series = fitted(values)
    score = detector.score([series])[0].score
    assert np.nan_to_num(score[SPIKE : SPIKE + 30]).max() > 0


def test_missing_values_score_nan() -> None:
    values = daily()
    values[SPIKE] = np.nan
    detector, series = fitted(values)
    assert np.isnan(detector.score([series])[0].score[SPIKE])


def test_bad_settings_are_refused_with_the_value() -> None:
    with pytest.raises(ConfigError, match=r"1\.5"):
        DeepCalibration(alpha=1.5)
    with pytest.raises(ConfigError, match="-1"):
        DeepCalibration(suppress=-1)
    with pytest.raises(ConfigError, match="0"):
        DeepCalibration(global_df=0.0)
