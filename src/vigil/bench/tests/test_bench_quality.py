"""The quality bench's judge of day-by-day flags (the peers'): caught, delay, false alarms."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from vigil.bench.quality import CLEAN_DAYS, judge_daily_flags
from vigil.lab.simulation.quality_month import START, QualityMonth, month_changes

FEATURES = ("num_mean", "num_a")


def _month() -> QualityMonth:
    """A month's frame with two of its changes (no rows: the judge reads only the changes)."""
    changes = tuple(c for c in month_changes() if c.kind in ("mean_shift", "concept"))
    return QualityMonth(
        root=Path("."),
        start=START,
        end=START + timedelta(days=30),
        rows_per_day=1000,
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
