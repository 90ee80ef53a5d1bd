"""``vigil bench quality``: a labelled month with known changes through the pipeline, judged.

For each traffic level and seed, :func:`~vigil.lab.simulation.quality_month.simulate_quality_month`
writes a month of logs, one :func:`~vigil.pipeline.runner.run_cycle` runs every window through
every stage into an in-memory store, and the stored anomalies and series are scored:

Only anomalies that made it into an incident count (what pages a person):

- per change: caught when such an anomaly on its column (the score's performance series for the
  concept shift) falls in ``[start, end + slack)``; the delay is from the change's start to
  that anomaly's window end (when the pipeline could have said it);
- false alarms: column-days of the evaluated days (after the first clean week) with at least
  one anomaly on a column that had no change then, out of all such column-days;
- estimation: the label-free estimate of each day's predictions against the day's realised
  value (the ``_1d`` points of the day's last window: the day as one chunk, as NannyML's daily
  chunks are judged), on days without concept shift whose labels have arrived (MAE);
  ``estimation_mae_hourly`` is the earlier measure, the support-weighted mean of the hourly
  points (for AUC a mean of hourly AUCs on ~40 labels each, a noisier quantity than the day's).

``reference`` chooses what drift compares with (:data:`REFERENCES`): the default trailing
references, the month's clean first week as a fixed ``[[references]]`` date range, or a
reference profile of "training data" (another clean week drawn with another seed, profiled by
:func:`vigil.reference_profile`), as a user who names their training set would have it.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from vigil.core import SEGMENT_MARK, ConfigError, Family, segment_column
from vigil.detect import Anomaly
from vigil.lab.simulation.quality_month import (
    MODEL,
    MonthChange,
    QualityMonth,
    simulate_quality_month,
)
from vigil.pipeline.config import VigilConfig, parse_config
from vigil.pipeline.runner import run_cycle
from vigil.profile.performance import DEFAULT_BINS
from vigil.stats import Series
from vigil.stats.performance import binned_auc
from vigil.store import MemoryStore

DAY = timedelta(days=1)
CLEAN_DAYS = 7
REFERENCES = ("trailing", "first-week", "training")
TRAINING_SEED_OFFSET = 1_000_003
"""The training week is drawn with ``seed + TRAINING_SEED_OFFSET``: the same world, other rows."""
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


def run_quality_month(
    *,
    rows_per_day: int,
    seed: int,
    config: VigilConfig | None = None,
    reference: str = "trailing",
    workdir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    segment_shift: bool = False,
    segments: Sequence[str] = (),
) -> MonthResult:
    """Simulate one month, run the pipeline over it once, and judge what it found.

    ``reference`` (one of :data:`REFERENCES`) adds its ``[[references]]`` to the defaults, and
    ``segments`` its ``[profile] segments``; neither can be combined with a ``config``.
    ``segment_shift`` adds the month's change confined to one region."""
    import time

    if reference not in REFERENCES:
        raise ConfigError(f"unknown reference {reference!r}; known: {', '.join(REFERENCES)}")
    if config is not None and (reference != "trailing" or segments):
        raise ConfigError("give either a config or a reference and segments, not both")
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        say(f"simulate a month at {rows_per_day} predictions a day (seed {seed})")
        month = simulate_quality_month(
            Path(folder) / "logs", rows_per_day=rows_per_day, seed=seed, segment_shift=segment_shift
        )
        settings = _references(reference, month, Path(folder), seed=seed)
        if segments:
            settings["profile"] = {"segments": list(segments)}
        chosen = config or parse_config(settings, source=f"{reference} reference")
        store = MemoryStore()
        began = time.perf_counter()
        cycle = run_cycle(
            config=chosen, store=store, now=month.end, channels={}, sources=[str(month.root)]
        )
        seconds = time.perf_counter() - began
        series = store.series.get(model=MODEL)
        expected = expected_performance(month)
    paged = [a for incident in cycle.incidents for a in incident.anomalies]
    judged = judge_month(
        month,
        paged,
        series,
        seed=seed,
        incidents=len(cycle.incidents),
        seconds=seconds,
        expected=expected,
    )
    return replace(judged, reference=reference)


def expected_performance(month: QualityMonth) -> dict[datetime, dict[str, float]]:
    """Per day, the accuracy (at 0.5) and ROC AUC of its predictions expected from their true
    chance of a positive, which the simulated score is outside the concept shift: what a
    perfect label-free estimate would say (AUC over the same 200 score bins as the realised)."""
    import pyarrow.parquet as pq

    found: dict[datetime, dict[str, float]] = {}
    for day in range((month.end - month.start).days):
        start = month.start + day * DAY
        path = month.root / f"date={start:%Y-%m-%d}" / "predictions.parquet"
        if not path.exists():
            continue
        chance = np.asarray(
            pq.read_table(path, columns=["outputs.score"]).column(0).to_numpy(), dtype=np.float64
        )
        bins = np.minimum((chance * DEFAULT_BINS).astype(np.int64), DEFAULT_BINS - 1)
        positives = np.bincount(bins, weights=chance, minlength=DEFAULT_BINS).astype(np.float64)
        negatives = np.bincount(bins, weights=1.0 - chance, minlength=DEFAULT_BINS).astype(
            np.float64
        )
        found[start] = {
            "accuracy": float(np.mean(np.where(chance >= 0.5, chance, 1.0 - chance))),
            "roc_auc": binned_auc(positives, negatives).value,
        }
    return found


