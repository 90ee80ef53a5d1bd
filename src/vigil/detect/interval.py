"""A reusable base for detectors that predict a band per step and flag values outside it.

Most baselines, statistical or forecasting, answer the same question at every step: *given the
past, where should the next value lie?* They differ only in how they compute that band. This
module keeps everything after the band in one place, so every interval detector scores,
thresholds and reports evidence the same way:

- score = ``|value - expected| / half-width``; ``score > 1`` means "outside the nominal
  prediction interval", so the default threshold ``1.0`` flags at the detector's ``level``;
- ``infer_threshold`` replaces that with the ``1 - fpr`` quantile of calibration scores, for when
  the nominal level is not to be trusted (it rarely is on real data);
- ``predict`` applies ``threshold_``; NaN scores (warm-up, missing values) never flag.

A subclass implements :meth:`IntervalDetector.band` (causal: the band at step ``t`` may use
values before ``t`` only) and, if it learns from history, :meth:`IntervalDetector.fit`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Self

import numpy as np

from vigil.core import ConfigError
from vigil.detect.base import Detection, FloatArray, Scores
from vigil.stats.series import Series


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """Per-step expected value and prediction interval ``[lower, upper]`` (NaN = no opinion)."""

    expected: FloatArray
    lower: FloatArray
    upper: FloatArray

    def __post_init__(self) -> None:
        shapes = {self.expected.shape, self.lower.shape, self.upper.shape}
        if len(shapes) != 1 or self.expected.ndim != 1:
            raise ConfigError(f"band arrays must be 1-d and of equal shape, got {sorted(shapes)}")


def z_for_level(level: float) -> float:
    """The two-sided standard-normal quantile for a nominal coverage ``level`` (0.99 -> 2.576)."""
    check_level(level)
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def check_level(level: float) -> None:
    """Reject a nominal level outside (0, 1)."""
    if not 0.0 < level < 1.0:
        raise ConfigError(f"level must be in (0, 1), got {level!r}")


def check_fpr(fpr: float) -> None:
    """Reject a target false-alarm rate outside (0, 1)."""
    if not 0.0 < fpr < 1.0:
        raise ConfigError(f"fpr must be in (0, 1), got {fpr!r}")


def scores_from_band(series: Series, band: Band) -> Scores:
    """Turn a band into :class:`Scores`: distance from ``expected`` in half-widths.

    A zero-width band scores 0 when the value equals the expectation and ``inf`` otherwise;
    NaN values or NaN bands score NaN.
    """
    if band.expected.shape != series.values.shape:
        raise ConfigError(
            f"band for {series.key} has {band.expected.shape[0]} steps, series has {len(series)}"
        )
    half_width = (band.upper - band.lower) / 2.0
    deviation = np.abs(series.values - band.expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(
            half_width > 0, deviation / half_width, np.where(deviation > 0, np.inf, 0.0)
        )
    score = np.where(np.isnan(deviation) | np.isnan(half_width), np.nan, score)
    return Scores(
        series=series,
        score=score.astype(np.float64),
        expected=band.expected,
        lower=band.lower,
        upper=band.upper,
    )


def threshold_for_fpr(scores: Sequence[FloatArray], fpr: float) -> float:
    """The ``1 - fpr`` quantile of the pooled calibration scores, NaN ignored.

    Flags use ``score > threshold``, so about ``fpr`` of the calibration steps would flag.
    """
    check_fpr(fpr)
    pooled = np.concatenate([np.asarray(s, dtype=np.float64) for s in scores]) if scores else None
    if pooled is None or not np.any(~np.isnan(pooled)):
        raise ConfigError(
            "no scorable calibration steps: give longer or non-empty calibration series"
        )
    finite = np.sort(pooled[~np.isnan(pooled)])
    # The (k+1)-th largest score, k = floor(fpr * m): exactly k calibration steps lie above it
    # (fewer only when scores tie), so the threshold is always an observed score.
    allowed = math.floor(fpr * finite.size)
    return float(finite[finite.size - allowed - 1])


def flag(scores: Scores, threshold: float) -> Detection:
    """Apply ``threshold`` to ``scores`` (NaN never flags)."""
    with np.errstate(invalid="ignore"):
        flags = np.nan_to_num(scores.score, nan=-np.inf) > threshold
    return Detection(scores=scores, threshold=threshold, flags=flags)


class Thresholded:
    """The second half of the detector lifecycle, written once: ``infer_threshold`` and
    ``predict`` for any detector whose ``score`` returns :class:`Scores`.

    ``infer_threshold(calibration, fpr)`` sets ``threshold_`` to the ``1 - fpr`` quantile of the
    calibration scores (:func:`threshold_for_fpr`); ``predict`` flags scores above it. A detector
    with another rule overrides :meth:`infer_threshold_from_scores` alone.
    """

    name: str = "thresholded"
    threshold_: float

    def score(self, series: Sequence[Series]) -> list[Scores]:
        raise NotImplementedError(f"{type(self).__name__} must implement score()")

    def infer_threshold(self, calibration: Sequence[Series], fpr: float) -> Self:
        return self.infer_threshold_from_scores(self.score(calibration), fpr)

    def infer_threshold_from_scores(self, calibration: Sequence[Scores], fpr: float) -> Self:
        self.threshold_ = threshold_for_fpr([one.score for one in calibration], fpr)
        return self

    def predict(self, series: Sequence[Series]) -> list[Detection]:
        return [flag(scores, self.threshold_) for scores in self.score(series)]


def scale_floor(values: FloatArray, fraction: float = 0.05) -> FloatArray:
    """A causal lower bound for a band's scale: ``fraction`` of the expanding std of the past.

    Without it a stretch of identical values (common in quantised metrics) gives a zero-width
    band, and the first tiny change scores infinity.
    """
    import pandas as pd  # on first use: 0.4 CPU s that commands without detection skip

    past = pd.Series(values).shift(1).expanding(min_periods=2).std()
    floor = fraction * past.to_numpy(dtype=np.float64)
    return np.where(np.isnan(floor) | (floor <= 0), 1e-12, floor)


class IntervalDetector(Thresholded):
    """Shared ``fit``/``score``/``infer_threshold``/``predict`` for per-series band detectors.

    ``threshold_`` starts at ``1.0`` (the nominal prediction interval at ``level``) and is
    replaced by :meth:`infer_threshold`. Subclasses override :meth:`band`, and :meth:`fit` when
    they learn from history (``fit`` must forget earlier fits).
    """

    name: str = "interval"

    def __init__(self, *, level: float = 0.99) -> None:
        check_level(level)
        self.level = level
        self.threshold_ = 1.0

    def fit(self, history: Sequence[Series]) -> Self:
        """Per-series causal detectors learn from each series' own past in ``band``."""
        del history
        return self

    def band(self, series: Series) -> Band:
        """The causal expected value and prediction interval at ``level`` for every step."""
        raise NotImplementedError(f"{type(self).__name__} must implement band()")

    def score(self, series: Sequence[Series]) -> list[Scores]:
        return [scores_from_band(one, self.band(one)) for one in series]
