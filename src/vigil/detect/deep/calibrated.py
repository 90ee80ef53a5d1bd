"""``deep-calibrated``: the deep model's forecast, judged by the calibration layer.

``deep`` decides with thresholds chosen on a validation split of its own training corpus (the
classifier's probability, a severity in band widths, a duration rule). On data sets that played
no part in training, that decision was its weak point: left one data set out at fpr 0.001, the
decision reached a mean event F1 of 0.36 where the same forecasts, calibrated per series, reach
0.45 (``BENCHMARKS.md``, ``vigil bench deep-lodo``). So this detector keeps stage 1, the global
forecaster, and replaces stage 2 and the decision:

- the step's severity ``|value - baseline| / band width`` becomes a tail probability on the
  series' own history (:mod:`vigil.detect.calibration`, in-sample over what ``fit`` saw), floored
  by a global Student-t reference on the severity read as ``|z|`` (the band spans the 0.5% to
  99.5% quantiles, :data:`Z_PER_WIDTH` standard deviations of a Gaussian): a smooth series whose
  history never strayed does not page on its first mild excursion;
- runs of repeats, exact zeros and gaps (:mod:`vigil.detect.runs`), which no forecast residual
  sees, join by Bonferroni, as in ``consensus``;
- a step alerts only when that probability is below ``alpha``; after an alert only a higher
  score alerts within ``suppress`` steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Self

import numpy as np

from vigil.core import ConfigError, SeriesKey
from vigil.detect.base import FloatArray, Scores
from vigil.detect.calibration import (
    Calibration,
    calibrate,
    calibrated_threshold,
    fitted_steps,
    fitted_until,
    suppress,
    to_score,
)
from vigil.detect.deep.detector import DeepDetector, DeepOutput
from vigil.detect.deep.model import DeepModel
from vigil.detect.interval import Thresholded
from vigil.detect.runs import event_runs
from vigil.stats.series import Series

GENERATED_WEIGHTS = "deep-generated.npz"
"""The default weights: trained on the generated corpus alone (``vigil train deep --simulated 0
--minute 0 --generated 240 --support``), so no development data set is in them."""
Z_PER_WIDTH = 2 * 2.5758
"""Standard deviations in a Gaussian band from its 0.5% to its 99.5% quantile (stage 1's
pinball targets)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeepCalibration:
    """How forecasts become alerts; the defaults are ``consensus``'s, chosen leave one data set
    out, not tuned for this detector."""

    calibration: Calibration = field(default_factory=Calibration)
    runs_calibration: Calibration = field(default_factory=lambda: Calibration(min_history=20))
    global_df: float = 10.0
    alpha: float = 3e-4
    suppress: int = 12

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"deep-calibrated alpha must be in (0, 1), got {self.alpha!r}")
        if self.global_df <= 0:
            raise ConfigError(f"deep-calibrated global_df must be > 0, got {self.global_df!r}")
        if self.suppress < 0:
            raise ConfigError(f"deep-calibrated suppress must be >= 0, got {self.suppress!r}")


class CalibratedDeepDetector(Thresholded):
    """See the module docstring. ``fit`` remembers, per series, up to when its history reaches:
    those steps are calibrated in-sample when scored. Without ``model``, the shipped
    :data:`GENERATED_WEIGHTS` load on first use (constructing one reads nothing)."""

    name = "deep-calibrated"

    def __init__(
        self, model: DeepModel | None = None, *, settings: DeepCalibration | None = None
    ) -> None:
        self.deep = DeepDetector(model, weights=GENERATED_WEIGHTS)
        self.settings = settings or DeepCalibration()
        self.threshold_ = 0.0  # the detector's own decision: every step below alpha alerts
        self.fitted_until_: dict[SeriesKey, np.datetime64] = {}

    def fit(self, history: Sequence[Series]) -> Self:
        self.fitted_until_ = fitted_until(history)
        return self

    def probability(self, series: Series, output: DeepOutput) -> FloatArray:
        """Per step, the combined tail probability of the forecast residual and the runs."""
        s = self.settings
        fitted = fitted_steps(self.fitted_until_, series)
        # scipy.special, imported here: scipy.stats costs every command 0.8 CPU s.
        from scipy import special

        own = calibrate(output.severity, s.calibration, fitted=fitted)
        residual = np.fmax(own, 2.0 * special.stdtr(s.global_df, -Z_PER_WIDTH * output.severity))
        present = ~np.isnan(series.values)
        evidence = [residual]
        for markov in event_runs(series).values():
            surprise = np.where(present, -np.log10(np.maximum(markov, 1e-300)), np.nan)
            learned = calibrate(surprise, s.runs_calibration, fitted=fitted)
            evidence.append(np.fmax(markov, np.nan_to_num(learned, nan=1.0)))
        stacked = np.vstack(evidence)
        smallest = np.min(np.where(np.isnan(stacked), np.inf, stacked), axis=0)
        combined = np.minimum(smallest * len(evidence), 1.0)
        out: FloatArray = np.where(np.isnan(stacked).all(axis=0), np.nan, combined)
        return out

    def score(self, series: Sequence[Series]) -> list[Scores]:
        return [
            self._score_one(one, output)
            for one, output in zip(series, self.deep.explain_all(series), strict=True)
        ]

    def infer_threshold_from_scores(self, calibration: Sequence[Scores], fpr: float) -> Self:
        """At most ``fpr`` of the calibration steps above the threshold, and never a step whose
        tail probability is above ``fpr`` (see :func:`calibrated_threshold`)."""
        scores = [one.score for one in calibration]
        self.threshold_ = calibrated_threshold(scores, fpr, name=self.name)
        return self

    def _score_one(self, series: Series, output: DeepOutput) -> Scores:
        combined = self.probability(series, output)
        score = to_score(combined)
        quiet = combined >= self.settings.alpha
        score = np.where(np.isnan(score), np.nan, np.where(quiet, 0.0, score))
        score[np.isnan(series.values)] = np.nan  # a missing value has no score; its gap does
        return Scores(
            series=series,
            score=suppress(score, self.settings.suppress),
            expected=output.expected,
            lower=output.lower,
            upper=output.upper,
        )
