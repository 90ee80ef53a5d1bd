"""Performance from tallies: equal to the row-level metrics, intervals that cover, and
label-free estimation that tracks realised performance except under concept shift."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from vigil.core import ConfigError
from vigil.profile.performance import ClassifierTally, RegressorTally
from vigil.stats.estimation import (
    calibration_p_value,
    estimate_classifier,
    fit_calibration,
    isotonic,
)
from vigil.stats.performance import classifier_metrics, proportion, regressor_metrics


def _calibrated(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    scores = 1.0 / (1.0 + np.exp(-rng.normal(0.0, 1.8, n)))
    return scores, (rng.random(n) < scores).astype(np.float64)


def _tally(scores: np.ndarray, labels: np.ndarray) -> ClassifierTally:
    return ClassifierTally.of_predictions(scores).merge(ClassifierTally.of_labels(scores, labels))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 300), st.integers(0, 300), st.integers(0, 2**32 - 1))
def test_tally_merge_equals_one_pass(n_a: int, n_b: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores, labels = _calibrated(rng, n_a + n_b)
    whole = _tally(scores, labels)
    parts = _tally(scores[:n_a], labels[:n_a]).merge(_tally(scores[n_a:], labels[n_a:]))
    assert parts == whole
    assert ClassifierTally.from_bytes(whole.to_bytes()) == whole
    errors = rng.normal(0, 2, n_a + n_b)
    targets = rng.normal(5, 3, n_a + n_b)
    one = RegressorTally.of_labels(targets + errors, targets)
    two = RegressorTally.of_labels(targets[:n_a] + errors[:n_a], targets[:n_a]).merge(
        RegressorTally.of_labels(targets[n_a:] + errors[n_a:], targets[n_a:])
    )
    assert two.count == one.count and two.ape_count == one.ape_count
    assert two.abs_error_sum == pytest.approx(one.abs_error_sum, rel=1e-9, abs=1e-9)
    assert RegressorTally.from_bytes(one.to_bytes()) == one


def test_classifier_metrics_equal_the_row_level_ones() -> None:
    rng = np.random.default_rng(1)
    scores, labels = _calibrated(rng, 5000)
    metrics = classifier_metrics(_tally(scores, labels))
    predicted = scores >= 0.5
    tp = float(np.sum(predicted & (labels == 1)))
    fp = float(np.sum(predicted & (labels == 0)))
    fn = float(np.sum(~predicted & (labels == 1)))
    assert metrics["accuracy"].value == pytest.approx(np.mean(predicted == (labels == 1)))
    assert metrics["precision"].value == pytest.approx(tp / (tp + fp))
    assert metrics["recall"].value == pytest.approx(tp / (tp + fn))
    assert metrics["f1"].value == pytest.approx(2 * tp / (2 * tp + fp + fn))
    p = np.clip(scores, 1e-15, 1 - 1e-15)
    log_loss = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    assert metrics["log_loss"].value == pytest.approx(log_loss, rel=1e-9)
    # Row-level AUC (Mann-Whitney U); the binned one is within half the within-bin pairs.
    u = scipy_stats.mannwhitneyu(scores[labels == 1], scores[labels == 0]).statistic
    exact_auc = u / (np.sum(labels == 1) * np.sum(labels == 0))
    tally = ClassifierTally.of_labels(scores, labels)
    pos = tally.positives.astype(float)
    neg = (tally.labelled - tally.positives).astype(float)
    tie_bound = 0.5 * np.sum(pos * neg) / (pos.sum() * neg.sum())
    assert abs(metrics["roc_auc"].value - exact_auc) <= tie_bound
    assert metrics["calibration_error"].value < 0.03  # calibrated by construction


def test_intervals_shrink_with_the_square_root_of_n_and_cover() -> None:
    forty, four_thousand = proportion(30, 40), proportion(3000, 4000)
    assert forty.se / four_thousand.se == pytest.approx(10.0, rel=0.05)
    rng = np.random.default_rng(2)
    covered = 0
    windows = 400
    for _ in range(windows):
        scores, labels = _calibrated(rng, 200)
        estimate = classifier_metrics(_tally(scores, labels))["accuracy"]
        low, high = estimate.interval()
        covered += low <= 0.7637 <= high  # the population accuracy of _calibrated
    # 95% intervals: the covered count is Binomial(400, 0.95), sd 4.4.
    assert 0.95 * windows - 4 * 4.4 <= covered <= 0.95 * windows + 4 * 4.4


def test_population_accuracy_of_the_test_stream() -> None:
    scores, _ = _calibrated(np.random.default_rng(3), 400_000)
    assert float(np.mean(np.maximum(scores, 1 - scores))) == pytest.approx(0.7637, abs=0.002)


def test_regressor_metrics_equal_numpy() -> None:
    rng = np.random.default_rng(4)
    targets = rng.normal(10, 3, 2000)
    predictions = targets + rng.normal(0.5, 2, 2000)
    metrics = regressor_metrics(RegressorTally.of_labels(predictions, targets))
    error = predictions - targets
    assert metrics["mae"].value == pytest.approx(np.mean(np.abs(error)))
    assert metrics["rmse"].value == pytest.approx(np.sqrt(np.mean(error**2)))
    assert metrics["bias"].value == pytest.approx(np.mean(error))
    assert metrics["mape"].value == pytest.approx(np.mean(np.abs(error) / np.abs(targets)))
    assert metrics["bias"].se == pytest.approx(np.std(error, ddof=1) / np.sqrt(2000))


def test_isotonic_pools_violators() -> None:
    fitted = isotonic(np.array([0.1, 0.3, 0.2, 0.4]), np.array([1.0, 1.0, 1.0, 1.0]))
    assert fitted.tolist() == pytest.approx([0.1, 0.25, 0.25, 0.4])
    weighted = isotonic(np.array([0.5, 0.1]), np.array([3.0, 1.0]))
    assert weighted.tolist() == pytest.approx([0.4, 0.4])


def test_estimation_tracks_realised_performance_of_a_calibrated_model() -> None:
    rng = np.random.default_rng(5)
    reference = _tally(*_calibrated(rng, 20_000))
    calibration = fit_calibration(reference)
    errors: dict[str, list[float]] = {"accuracy": [], "roc_auc": []}
    for _ in range(10):
        scores, labels = _calibrated(rng, 6000)
        window = _tally(scores, labels)
        realised = classifier_metrics(window)
        estimated = estimate_classifier(ClassifierTally.of_predictions(scores), calibration)
        for name, found in errors.items():
            gap = estimated[name].value - realised[name].value
            # The realised value scatters around the expectation by its own standard error.
            assert abs(gap) <= 4 * realised[name].se
            found.append(abs(gap))
    assert np.mean(errors["accuracy"]) <= 0.01
    assert np.mean(errors["roc_auc"]) <= 0.01


def test_estimation_learns_a_miscalibrated_score_and_cannot_see_concept_shift() -> None:
    rng = np.random.default_rng(6)
    scores, labels = _calibrated(rng, 40_000)
    squashed = scores**2  # monotone distortion: the isotonic fit undoes it
    calibration = fit_calibration(_tally(squashed, labels))
    window_scores, window_labels = _calibrated(rng, 8000)
    realised = classifier_metrics(_tally(window_scores**2, window_labels))
    estimated = estimate_classifier(ClassifierTally.of_predictions(window_scores**2), calibration)
    assert abs(estimated["accuracy"].value - realised["accuracy"].value) <= 0.02
    # Concept shift: the same scores, labels that follow them less. Realised drops; the estimate,
    # which reads scores only, stays where it was.
    shifted = np.where(rng.random(8000) < 0.54, rng.random(8000) < 0.5, window_labels == 1)
    after = classifier_metrics(_tally(window_scores**2, shifted.astype(float)))
    assert realised["accuracy"].value - after["accuracy"].value > 0.1
    assert math.isclose(
        estimate_classifier(ClassifierTally.of_predictions(window_scores**2), calibration)[
            "accuracy"
        ].value,
        estimated["accuracy"].value,
    )


def test_estimation_needs_a_labelled_reference() -> None:
    scores, labels = _calibrated(np.random.default_rng(7), 50)
    with pytest.raises(ConfigError, match="labelled reference of at least 100"):
        fit_calibration(_tally(scores, labels))


def test_threshold_must_be_a_bin_edge() -> None:
    tally = ClassifierTally.empty(200)
    assert tally.threshold_bin(0.5) == 100
    assert tally.threshold_bin(0.505) == 101
    with pytest.raises(ConfigError, match="not an edge of 200 score bins"):
        tally.threshold_bin(0.5025)


def test_calibrated_scores_are_kept_as_they_are_and_others_are_refit() -> None:
    rng = np.random.default_rng(8)
    scores, labels = _calibrated(rng, 20_000)
    kept = fit_calibration(_tally(scores, labels))
    assert kept.method == "as-is"
    middle = _tally(scores, labels).labelled > 0
    means = _tally(scores, labels).score_sum[middle] / _tally(scores, labels).labelled[middle]
    assert kept.probability[middle].tolist() == pytest.approx(means.tolist())
    refit = fit_calibration(_tally(scores**2, labels))
    assert refit.method == "isotonic"


def _one_bin(positives: int) -> ClassifierTally:
    """1,000 labelled predictions, all scored 0.5 (bin 100 of 200), ``positives`` of them 1."""
    labelled = np.zeros(200, dtype=np.int64)
    labelled[100] = 1000
    hits = np.zeros(200, dtype=np.int64)
    hits[100] = positives
    score_sum = np.zeros(200)
    score_sum[100] = 500.0
    empty = ClassifierTally.empty(200)
    return ClassifierTally(
        bins=200, predicted=empty.predicted, labelled=labelled, positives=hits, score_sum=score_sum
    )


def test_the_calibration_test_decides_at_its_alpha() -> None:
    """One group: (O - 500)² / 250 against χ²(1), whose 0.99 quantile is 6.635: 540 positives
    (6.40) are within chance of 500 expected, 541 (6.72) are not."""
    inside, outside = _one_bin(540), _one_bin(541)
    assert 0.01 < calibration_p_value(inside) < 0.012
    assert 0.009 < calibration_p_value(outside) < 0.01
    assert fit_calibration(inside).method == "as-is"
    assert fit_calibration(outside).method == "isotonic"
    assert fit_calibration(outside).probability[100] == pytest.approx(0.541)
