"""Performance metrics from tallies, each with a confidence interval from its sample size.

A window with 40 labels must not alert like one with 4,000, so every metric is an
:class:`Estimate`: the value, its standard error and the rows it rests on. The intervals are the
usual large-sample ones: Wilson's for proportions (accuracy, precision, recall), the delta
method over the confusion matrix for F1, Hanley and McNeil's for ROC AUC, the sample standard
deviation for means (log loss, MAE, bias, MAPE) and the delta method for RMSE.

Classifier metrics read a :class:`~vigil.profile.performance.ClassifierTally` at a score
threshold (``score >= threshold`` is predicted positive); ROC AUC is computed over the fixed
score bins, counting pairs within one bin as ties (half), which is within
``½ Σ pos_b neg_b / (P N)`` of the row-level value. The calibration error is the expected
calibration error over ``CALIBRATION_BINS`` equal-width bins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vigil.core import ConfigError
from vigil.profile.performance import ClassifierTally, FloatArray, RegressorTally

CALIBRATION_BINS = 10
CLASSIFIER_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "calibration_error",
)
REGRESSOR_METRICS = ("mae", "rmse", "mape", "bias")
HIGHER_IS_BETTER = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc"})
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimate:
    """A metric's value with its standard error and the number of rows behind it."""

    value: float
    se: float
    n: float

    def __post_init__(self) -> None:
        if not (math.isnan(self.se) or self.se >= 0) or self.n < 0:
            raise ConfigError(f"estimate needs se >= 0 and n >= 0, got {self.se!r}, {self.n!r}")

    @classmethod
    def unknown(cls, n: float = 0.0) -> Estimate:
        return cls(value=math.nan, se=math.nan, n=n)

    def interval(self, z: float = Z95) -> tuple[float, float]:
        return self.value - z * self.se, self.value + z * self.se


def proportion(successes: float, trials: float) -> Estimate:
    """A proportion with Wilson's standard error (never 0, also at 0 or n successes)."""
    if trials <= 0:
        return Estimate.unknown()
    p = successes / trials
    # Wilson's interval at 95% has half-width z * se_w; se_w stays positive at p = 0 or 1.
    z = Z95
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return Estimate(value=p, se=half / (1 + z * z / trials) / z, n=trials)


def confusion(tally: ClassifierTally, threshold: float) -> tuple[float, float, float, float]:
    """``(tp, fp, fn, tn)`` of the labelled predictions at ``threshold``."""
    cut = tally.threshold_bin(threshold)
    positives = tally.positives.astype(np.float64)
    negatives = (tally.labelled - tally.positives).astype(np.float64)
    tp, fp = float(positives[cut:].sum()), float(negatives[cut:].sum())
    fn, tn = float(positives[:cut].sum()), float(negatives[:cut].sum())
    return tp, fp, fn, tn


def f1_estimate(tp: float, fp: float, fn: float, tn: float) -> Estimate:
    """F1 = 2 tp / (2 tp + fp + fn) with the delta-method standard error over the multinomial
    confusion matrix."""
    n = tp + fp + fn + tn
    denominator = 2 * tp + fp + fn
    if n <= 0 or denominator <= 0:
        return Estimate.unknown(n)
    p = np.array([tp, fp, fn, tn]) / n
    d = 2 * p[0] + p[1] + p[2]
    gradient = np.array([2 * (p[1] + p[2]) / d**2, -2 * p[0] / d**2, -2 * p[0] / d**2, 0.0])
    covariance = np.diag(p) - np.outer(p, p)
    variance = float(gradient @ covariance @ gradient) / n
    return Estimate(value=2 * tp / denominator, se=math.sqrt(max(variance, 0.0)), n=n)


