"""The quality bench: its judges (the peers' daily flags, estimation error) and references."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq
import pytest

from vigil.bench.quality import _references, expected_performance, run_quality_month
from vigil.bench.quality_judging import CLEAN_DAYS, DAY, judge_daily_flags, judge_month
from vigil.core import ConfigError, Family, SeriesKey, Window
from vigil.detect import Anomaly
from vigil.lab.simulation.quality_month import (
    START,
    QualityMonth,
    month_changes,
    simulate_quality_month,
)
from vigil.pipeline.config import parse_config
from vigil.stats import Reference, Series
from vigil.stats.spec import ReferenceMode

FEATURES = ("num_mean", "num_a")


def _month() -> QualityMonth:
    """A month's frame with two of its changes (no rows: the judge reads only the changes)."""
    changes = tuple(c for c in month_changes() if c.kind in ("mean_shift", "concept"))
    return QualityMonth(
        root=Path("."),
        start=START,
        end=START + timedelta(days=30),
        rows_per_day=48,
        predictions=30_000,
        labels=27_000,
        features=FEATURES,
        changes=changes,
    )


def test_a_flag_on_the_changed_column_from_its_start_catches_it_at_the_days_end() -> None:
    month = _month()
    shift = next(c for c in month.changes if c.kind == "mean_shift")  # day 10, 09:00
    day = (shift.start - month.start).days
    judged = judge_daily_flags(month, {day: ["num_mean"]})
    caught = {c.kind: c for c in judged.changes}["mean_shift"]
    assert caught.caught and caught.delay_h == 15.0  # day 10 ends 15 h after 09:00
    before = judge_daily_flags(month, {day - 1: ["num_mean"]})  # a day before it began
    assert not {c.kind: c for c in before.changes}["mean_shift"].caught


def test_only_realised_performance_alerts_catch_the_concept_shift() -> None:
    month = _month()
    concept = next(c for c in month.changes if c.kind == "concept")
    day = (concept.start - month.start).days
    drift_only = judge_daily_flags(month, {day: ["score"]})
    assert not {c.kind: c for c in drift_only.changes}["concept"].caught
    alerted = judge_daily_flags(month, {}, performance_alerts=[day])
    assert {c.kind: c for c in alerted.changes}["concept"].caught


def test_false_alarms_are_unchanged_column_days_after_the_clean_week() -> None:
    month = _month()
    days = (month.end - month.start).days - CLEAN_DAYS
    quiet = judge_daily_flags(month, {})
    assert quiet.false_alarm_days == 0
    # num_a never changes; the score changes only through the concept shift's days (and the
    # day after), which do not count; num_mean from its shift on.
    flagged = judge_daily_flags(month, {CLEAN_DAYS: ["num_a"], CLEAN_DAYS - 1: ["num_a"]})
    assert flagged.false_alarm_days == 1 and flagged.false_alarm_columns == ("num_a",)
    assert quiet.unchanged_column_days < days * (len(FEATURES) + 1)


def test_the_first_week_reference_is_the_months_clean_week_as_a_fixed_date_range(
    tmp_path: Path,
) -> None:
    month = _month()
    config = parse_config(_references("first-week", month, tmp_path, seed=1))
    (found,) = (r for _, r in config.resolved.references)
    assert found == Reference.fixed(Window(start=START, end=START + CLEAN_DAYS * DAY))
    assert _references("trailing", month, tmp_path, seed=1) == {}


def test_the_training_reference_is_a_profile_of_another_clean_week(tmp_path: Path) -> None:
    """Drawn with another seed (other rows, same world), before any change: its ``num_mean``
    is the unchanged column's 50 ± 10, and it holds every feature and the score."""
    month = _month()
    data = _references("training", month, tmp_path, seed=1)
    (found,) = (r for _, r in parse_config(data).resolved.references)
    assert found.mode is ReferenceMode.PROFILES
    (training,) = found.profiles
    assert abs(training.rows - 48 * (CLEAN_DAYS + 1)) < 60
    assert set(FEATURES) <= set(training.features) and set(training.outputs) == {"score"}
    moments = training.features["num_mean"].moments
    assert abs(moments.mean - 50.0) < 2.0 and abs(moments.std - 10.0) < 1.5
    with pytest.raises(ConfigError, match="unknown reference"):
        run_quality_month(rows_per_day=48, seed=1, reference="yesterday")


