"""Performance before labels arrive: confidence-based estimation for a calibrated classifier.

After NannyML's CBPE. A calibrated score *is* the probability of the positive class, so a
window's confusion matrix can be expected from its scores alone: a prediction with score ``p``
is a true positive with probability ``p`` when predicted positive, a false positive with
``1 - p``, and so on. Summed over the window's score bins this gives the expected confusion
matrix, hence expected accuracy, precision, recall and F1; the expected positives and
negatives per bin give the expected ROC AUC.

Scores are not always calibrated, so :func:`fit_calibration` first asks the labelled reference
whether they are (Hosmer and Lemeshow's test over ten score groups, :func:`calibration_p_value`).
When they are, the scores are used as they are: a refit would only add the noise of a week of
labels to every estimate (NannyML, too, calibrates only when it helps). When they are not, it
learns each score bin's rate of positives, made monotone by pool-adjacent-violators (isotonic
regression over the bins, weighted by their labelled counts), and applies it to later scores.

What it cannot see: a *concept shift*. When the relation between inputs and labels changes
while the inputs and the scores keep their distributions, the expected confusion matrix does
not move; only realised performance, from labels, shows it. Realised performance replaces the
estimate wherever labels have arrived, and is the check on the estimate.

The estimate's standard error is that of the realised metric at the same number of
predictions: the spread the realised value will have around it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from vigil.core import ConfigError
from vigil.profile.performance import ClassifierTally, FloatArray
from vigil.stats.performance import Estimate, binned_auc, f1_estimate, proportion

ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
MIN_REFERENCE_LABELS = 100
CALIBRATION_GROUPS = 10
CALIBRATED_ALPHA = 0.01
"""Scores are refit when the reference's calibration test has a p-value at most this."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """``probability[b]``: the chance that a prediction in score bin ``b`` is positive."""

    probability: FloatArray
    labels: int
    method: str = "isotonic"
    """``"as-is"`` (the scores were calibrated on the reference) or ``"isotonic"``."""

    def __post_init__(self) -> None:
        if self.probability.ndim != 1 or not bool(
            np.all((self.probability >= 0) & (self.probability <= 1))
        ):
            raise ConfigError("calibration probabilities must be a 1-d array in [0, 1]")


def fit_calibration(reference: ClassifierTally, *, alpha: float = CALIBRATED_ALPHA) -> Calibration:
    """The chance of a positive per score bin on the reference's labelled predictions.

    Calibrated scores (:func:`calibration_p_value` above ``alpha``) are kept: a bin's chance
    is its labelled predictions' mean score (its midpoint when none was labelled). Otherwise
    the positive rate per bin, made monotone non-decreasing (isotonic); bins without labels
    take the score bin's midpoint as rate until a labelled neighbour says otherwise (they are
    pooled with them by the monotone fit)."""
    if reference.count < MIN_REFERENCE_LABELS:
        raise ConfigError(
            f"label-free estimation needs a labelled reference of at least "
            f"{MIN_REFERENCE_LABELS} predictions, got {reference.count}; wait for labels or "
            "name a labelled reference"
        )
    counts = reference.labelled.astype(np.float64)
    edges = reference.edges
    midpoints = (edges[:-1] + edges[1:]) / 2
    if calibration_p_value(reference) > alpha:
        mean_score = np.divide(reference.score_sum, counts, out=midpoints.copy(), where=counts > 0)
        return Calibration(
            probability=np.clip(mean_score, 0.0, 1.0), labels=reference.count, method="as-is"
        )
    rate = np.divide(reference.positives, counts, out=np.zeros_like(counts), where=counts > 0)
    # An empty bin takes its midpoint with a tiny weight: the fit then keeps it between its
    # labelled neighbours, and a calibrated score stays itself where nothing was seen.
    weights = np.where(counts > 0, counts, 1e-6)
    values = np.where(counts > 0, rate, midpoints)
    return Calibration(probability=isotonic(values, weights), labels=reference.count)


def calibration_p_value(reference: ClassifierTally, *, groups: int = CALIBRATION_GROUPS) -> float:
    """Hosmer and Lemeshow's test that the scores are the chance of a positive: over ``groups``
    equal-width score groups, ``Σ (O - E)² / (E (1 - E / n))`` against χ² with one degree of
    freedom per group (the scores were not fitted on these labels). Groups whose expected
    positives are 0 or all of them say nothing and are left out; 1.0 when none is left."""
    if reference.bins % groups:
        raise ConfigError(f"{reference.bins} score bins do not split into {groups} groups")
    size = reference.bins // groups
    n = reference.labelled.reshape(groups, size).sum(axis=1).astype(np.float64)
    observed = reference.positives.reshape(groups, size).sum(axis=1).astype(np.float64)
    expected = reference.score_sum.reshape(groups, size).sum(axis=1)
    keep = (expected > 0) & (expected < n)
    if not keep.any():
        return 1.0
    o, e, m = observed[keep], expected[keep], n[keep]
    statistic = float(np.sum((o - e) ** 2 / (e * (1.0 - e / m))))
    return float(special.chdtrc(int(keep.sum()), statistic))


def isotonic(values: FloatArray, weights: FloatArray) -> FloatArray:
    """Pool-adjacent-violators: the non-decreasing sequence closest to ``values`` in weighted
    least squares."""
    means: list[float] = []
    sizes: list[float] = []
    lengths: list[int] = []
    for value, weight in zip(values.tolist(), weights.tolist(), strict=True):
        means.append(value)
        sizes.append(weight)
        lengths.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            total = sizes[-2] + sizes[-1]
            merged = (means[-2] * sizes[-2] + means[-1] * sizes[-1]) / total
            length = lengths[-2] + lengths[-1]
            del means[-1], sizes[-1], lengths[-1]
            means[-1], sizes[-1], lengths[-1] = merged, total, length
    fitted: FloatArray = np.repeat(np.array(means), lengths)
    return np.clip(fitted, 0.0, 1.0)


def estimate_classifier(
    window: ClassifierTally, calibration: Calibration, *, threshold: float = 0.5
) -> dict[str, Estimate]:
    """Expected metrics of the window's predictions (labelled or not), from their scores."""
    if calibration.probability.shape != (window.bins,):
        raise ConfigError(
            f"calibration has {calibration.probability.size} bins, the window {window.bins}"
        )
    counts = window.predicted.astype(np.float64)
    n = float(counts.sum())
    if n <= 0:
        return {name: Estimate.unknown() for name in ESTIMATED_METRICS}
    cut = window.threshold_bin(threshold)
    positives = counts * calibration.probability
    negatives = counts - positives
    tp, fp = float(positives[cut:].sum()), float(negatives[cut:].sum())
    fn, tn = float(positives[:cut].sum()), float(negatives[:cut].sum())
    auc = binned_auc(positives, negatives)
    return {
        "accuracy": proportion(tp + tn, n),
        "precision": proportion(tp, tp + fp),
        "recall": proportion(tp, tp + fn),
        "f1": f1_estimate(tp, fp, fn, tn),
        "roc_auc": Estimate(value=auc.value, se=auc.se, n=n) if math.isfinite(auc.value) else auc,
    }