def binned_auc(positives: FloatArray, negatives: FloatArray) -> Estimate:
    """ROC AUC from positives and negatives counted in ascending score bins (ties in a bin
    count half), with Hanley and McNeil's standard error."""
    total_pos, total_neg = float(positives.sum()), float(negatives.sum())
    if total_pos <= 0 or total_neg <= 0:
        return Estimate.unknown(total_pos + total_neg)
    above = np.cumsum(positives[::-1])[::-1] - positives  # positives in higher bins
    auc = float(np.sum(negatives * (above + positives / 2.0))) / (total_pos * total_neg)
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (total_pos - 1) * (q1 - auc * auc) + (total_neg - 1) * (q2 - auc * auc)
    ) / (total_pos * total_neg)
    return Estimate(value=auc, se=math.sqrt(max(variance, 0.0)), n=total_pos + total_neg)


def calibration_error(tally: ClassifierTally) -> Estimate:
    """Expected calibration error over ``CALIBRATION_BINS`` equal-width bins; its standard error
    is that of the weighted gaps under no miscalibration (a noise level, not an exact SE)."""
    n = tally.count
    if n <= 0 or tally.bins % CALIBRATION_BINS:
        return Estimate.unknown(n)
    group = tally.bins // CALIBRATION_BINS
    counts = tally.labelled.reshape(CALIBRATION_BINS, group).sum(axis=1).astype(np.float64)
    hits = tally.positives.reshape(CALIBRATION_BINS, group).sum(axis=1)
    scores = tally.score_sum.reshape(CALIBRATION_BINS, group).sum(axis=1)
    filled = counts > 0
    weight = counts[filled] / n
    rate = hits[filled] / counts[filled]
    mean_score = scores[filled] / counts[filled]
    ece = float(np.sum(weight * np.abs(rate - mean_score)))
    noise = float(np.sqrt(np.sum(weight**2 * mean_score * (1 - mean_score) / counts[filled])))
    return Estimate(value=ece, se=noise, n=n)


def mean_estimate(total: float, square_total: float, n: float) -> Estimate:
    """The mean of a quantity from its sum and sum of squares over ``n`` rows."""
    if n <= 0:
        return Estimate.unknown()
    mean = total / n
    variance = max(square_total / n - mean * mean, 0.0) * n / max(n - 1, 1)
    return Estimate(value=mean, se=math.sqrt(variance / n), n=n)


def classifier_metrics(tally: ClassifierTally, *, threshold: float = 0.5) -> dict[str, Estimate]:
    """Every metric of :data:`CLASSIFIER_METRICS` over the tally's labelled predictions."""
    tp, fp, fn, tn = confusion(tally, threshold)
    n = tp + fp + fn + tn
    positives = tally.positives.astype(np.float64)
    negatives = (tally.labelled - tally.positives).astype(np.float64)
    return {
        "accuracy": proportion(tp + tn, n),
        "precision": proportion(tp, tp + fp),
        "recall": proportion(tp, tp + fn),
        "f1": f1_estimate(tp, fp, fn, tn),
        "roc_auc": binned_auc(positives, negatives),
        "log_loss": mean_estimate(tally.log_loss_sum, tally.log_loss_sq_sum, n),
        "calibration_error": calibration_error(tally),
    }


def regressor_metrics(tally: RegressorTally) -> dict[str, Estimate]:
    """Every metric of :data:`REGRESSOR_METRICS` (``bias`` is the mean of prediction minus
    target: positive means over-predicting)."""
    n = float(tally.count)
    if n <= 0:
        return {name: Estimate.unknown() for name in REGRESSOR_METRICS}
    mse = mean_estimate(tally.sq_error_sum, tally.quad_error_sum, n)
    rmse = math.sqrt(mse.value)
    return {
        "mae": mean_estimate(tally.abs_error_sum, tally.sq_error_sum, n),
        "rmse": Estimate(value=rmse, se=mse.se / (2 * rmse) if rmse > 0 else 0.0, n=n),
        "mape": mean_estimate(tally.ape_sum, tally.ape_sq_sum, float(tally.ape_count)),
        "bias": mean_estimate(tally.error_sum, tally.sq_error_sum, n),
    }