def _hourly(statistic: str, values: np.ndarray) -> Series:
    times = np.datetime64(START.replace(tzinfo=None), "s") + np.arange(
        len(values)
    ) * np.timedelta64(3600, "s")
    key = SeriesKey(
        model="quality",
        version="v1",
        family=Family.PERFORMANCE,
        column="score",
        statistic=statistic,
    )
    return Series(key=key, timestamps=times, values=values, support=np.full(len(values), 40.0))


def test_estimation_is_judged_on_the_whole_day_and_on_its_hours_apart() -> None:
    """Realised 0.75 every hour; the day-long estimate is 0.76 at each day's last hour and 0.9
    before it (hours whose day is not over yet), the hourly estimate 0.77: the day as one
    chunk is off by 0.01, the mean of its hours by 0.02. Concept-shifted days do not count."""
    hours = 30 * 24
    day_long = np.where(np.arange(hours) % 24 == 23, 0.76, 0.9)
    series = [
        _hourly("accuracy", np.full(hours, 0.75)),
        _hourly("estimated_accuracy", np.full(hours, 0.77)),
        _hourly("accuracy_1d", np.full(hours, 0.75)),
        _hourly("estimated_accuracy_1d", day_long),
    ]
    # A segment's series of the same statistics, listed last, is not the whole model's.
    series += [
        replace(one, key=replace(one.key, column="score@region=eu"), values=one.values * 0)
        for one in series
    ]
    month = _month()
    expected = {month.start + d * DAY: {"accuracy": 0.745} for d in range(30)}
    judged = judge_month(month, [], series, seed=1, incidents=0, seconds=0.0, expected=expected)
    assert judged.estimation_floor["accuracy"] == pytest.approx(0.005)
    assert math.isnan(judged.estimation_floor["roc_auc"])
    assert judged.estimation_mae["accuracy"] == pytest.approx(0.01)
    assert judged.estimation_mae_hourly["accuracy"] == pytest.approx(0.02)
    assert judged.estimation_days == 30 - 1 - CLEAN_DAYS - 3  # the last day, the concept's 3
    assert math.isnan(judged.estimation_mae["roc_auc"])


def test_the_expected_performance_is_the_scores_own(tmp_path: Path) -> None:
    """The simulated score is the true chance of a positive: a day's expected accuracy is the
    mean of max(s, 1 - s) over its predictions, its expected AUC that of labels drawn from it
    (within a few standard errors of 48 x 20 draws), and the month's days are all there."""
    month = simulate_quality_month(tmp_path, rows_per_day=48, days=8, seed=2)
    expected = expected_performance(month)
    assert sorted(expected) == [month.start + d * DAY for d in range(8)]
    day = month.start
    path = tmp_path / f"date={day:%Y-%m-%d}" / "predictions.parquet"
    chance = pq.read_table(path, columns=["outputs.score"]).column(0).to_numpy()
    assert expected[day]["accuracy"] == pytest.approx(np.mean(np.maximum(chance, 1 - chance)))
    rng = np.random.default_rng(3)
    draws = rng.random((200, chance.size)) < chance
    aucs = [_auc(chance, labels) for labels in draws if 0 < labels.sum() < chance.size]
    assert abs(expected[day]["roc_auc"] - float(np.mean(aucs))) < 0.02
    assert 0.6 < expected[day]["roc_auc"] < 0.95


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    positive, negative = scores[labels], scores[~labels]
    wins = (positive[:, None] > negative[None, :]).sum() + 0.5 * (
        positive[:, None] == negative[None, :]
    ).sum()
    return float(wins / (positive.size * negative.size))


