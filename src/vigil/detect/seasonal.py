"""Seasonal z-score: compare each step with the same hour of the week in recent weeks.

Model-health series follow people: traffic, latency and even feature means move with the hour
of day and the day of week. Comparing Monday 09:00 with the last few Mondays at 09:00 removes
that cycle, which the rolling z-score mistakes for anomalies. On daily data the buckets become
days of the week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
        n = len(series)
        mean = np.full(n, np.nan)
        std = np.full(n, np.nan)
        count = np.zeros(n)
        if n:
            frame = pd.DataFrame(
                {"value": series.values, "bucket": hour_of_week(series.timestamps)},
                index=pd.DatetimeIndex(series.timestamps.astype("datetime64[ns]")),
            )
            frame["position"] = np.arange(n)
            span = f"{7 * self.weeks}D"
            for _, group in frame.groupby("bucket", sort=False):
                # closed="left": the window ends just before the step, so the band is causal.
                rolling = group["value"].rolling(span, closed="left")
                where = group["position"].to_numpy()
                mean[where] = rolling.mean().to_numpy(dtype=np.float64)
                std[where] = rolling.std().to_numpy(dtype=np.float64)
                count[where] = rolling.count().to_numpy(dtype=np.float64)
        enough = count >= self.min_periods
        mean = np.where(enough, mean, np.nan)
        std = np.maximum(np.nan_to_num(std, nan=0.0), scale_floor(series.values))
        half = predictive_half_width(std, count, self.level)
        return Band(expected=mean, lower=mean - half, upper=mean + half)
