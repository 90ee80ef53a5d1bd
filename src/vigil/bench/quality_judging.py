"""Judging a labelled month: what ``vigil bench quality`` and the peers' comparison score.

A month's known changes (:class:`~vigil.lab.simulation.quality_month.MonthChange`) are judged
against what was said about them, Vigil's paged anomalies (:func:`judge_month`) or a peer's
day-by-day flags (:func:`judge_daily_flags`), by one rule:

- a change is caught when a flag on its column (the score's performance series for the concept
  shift) can be said in ``[start, end + slack)``; the delay runs from the change's start to
  when the flag could be said (an hourly anomaly at its window's end, a daily flag at the
  day's end);
- false alarms are column-days of the evaluated days (after the first clean week) flagged
  while no change touched the column that day or the day before;
- estimation is the label-free estimate of each day against the day's realised value (MAE).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from vigil.core import SEGMENT_MARK, Family, segment_column
from vigil.detect import Anomaly
from vigil.lab.simulation.quality_month import MonthChange, QualityMonth
from vigil.stats import Series

DAY = timedelta(days=1)
CLEAN_DAYS = 7
SLACK = timedelta(hours=6)
ESTIMATED = ("accuracy", "roc_auc")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeResult:
    kind: str
    column: str
    caught: bool
    delay_h: float
    """Hours from the change's start to the end of the first window that flagged it (NaN)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthResult:
    """One month (one traffic level and seed) through the pipeline, judged."""

    rows_per_day: int
    seed: int
    reference: str
    predictions: int
    labels: int
    changes: tuple[ChangeResult, ...]
    false_alarm_days: int
    unchanged_column_days: int
    false_alarm_columns: tuple[str, ...]
    whole_false_alarm_days: int
    """Of ``false_alarm_days``, those with an anomaly of the whole model's series (what the
    month would have had without segments)."""
    segment_false_alarm_days: int
    """Column-days of one segment (``num_a@region=eu``) with an anomaly of that segment's
    series while neither the column nor that segment of it changed."""
    segment_column_days: int
    segment_false_alarm_columns: tuple[str, ...]
    estimation_mae: dict[str, float]
    estimation_mae_hourly: dict[str, float]
    estimation_floor: dict[str, float]
    """The MAE of an estimate that knew every prediction's true chance of a positive: the
    realised value's own sampling noise, which no estimate can beat on average."""
    estimation_days: int
    incidents: int
    seconds: float

    @property
    def caught(self) -> int:
        return sum(1 for change in self.changes if change.caught)


def judge_month(
    month: QualityMonth,
    anomalies: Sequence[Anomaly],
    series: Sequence[Series],
    *,
    seed: int,
    incidents: int,
    seconds: float,
    expected: Mapping[datetime, Mapping[str, float]] | None = None,
) -> MonthResult:
    """``expected``: per day, the metrics an estimator that knew each prediction's true chance
    of a positive would give (:func:`expected_performance`), for ``estimation_floor``."""
    changes = tuple(_judge_change(change, anomalies) for change in month.changes)
    whole = [a for a in anomalies if not a.key.segment]  # would the whole model alone see it?
    changes += tuple(
        _judge_change(replace(change, kind=f"{change.kind}_whole", column=base), whole)
        for change in month.changes
        if (base := change.column.partition(SEGMENT_MARK)[0]) != change.column
    )
    evaluated = [month.start + d * DAY for d in range(CLEAN_DAYS, (month.end - month.start).days)]
    columns = [*month.features, "score"]
    flagged: set[tuple[str, datetime]] = set()
    for anomaly in anomalies:
        column = _column_of(anomaly)
        day = _day_of(month, anomaly)
        flagged.add((column, day))
        flagged.add((column.partition(SEGMENT_MARK)[0], day))  # what a person is paged about
    segments = {s.key.segment for s in series if s.key.segment}
    false_days, possible = _false_days(month, columns, evaluated, flagged)
    whole_flagged = {(_column_of(a), _day_of(month, a)) for a in anomalies if not a.key.segment}
    whole_false, _ = _false_days(month, columns, evaluated, whole_flagged)
    segment_columns = [segment_column(c, s) for c in columns for s in sorted(segments)]
    segment_false, segment_possible = _false_days(month, segment_columns, evaluated, flagged)
    mae, days = _estimation_error(month, series, daily=True)
    hourly, _ = _estimation_error(month, series, daily=False)
    floor = (
        _estimation_error(month, series, daily=True, expected=expected)[0]
        if expected is not None
        else dict.fromkeys(ESTIMATED, math.nan)
    )
    return MonthResult(
        rows_per_day=month.rows_per_day,
        seed=seed,
        reference="trailing",
        predictions=month.predictions,
        labels=month.labels,
        changes=changes,
        false_alarm_days=len(false_days),
        unchanged_column_days=possible,
        false_alarm_columns=tuple(sorted(set(false_days))),
        whole_false_alarm_days=len(whole_false),
        segment_false_alarm_days=len(segment_false),
        segment_column_days=segment_possible,
        segment_false_alarm_columns=tuple(sorted(set(segment_false))),
        estimation_mae=mae,
        estimation_mae_hourly=hourly,
        estimation_floor=floor,
        estimation_days=days,
        incidents=incidents,
        seconds=seconds,
    )


