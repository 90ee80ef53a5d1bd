"""Every registered detector (and the shipped fake) against the Detector protocol's promises."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from vigil.core import SeriesKey
from vigil.detect import DETECTORS, Detector, ThresholdDetector
from vigil.stats.series import Series

STATISTICAL = {"zscore", "mad", "seasonal", "same-hour"}
# Detectors with a decision of their own: the fpr caps their alarm rate and adds no flags.
CAPPED = {"deep"}
FACTORIES: dict[str, Callable[[], Detector]] = {**DETECTORS, "threshold-fake": ThresholdDetector}
CASES = [
    pytest.param(
        name, id=name, marks=() if name in STATISTICAL | {"threshold-fake"} else pytest.mark.slow
    )
    for name in FACTORIES
]


def hourly(values: np.ndarray, name: str = "s") -> Series:
    start = np.datetime64("2024-03-04T00:00:00")
    stamps = start + np.arange(len(values)) * np.timedelta64(3600, "s")
    key = SeriesKey(model="m", version="1", family="f", column=name, statistic="mean")
    return Series(key=key, timestamps=stamps, values=values.astype(np.float64))


def seasonal_noise(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hours = np.arange(n)
    return 50 + 5 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 1, n)


@pytest.mark.parametrize("name", CASES)
def test_shapes_one_scores_per_series(name: str) -> None:
    detector = FACTORIES[name]()
    assert isinstance(detector, Detector)
    series = [hourly(seasonal_noise(24 * 28, 1), "a"), hourly(seasonal_noise(24 * 30, 2), "b")]
    detector.fit([s.slice(0, 24 * 14) for s in series])
    scores = detector.score(series)
    assert [len(s.score) for s in scores] == [len(s) for s in series]
    assert [s.series.key for s in scores] == [s.key for s in series]
    detections = detector.predict(series)
    assert [len(d.flags) for d in detections] == [len(s) for s in series]


@pytest.mark.parametrize("name", CASES)
def test_scores_are_causal(name: str) -> None:
    values = seasonal_noise(24 * 35, 3)
    cut = 24 * 28
    changed = values.copy()
    changed[cut + 1 :] += np.random.default_rng(4).normal(0, 50, len(values) - cut - 1)
    first = FACTORIES[name]().fit([hourly(values[: 24 * 14])]).score([hourly(values)])[0]
    second = FACTORIES[name]().fit([hourly(values[: 24 * 14])]).score([hourly(changed)])[0]
    for field in ("score", "expected", "lower", "upper"):
        np.testing.assert_array_equal(
            getattr(first, field)[: cut + 1], getattr(second, field)[: cut + 1], err_msg=field
        )


@pytest.mark.parametrize("name", CASES)
def test_missing_values_score_nan_and_never_flag(name: str) -> None:
    values = seasonal_noise(24 * 28, 5)
    holes = np.arange(24 * 20, 24 * 28, 17)
    values[holes] = np.nan
    detector = FACTORIES[name]().fit([hourly(values[: 24 * 14])])
    detection = detector.predict([hourly(values)])[0]
    assert np.all(np.isnan(detection.scores.score[holes]))
    assert not detection.flags[holes].any()
    later = np.setdiff1d(np.arange(24 * 21, 24 * 28), holes)
    assert np.isfinite(detection.scores.score[later]).mean() > 0.9


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("fpr", [0.01, 0.05])
def test_infer_threshold_hits_target_rate_on_calibration(name: str, fpr: float) -> None:
    calibration = [hourly(seasonal_noise(24 * 42, seed), str(seed)) for seed in (6, 7)]
    detector = FACTORIES[name]().fit(calibration).infer_threshold(calibration, fpr)
    detections = detector.predict(calibration)
    scores = np.concatenate([d.scores.score for d in detections])
    flags = np.concatenate([d.flags for d in detections])
    scorable = scores[~np.isnan(scores)]
    # The threshold is an observed calibration score: at most fpr of the steps lie above it,
    # and fewer only by rounding fpr·m down or by ties (at most a step or two of 1/m), or,
    # for a capped detector, because its own decision alerts on fewer.
    floor = 0.0 if name in CAPPED else fpr - 2.0 / scorable.size
    assert floor <= flags.sum() / scorable.size <= fpr
    assert {d.threshold for d in detections} == {detections[0].threshold}
    assert flags.sum() == int(np.sum(scorable > detections[0].threshold))


@pytest.mark.parametrize("name", CASES)
def test_anomalies_carry_evidence(name: str) -> None:
    values = seasonal_noise(24 * 35, 8)
    values[24 * 32] += 60.0
    detector = FACTORIES[name]().fit([hourly(values[: 24 * 14])])
    detector.infer_threshold([hourly(values[: 24 * 30])], 0.01)
    detection = detector.predict([hourly(values)])[0]
    assert detection.flags[24 * 32]
    found = {a.timestamp: a for a in detection.anomalies(name)}
    spike = next(a for a in found.values() if a.value == values[24 * 32])
    assert spike.score == detection.scores.score[24 * 32]
    if not np.isnan(spike.expected):
        assert spike.direction == "up"
        width = spike.upper - spike.lower
        assert spike.severity == pytest.approx(abs(spike.value - spike.expected) / width)
