"""The Detector protocol's promises as checks any detector can be run through (after river's
``checks``): the product's tests run them over :data:`~vigil.detect.DETECTORS`, the lab's over its
baselines, and a third-party detector's tests can run them too.

Each check builds fresh detectors from ``factory`` and raises ``AssertionError`` on a broken
promise. ``capped`` marks a detector with a decision of its own, whose fpr caps its alarm rate
without adding flags (see :class:`~vigil.detect.base.Detector`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vigil.core import SeriesKey
from vigil.detect.base import Detector
from vigil.stats.series import Series

Factory = Callable[[], Detector]


def hourly(values: np.ndarray, name: str = "s") -> Series:
    """An hourly series of ``values`` starting on a Monday."""
    start = np.datetime64("2024-03-04T00:00:00")
    stamps = start + np.arange(len(values)) * np.timedelta64(3600, "s")
    key = SeriesKey(model="m", version="1", family="f", column=name, statistic="mean")
    return Series(key=key, timestamps=stamps, values=values.astype(np.float64))


def seasonal_noise(n: int, seed: int) -> np.ndarray:
    """A daily sine around 50 with unit Gaussian noise."""
    rng = np.random.default_rng(seed)
    hours = np.arange(n)
    return 50 + 5 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 1, n)


def check_shapes(factory: Factory) -> None:
    """One :class:`Scores` per input series, in order, each as long as its series."""
    detector = factory()
    assert isinstance(detector, Detector)
    series = [hourly(seasonal_noise(24 * 28, 1), "a"), hourly(seasonal_noise(24 * 30, 2), "b")]
    detector.fit([s.slice(0, 24 * 14) for s in series])
    scores = detector.score(series)
    assert [len(s.score) for s in scores] == [len(s) for s in series]
    assert [s.series.key for s in scores] == [s.key for s in series]
    detections = detector.predict(series)
    assert [len(d.flags) for d in detections] == [len(s) for s in series]


def check_causal(factory: Factory) -> None:
    """Changing the future leaves every earlier score, expectation and band unchanged."""
    values = seasonal_noise(24 * 35, 3)
    cut = 24 * 28
    changed = values.copy()
    changed[cut + 1 :] += np.random.default_rng(4).normal(0, 50, len(values) - cut - 1)
    first = factory().fit([hourly(values[: 24 * 14])]).score([hourly(values)])[0]
    second = factory().fit([hourly(values[: 24 * 14])]).score([hourly(changed)])[0]
    for field in ("score", "expected", "lower", "upper"):
        np.testing.assert_array_equal(
            getattr(first, field)[: cut + 1], getattr(second, field)[: cut + 1], err_msg=field
        )


def check_prefix(factory: Factory) -> None:
    """A series cut short scores exactly as the whole series' first steps do, with the same fit:
    scores computed once on a whole series serve any prefix of it (the pipeline's watch
    thresholds on its calibration, the series before the period, this way). The expected value
    and band agree to float32 rounding (a neural forecast batches the steps differently)."""
    values = seasonal_noise(24 * 35, 9)
    values[np.arange(24 * 3, 24 * 35, 29)] = np.nan
    whole = hourly(values)
    for cut in (24 * 2 + 5, 24 * 14, 24 * 30 + 7):
        prefix = whole.slice(0, cut)
        detector = factory().fit([prefix])
        short, long = detector.score([prefix])[0], detector.score([whole])[0]
        np.testing.assert_array_equal(short.score, long.score[:cut], err_msg=f"score at {cut}")
        for field in ("expected", "lower", "upper"):
            np.testing.assert_allclose(
                getattr(short, field),
                getattr(long, field)[:cut],
                rtol=1e-6,
                atol=1e-6 * float(np.nanmax(np.abs(values))),
                err_msg=f"{field} at {cut}",
            )


def check_missing_values(factory: Factory) -> None:
    """Missing values score NaN and never flag; the steps around them still score."""
    values = seasonal_noise(24 * 28, 5)
    holes = np.arange(24 * 20, 24 * 28, 17)
    values[holes] = np.nan
    detector = factory().fit([hourly(values[: 24 * 14])])
    detection = detector.predict([hourly(values)])[0]
    assert np.all(np.isnan(detection.scores.score[holes]))
    assert not detection.flags[holes].any()
    later = np.setdiff1d(np.arange(24 * 21, 24 * 28), holes)
    assert np.isfinite(detection.scores.score[later]).mean() > 0.9


def check_threshold_rate(factory: Factory, fpr: float, *, capped: bool = False) -> None:
    """``infer_threshold(calibration, fpr)`` flags about ``fpr`` of the calibration steps, and
    ``infer_threshold_from_scores`` on their scores sets the same threshold."""
    calibration = [hourly(seasonal_noise(24 * 42, seed), str(seed)) for seed in (6, 7)]
    detector = factory().fit(calibration).infer_threshold(calibration, fpr)
    scored = factory().fit(calibration)
    scored.infer_threshold_from_scores(scored.score(calibration), fpr)
    assert getattr(scored, "threshold_", None) == getattr(detector, "threshold_", None)
    detections = detector.predict(calibration)
    scores = np.concatenate([d.scores.score for d in detections])
    flags = np.concatenate([d.flags for d in detections])
    scorable = scores[~np.isnan(scores)]
    # The threshold is an observed calibration score: at most fpr of the steps lie above it,
    # and fewer only by rounding fpr·m down or by ties (at most a step or two of 1/m), or,
    # for a capped detector, because its own decision alerts on fewer.
    floor = 0.0 if capped else fpr - 2.0 / scorable.size
    assert floor <= flags.sum() / scorable.size <= fpr
    assert {d.threshold for d in detections} == {detections[0].threshold}
    assert flags.sum() == int(np.sum(scorable > detections[0].threshold))


def check_evidence(factory: Factory, name: str) -> None:
    """A flagged spike becomes an :class:`Anomaly` with its score, direction and severity."""
    values = seasonal_noise(24 * 35, 8)
    values[24 * 32] += 60.0
    detector = factory().fit([hourly(values[: 24 * 14])])
    detector.infer_threshold([hourly(values[: 24 * 30])], 0.01)
    detection = detector.predict([hourly(values)])[0]
    assert detection.flags[24 * 32]
    found = {a.timestamp: a for a in detection.anomalies(name)}
    spike = next(a for a in found.values() if a.value == values[24 * 32])
    assert spike.score == detection.scores.score[24 * 32]
    if not np.isnan(spike.expected):
        assert spike.direction == "up"
        width = spike.upper - spike.lower
        assert np.isclose(spike.severity, abs(spike.value - spike.expected) / width, rtol=1e-6)