def _day_of(month: QualityMonth, anomaly: Anomaly) -> datetime:
    return month.start + ((anomaly.timestamp - month.start) // DAY) * DAY


def _false_days(
    month: QualityMonth,
    columns: Sequence[str],
    evaluated: Sequence[datetime],
    flagged: set[tuple[str, datetime]],
) -> tuple[list[str], int]:
    """The flagged column-days of ``columns`` that no change touched, and how many there were."""
    false_days, possible = [], 0
    for column in columns:
        for day in evaluated:
            if _changed(month.changes, column, day):
                continue
            possible += 1
            if (column, day) in flagged:
                false_days.append(column)
    return false_days, possible


def _column_of(anomaly: Anomaly) -> str:
    """The column an anomaly speaks about (with its segment: ``num_a@region=eu``); model-level
    series speak about the score."""
    if not anomaly.key.column:
        return "score"
    if not anomaly.key.base_column:  # a segment's model-level series
        return segment_column("score", anomaly.key.segment)
    return anomaly.key.column


def _touches(changed: str, column: str) -> bool:
    """Whether a change of ``changed`` changes ``column``: a change of the whole column changes
    every segment of it; one of a segment changes that segment and the whole column (diluted),
    not the column's other segments."""
    base, _, segment = changed.partition(SEGMENT_MARK)
    other_base, _, other_segment = column.partition(SEGMENT_MARK)
    return base == other_base and (not segment or not other_segment or segment == other_segment)


def _changed(changes: Sequence[MonthChange], column: str, day: datetime) -> bool:
    """Whether ``column`` was changed during any part of ``day`` or the day before (a change's
    last hours still drift a day-long comparison)."""
    return any(
        _touches(c.column, column) and c.start < day + DAY and day - DAY < c.end + DAY
        for c in changes
    )


def _judge_change(change: MonthChange, anomalies: Sequence[Anomaly]) -> ChangeResult:
    flags = [
        (_column_of(a), a.timestamp + timedelta(hours=1), a.key.family == Family.PERFORMANCE)
        for a in anomalies
    ]
    return _judge_flags(change, flags)


def _judge_flags(change: MonthChange, flags: Sequence[tuple[str, datetime, bool]]) -> ChangeResult:
    """``flags``: (column, when it could be said, whether from performance)."""
    hits = [
        said
        for column, said, performance in flags
        if _names(change.column, column)
        and change.start < said < change.end + SLACK + timedelta(hours=1)
        and (change.kind != "concept" or performance)
    ]
    if not hits:
        return ChangeResult(kind=change.kind, column=change.column, caught=False, delay_h=math.nan)
    delay = (min(hits) - change.start).total_seconds() / 3600.0
    return ChangeResult(kind=change.kind, column=change.column, caught=True, delay_h=delay)


def _names(changed: str, column: str) -> bool:
    """Whether a flag on ``column`` catches a change of ``changed``: any series of a changed
    whole column (its segments' too); only that segment's for a change confined to one."""
    if SEGMENT_MARK in changed:
        return column == changed
    return column.partition(SEGMENT_MARK)[0] == changed


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyJudgement:
    """A peer's day-by-day flags judged like Vigil's anomalies (a day's flag can be said at the
    day's end: batch tools compare whole days)."""

    changes: tuple[ChangeResult, ...]
    false_alarm_days: int
    unchanged_column_days: int
    false_alarm_columns: tuple[str, ...]


def judge_daily_flags(
    month: QualityMonth,
    flagged: dict[int, Sequence[str]],
    *,
    performance_alerts: Sequence[int] = (),
) -> DailyJudgement:
    """``flagged``: day index -> columns flagged as drifted; ``performance_alerts``: days whose
    realised performance was flagged (they speak about the score, for the concept shift)."""
    flags = [
        (column, month.start + (day + 1) * DAY, False)
        for day, columns in flagged.items()
        for column in columns
    ]
    flags += [("score", month.start + (day + 1) * DAY, True) for day in performance_alerts]
    changes = tuple(_judge_flags(change, flags) for change in month.changes)
    false_days: list[str] = []
    possible = 0
    for column in [*month.features, "score"]:
        for day in range(CLEAN_DAYS, (month.end - month.start).days):
            start = month.start + day * DAY
            if _changed(month.changes, column, start):
                continue
            possible += 1
            if column in flagged.get(day, ()):
                false_days.append(column)
    return DailyJudgement(
        changes=changes,
        false_alarm_days=len(false_days),
        unchanged_column_days=possible,
        false_alarm_columns=tuple(sorted(set(false_days))),
    )


def _estimation_error(
    month: QualityMonth,
    series: Sequence[Series],
    *,
    daily: bool,
    expected: Mapping[datetime, Mapping[str, float]] | None = None,
) -> tuple[dict[str, float], int]:
    """MAE of the daily estimate against the daily realised value, on days with no concept
    shift whose labels are in (the last day's labels are partly still to come): the day's last
    ``_1d`` point (``daily``), else the day's hourly points, averaged. With ``expected`` (day
    start -> metric -> value), that is the estimate instead of the stored one."""
    by_statistic = {  # the whole model's (a segment's series share its statistics' names)
        s.key.statistic: s
        for s in series
        if s.key.family == Family.PERFORMANCE and not s.key.segment
    }
    concept = [c for c in month.changes if c.kind == "concept"]
    errors: dict[str, float] = {}
    days = 0
    for metric in ESTIMATED:
        suffix = "_1d" if daily else ""
        realised = by_statistic.get(metric + suffix)
        estimated = by_statistic.get(f"estimated_{metric}{suffix}")
        if realised is None or (estimated is None and expected is None):
            errors[metric] = math.nan
            continue
        gaps = []
        for day in range(CLEAN_DAYS, (month.end - month.start).days - 1):
            start = month.start + day * DAY
            if any(c.start < start + DAY and start < c.end for c in concept):
                continue
            pick = _last_of_day if daily else _daily
            real = pick(realised, start)
            if expected is not None:
                guess = expected.get(start, {}).get(metric, math.nan)
            else:
                assert estimated is not None
                guess = pick(estimated, start)
            if math.isfinite(real) and math.isfinite(guess):
                gaps.append(abs(real - guess))
        errors[metric] = float(np.mean(gaps)) if gaps else math.nan
        days = len(gaps)
    return errors, days


def _last_of_day(series: Series, start: datetime) -> float:
    """The value at the day's last hourly window (a ``_1d`` point: the whole day)."""
    last = np.datetime64((start + DAY - timedelta(hours=1)).replace(tzinfo=None), "s")
    at = np.flatnonzero(series.timestamps == last)
    return float(series.values[at[0]]) if at.size else math.nan


def _daily(series: Series, start: datetime) -> float:
    """The support-weighted mean of a series over one day."""
    begin = np.datetime64(start.replace(tzinfo=None), "s")
    inside = (series.timestamps >= begin) & (series.timestamps < begin + np.timedelta64(1, "D"))
    values = series.values[inside]
    weights = np.ones_like(values) if series.support is None else np.asarray(series.support[inside])
    keep = np.isfinite(values) & (weights > 0)
    if not keep.any():
        return math.nan
    return float(np.average(values[keep], weights=weights[keep]))
