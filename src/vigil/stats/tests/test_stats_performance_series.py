"""``performance_series``: realised metrics tested against their reference, and label-free
estimates calibrated on the labelled week before the trailing day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.core import Family, Window
from vigil.profile.labels import Tally, TallyKey
from vigil.profile.performance import ClassifierTally
from vigil.stats.performance_series import performance_series
from vigil.stats.spec import StatsSpec

START = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAYS = 10
PER_HOUR = 200
SHIFTED_HOURS = range(24 * 9 + 6, 24 * 9 + 12)
"""Six hours of day 10 whose labels follow another rule (a concept shift)."""


def _month(seed: int, per_hour: int = PER_HOUR) -> tuple[dict[TallyKey, Tally], dict[int, float]]:
    """Hourly tallies of a calibrated score, and each hour's exact accuracy at 0.5."""
    rng = np.random.default_rng(seed)
    tallies: dict[TallyKey, Tally] = {}
    accuracy: dict[int, float] = {}
    for hour in range(24 * DAYS):
        scores = rng.beta(2.0, 2.0, per_hour)
        truth = scores if hour not in SHIFTED_HOURS else 1.0 - scores
        labels = (rng.random(per_hour) < truth).astype(np.float64)
        start = START + hour * HOUR
        key = TallyKey(
            model="m", version="v1", window=Window(start=start, end=start + HOUR), output="score"
        )
        tallies[key] = ClassifierTally.of_predictions(scores).merge(
            ClassifierTally.of_labels(scores, labels)
        )
        accuracy[hour] = float(np.mean((scores >= 0.5) == (labels == 1.0)))
    return tallies, accuracy


def _series(
    seed: int, per_hour: int = PER_HOUR
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[int, float]]:
    tallies, accuracy = _month(seed, per_hour)
    found = performance_series(tallies, StatsSpec(), since=START + 8 * 24 * HOUR)
    assert {s.key.family for s in found} == {Family.PERFORMANCE}
    by_name = {}
    for one in found:
        assert one.support is not None
        by_name[one.key.statistic] = (one.values, one.support)
    return by_name, accuracy


def test_realised_accuracy_is_exact_and_pages_only_in_the_shifted_hours() -> None:
    by_name, accuracy = _series(seed=11)
    values, support = by_name["accuracy"]
    hours = range(24 * 8, 24 * DAYS)
    assert np.allclose(values, [accuracy[h] for h in hours])
    assert np.all(support == PER_HOUR)
    lower = by_name["accuracy_lower"][0]
    upper = by_name["accuracy_upper"][0]
    outside = (values < lower) | (values > upper)
    flagged = {h for h, out in zip(hours, outside, strict=True) if out}
    assert flagged == set(SHIFTED_HOURS)


def test_estimates_come_at_every_hour_from_a_day_calibrated_reference() -> None:
    """The same hours of seven days hold 1,400 labels, too few for 200 score bins; the week
    before the trailing day (33,600) is enough, so hourly points are estimated too, within
    a day's sampling error of the realised accuracy on unshifted days."""
    by_name, accuracy = _series(seed=12)
    estimated, support = by_name["estimated_accuracy"]
    assert np.all(np.isfinite(estimated)) and np.all(support == PER_HOUR)
    day_8 = np.mean([accuracy[h] for h in range(24 * 8, 24 * 9)])
    day_estimate = float(np.mean(estimated[:24]))
    sampling = 3 * np.sqrt(0.25 / (24 * PER_HOUR))  # 3 sd of a day's accuracy
    assert abs(day_estimate - day_8) < sampling
    daily, _ = by_name["estimated_accuracy_1d"]
    assert np.all(np.isfinite(daily))


def test_a_quiet_model_gets_hourly_estimates_too() -> None:
    """12 predictions an hour: the same hours of seven days hold 84 labels, under the 100 a
    calibration needs; the week before the trailing day holds 2,016."""
    by_name, _ = _series(seed=13, per_hour=12)
    estimated, _ = by_name["estimated_accuracy"]
    assert np.all(np.isfinite(estimated))


def test_a_shifts_first_hours_stay_out_of_later_references_with_the_day_that_showed_it() -> None:
    """Every hour is the same 500 predictions and labels, except six hours of day 3 whose
    labels are flipped (a concept shift). The day's accuracy leaves its band only at the second
    shifted hour (one hour moves it 0.014, under ``min_performance``); the first one must not
    stay in the references of later days (it would calibrate their estimates on shifted
    labels): a week later, the day's expected accuracy is the unshifted hours' to the last
    bit."""
    rng = np.random.default_rng(5)
    scores = rng.beta(2.0, 2.0, 500)
    labels = (rng.random(500) < scores).astype(np.float64)
    shifted = range(24 * 3 + 6, 24 * 3 + 12)
    tallies: dict[TallyKey, Tally] = {}
    for hour in range(24 * DAYS):
        start = START + hour * HOUR
        key = TallyKey(
            model="m", version="v1", window=Window(start=start, end=start + HOUR), output="score"
        )
        truth = 1.0 - labels if hour in shifted else labels
        tallies[key] = ClassifierTally.of_predictions(scores).merge(
            ClassifierTally.of_labels(scores, truth)
        )
    unshifted = float(np.mean((scores >= 0.5) == (labels == 1.0)))
    found = {s.key.statistic: s for s in performance_series(tallies, StatsSpec())}
    day = found["accuracy_1d"]
    flagged = (day.values < found["accuracy_1d_lower"].values) | (
        day.values > found["accuracy_1d_upper"].values
    )
    assert not flagged[shifted[0]] and flagged[shifted[1]]
    last_day = slice(24 * (DAYS - 1), 24 * DAYS)
    expected = found["accuracy_1d_expected"].values[last_day]
    assert np.allclose(expected, unshifted, rtol=0.0, atol=1e-12)