def _segment_month() -> QualityMonth:
    changes = tuple(c for c in month_changes(segment_shift=True) if c.kind == "segment_shift")
    return QualityMonth(
        root=Path("."),
        start=START,
        end=START + timedelta(days=30),
        rows_per_day=48,
        predictions=30_000,
        labels=27_000,
        features=("num_local", "num_a"),
        changes=changes,
    )


def _drift_anomaly(column: str, day: int) -> Anomaly:
    key = SeriesKey(model="quality", version="v1", family="drift", column=column, statistic="mean")
    at = START + timedelta(days=day, hours=12)
    return Anomaly(
        key=key, timestamp=at, value=1.0, expected=0.0, lower=-0.5, upper=0.5, score=2.0,
        severity=2.0, detector="drift",
    )  # fmt: skip


def test_a_segment_shift_is_caught_only_by_its_own_segment_and_echoes_in_the_whole() -> None:
    month = _segment_month()
    (shift,) = month.changes
    assert shift.column == "num_local@region=apac"
    day = (shift.start - month.start).days + 1
    empty, no = np.array([], "datetime64[s]"), np.array([])
    series = [  # the segments the month had: eu and apac
        Series(key=_drift_anomaly(f"num_a@region={r}", 0).key, timestamps=empty, values=no)
        for r in ("eu", "apac")
    ]
    other_segment = judge_month(
        month, [_drift_anomaly("num_local@region=eu", day)], series, seed=1, incidents=1,
        seconds=0.0,
    )  # fmt: skip
    found = {c.kind: c for c in other_segment.changes}
    assert not found["segment_shift"].caught and not found["segment_shift_whole"].caught
    # Another segment of the changed column is an unchanged segment: a false alarm there.
    assert other_segment.segment_false_alarm_columns == ("num_local@region=eu",)
    named = judge_month(
        month,
        [_drift_anomaly("num_local@region=apac", day), _drift_anomaly("num_local", day + 1)],
        series,
        seed=1,
        incidents=1,
        seconds=0.0,
    )
    found = {c.kind: c for c in named.changes}
    assert found["segment_shift"].caught and found["segment_shift_whole"].caught
    assert found["segment_shift"].delay_h < found["segment_shift_whole"].delay_h
    assert named.false_alarm_days == named.segment_false_alarm_days == 0  # its echo is no alarm
    # A segment's alarm on an unchanged column pages about that column: counted for both.
    noisy = judge_month(
        month, [_drift_anomaly("num_a@region=eu", 20)], series, seed=1, incidents=1, seconds=0.0
    )
    assert (noisy.false_alarm_days, noisy.whole_false_alarm_days) == (1, 0)
    assert noisy.segment_false_alarm_days == 1


def test_the_segment_shift_moves_one_region_only_and_leaves_other_columns_alone(
    tmp_path: Path,
) -> None:
    plain = simulate_quality_month(tmp_path / "a", rows_per_day=2_000, days=12, seed=4)
    local = simulate_quality_month(
        tmp_path / "b", rows_per_day=2_000, days=12, seed=4, segment_shift=True
    )
    assert local.features == (*plain.features, "num_local")
    day = "date=2026-01-16/predictions.parquet"  # day 11: the shift starts at 05:00
    a, b = pq.read_table(tmp_path / "a" / day), pq.read_table(tmp_path / "b" / day)
    assert a.column("features.num_a").equals(b.column("features.num_a"))
    begin = pa.scalar(START + timedelta(days=11, hours=5), pa.timestamp("us", tz="UTC"))
    late = b.filter(pa.compute.greater_equal(b["timestamp"], begin))
    values = np.asarray(late.column("features.num_local").to_numpy())
    regions = np.asarray(late.column("tags.region").to_numpy(zero_copy_only=False))
    assert np.mean(values[regions == "apac"]) == pytest.approx(36.0, abs=1.0)  # +1 sd of 6
    assert np.mean(values[regions != "apac"]) == pytest.approx(30.0, abs=0.5)