def _references(
    reference: str, month: QualityMonth, folder: Path, *, seed: int
) -> dict[str, object]:
    """The configuration's ``[[references]]`` for ``reference`` (none for ``trailing``)."""
    if reference == "first-week":
        end = month.start + CLEAN_DAYS * DAY
        return {"references": [{"start": month.start.isoformat(), "end": end.isoformat()}]}
    if reference == "training":
        import pyarrow as pa
        import pyarrow.parquet as pq

        from vigil.pipeline.frames import reference_profile

        training = simulate_quality_month(
            folder / "training",
            rows_per_day=month.rows_per_day,
            days=CLEAN_DAYS + 1,
            seed=seed + TRAINING_SEED_OFFSET,
        )
        days = sorted(training.root.glob("*/predictions.parquet"))
        out = folder / "training.vigilprofile"
        table = pa.concat_tables([pq.read_table(day) for day in days])
        grouped = {
            n: n for n in table.column_names if n.startswith(("features.", "outputs.", "tags."))
        }
        reference_profile(table, columns=grouped, out=out)
        return {"references": [{"profile": str(out)}]}
    return {}


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


def run_quality_bench(
    *,
    rows_per_day: Sequence[int],
    seeds: Sequence[int],
    config: VigilConfig | None = None,
    reference: str = "trailing",
    progress: Callable[[str], None] | None = None,
    segment_shift: bool = False,
    segments: Sequence[str] = (),
) -> list[MonthResult]:
    """One judged month per traffic level and seed."""
    return [
        run_quality_month(
            rows_per_day=rows,
            seed=seed,
            config=config,
            reference=reference,
            progress=progress,
            segment_shift=segment_shift,
            segments=segments,
        )
        for rows in rows_per_day
        for seed in seeds
    ]


def result_json(result: MonthResult) -> dict[str, object]:
    """One month as plain JSON (NaN delays and errors as ``null``)."""

    def number(value: float) -> float | None:
        return round(value, 4) if math.isfinite(value) else None

    return {
        "rows_per_day": result.rows_per_day,
        "seed": result.seed,
        "reference": result.reference,
        "predictions": result.predictions,
        "labels": result.labels,
        "caught": result.caught,
        "changes": [
            {
                "kind": c.kind,
                "column": c.column,
                "caught": c.caught,
                "delay_h": number(c.delay_h),
            }
            for c in result.changes
        ],
        "false_alarm_column_days": result.false_alarm_days,
        "unchanged_column_days": result.unchanged_column_days,
        "false_alarm_columns": list(result.false_alarm_columns),
        "whole_false_alarm_column_days": result.whole_false_alarm_days,
        "segment_false_alarm_column_days": result.segment_false_alarm_days,
        "segment_column_days": result.segment_column_days,
        "segment_false_alarm_columns": list(result.segment_false_alarm_columns),
        "estimation_mae": {name: number(v) for name, v in result.estimation_mae.items()},
        "estimation_mae_hourly": {
            name: number(v) for name, v in result.estimation_mae_hourly.items()
        },
        "estimation_floor": {name: number(v) for name, v in result.estimation_floor.items()},
        "estimation_days": result.estimation_days,
        "incidents": result.incidents,
        "seconds": round(result.seconds, 1),
    }


def format_results(results: Sequence[MonthResult]) -> str:
    """A table: one row per month, a column per change (delay in hours, or ``missed``)."""
    if not results:
        return "no months run"
    kinds = [c.kind for c in results[0].changes]
    head = ["rows/day", "seed", *kinds, "false alarms", "segment false alarms", "MAE acc"]
    head += ["MAE auc", "floor acc/auc"]
    lines = [" | ".join(head)]
    for r in results:
        delays = [f"{c.delay_h:.0f} h" if c.caught else "missed" for c in r.changes]
        alarms = [f"{r.false_alarm_days}/{r.unchanged_column_days}"]
        alarms.append(f"{r.segment_false_alarm_days}/{r.segment_column_days}")
        maes = [f"{r.estimation_mae.get(m, math.nan):.4f}" for m in ESTIMATED]
        maes.append("/".join(f"{r.estimation_floor.get(m, math.nan):.4f}" for m in ESTIMATED))
        lines.append(" | ".join([str(r.rows_per_day), str(r.seed), *delays, *alarms, *maes]))
    return "\n".join(lines)
