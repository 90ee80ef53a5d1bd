"""Seasonal z-score: compare each step with the same hour of the week in recent weeks.

Model-health series follow people: traffic, latency and even feature means move with the hour
of day and the day of week. Comparing Monday 09:00 with the last few Mondays at 09:00 removes
that cycle, which the rolling z-score mistakes for anomalies. On daily data the buckets become
days of the week.
"""

from __future__ import annotations

import numpy as np

from vigil.core import ConfigError
from vigil.detect.interval import Band, IntervalDetector, scale_floor
from vigil.detect.zscore import predictive_half_width
from vigil.stats.series import Series

HOURS_PER_WEEK = 168
# 1970-01-01 was a Thursday: shift so bucket 0 is Monday 00:00 UTC.
_EPOCH_WEEKDAY_HOURS = 72


def hour_of_week(timestamps: np.ndarray) -> np.ndarray:
    """Bucket 0..167 of each timestamp (Monday 00:00 UTC is 0)."""
    hours = timestamps.astype("datetime64[h]").astype(np.int64)
    return np.asarray((hours + _EPOCH_WEEKDAY_HOURS) % HOURS_PER_WEEK)


class SeasonalZScore(IntervalDetector):
    """Flags values outside ``mean ± t·std`` of the same hour-of-week over the past ``weeks``."""

    name = "seasonal"

    def __init__(self, *, weeks: int = 4, min_periods: int = 3, level: float = 0.99) -> None:
        super().__init__(level=level)
        if weeks < 1 or min_periods < 2:
            raise ConfigError(f"need weeks >= 1 and min_periods >= 2, got {weeks=} {min_periods=}")
        self.weeks = weeks
        self.min_periods = min_periods

    def band(self, series: Series) -> Band:
        mean, std, count = same_bucket_stats(
            series.timestamps, series.values, np.timedelta64(7 * self.weeks, "D")
        )
        enough = count >= self.min_periods
        mean = np.where(enough, mean, np.nan)
        std = np.maximum(np.nan_to_num(std, nan=0.0), scale_floor(series.values))
        half = predictive_half_width(std, count, self.level)
        return Band(expected=mean, lower=mean - half, upper=mean + half)


def same_bucket_stats(
    timestamps: np.ndarray, values: np.ndarray, span: np.timedelta64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sample std and count of the earlier steps in the same hour-of-week within ``span``.

    Vectorised with one sort and prefix sums (a per-bucket pandas rolling costs 168 small
    rolls per series). The window is ``[t - span, t)``: the step itself is excluded.
    """
    n = len(values)
    if n == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    seconds = timestamps.astype("datetime64[s]").astype(np.int64)
    seconds = seconds - seconds.min()
    width = int(span / np.timedelta64(1, "s"))
    keys = hour_of_week(timestamps).astype(np.int64) * (int(seconds.max()) + width + 1) + seconds
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    present = ~np.isnan(values[order])
    # Centre on the first value before squaring, so prefix sums of large values do not cancel
    # (the first value, not the mean: a step's numbers must not depend on later steps).
    finite = values[~np.isnan(values)]
    offset = float(finite[0]) if finite.size else 0.0
    centred = np.where(present, values[order] - offset, 0.0)
    # Prefix sums restart in every bucket: a running total over the whole sort order would let
    # later steps of an earlier bucket perturb the rounding of this one (a causality leak).
    buckets = sorted_keys // (int(seconds.max()) + width + 1)
    starts = np.flatnonzero(np.diff(np.concatenate([[-1], buckets])))
    sum1, sum2, taken = np.zeros(n + 1), np.zeros(n + 1), np.zeros(n + 1)
    for begin, end in zip(starts, np.append(starts[1:], n), strict=True):
        part = centred[begin:end]
        sum1[begin + 1 : end + 1] = np.cumsum(part)
        sum2[begin + 1 : end + 1] = np.cumsum(part**2)
        taken[begin + 1 : end + 1] = np.cumsum(present[begin:end])
    # first/last index the sorted order; sums of a window are local to its bucket.
    group_start = np.repeat(starts, np.diff(np.append(starts, n)))
    first = np.searchsorted(sorted_keys, sorted_keys - width, side="left")
    last = np.arange(n)

    # Entry begin+k holds the bucket's sum of its first k steps; entry "begin" itself belongs to
    # the previous bucket, so an index at its bucket's start reads 0 instead.
    def local(sums: np.ndarray, index: np.ndarray) -> np.ndarray:
        return np.where(index == group_start, 0.0, sums[index])

    count_sorted = local(taken, last) - local(taken, first)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_sorted = (local(sum1, last) - local(sum1, first)) / count_sorted
        squares = local(sum2, last) - local(sum2, first)
        var_sorted = (squares - count_sorted * mean_sorted**2) / (count_sorted - 1)
    var_sorted = np.where(count_sorted >= 2, np.maximum(var_sorted, 0.0), np.nan)
    mean, std, count = np.empty(n), np.empty(n), np.empty(n)
    mean[order] = np.where(count_sorted > 0, mean_sorted + offset, np.nan)
    std[order] = np.sqrt(var_sorted)
    count[order] = count_sorted
    return mean, std, count
