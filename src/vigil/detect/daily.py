"""Same-hour median: the pipeline's default detector for hourly health series.

Health series of a model follow its users through the day, and a new model has days, not weeks,
of history. This detector expects each step to look like the *median of the same hour on the
previous few days* (robust to an incident in that history), and measures "unusual" by the
median absolute residual of the recent past, so a noisy series gets a wide band and a steady
one a narrow band. A relative floor keeps statistically real but operationally tiny changes of
very stable statistics (a p50 over 100k rows) from paging anyone.
"""

from __future__ import annotations

import warnings

import numpy as np

from vigil.core import ConfigError
from vigil.detect.interval import Band, IntervalDetector, scale_floor, z_for_level
from vigil.stats.series import Series

_MAD_TO_STD = 1.4826
ONE_DAY = np.timedelta64(1, "D")


class SameHourMedian(IntervalDetector):
    """Band: median of the same phase over ``days`` past periods ± z·(robust residual scale).

    ``period`` is the seasonal cycle (a day); the series' step is read from its timestamps and
    must be regular (the pipeline's window grid is). Causal: step ``t`` uses steps before ``t``.
    """

    name = "same-hour"

    def __init__(
        self,
        *,
        days: int = 7,
        min_days: int = 2,
        level: float = 0.999,
        relative_floor: float = 0.02,
        absolute_floor: float = 0.0,
        period: np.timedelta64 = ONE_DAY,
    ) -> None:
        super().__init__(level=level)
        if not 1 <= min_days <= days:
            raise ConfigError(f"need 1 <= min_days <= days, got {min_days=} {days=}")
        if relative_floor < 0 or absolute_floor < 0:
            raise ConfigError(f"floors must be >= 0, got {relative_floor=} {absolute_floor=}")
        self.days = days
        self.min_days = min_days
        self.relative_floor = relative_floor
        self.absolute_floor = absolute_floor
        self.period = period

    def band(self, series: Series) -> Band:
        values = series.values
        lag = _steps_per_period(series, self.period)
        past = np.full((len(values), self.days), np.nan)
        for k in range(1, self.days + 1):
            shift = k * lag
            if shift < len(values):
                past[shift:, k - 1] = values[:-shift]
        enough = np.sum(~np.isnan(past), axis=1) >= self.min_days
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # All-NaN rows are expected during warm-up; numpy warns about each one.
            warnings.filterwarnings("ignore", message="All-NaN slice encountered")
            expected = np.where(enough, np.nanmedian(past, axis=1), np.nan)
        import pandas as pd  # on first use: 0.4 CPU s that commands without detection skip

        residual = pd.Series(np.abs(values - expected)).shift(1)
        window = max(lag * self.days, 8)
        robust = residual.rolling(window, min_periods=max(lag // 2, 4)).median().to_numpy()
        scale = _MAD_TO_STD * np.nan_to_num(robust, nan=np.inf)
        floor = np.maximum(scale_floor(values), self.relative_floor * np.abs(expected))
        floor = np.maximum(floor, self.absolute_floor)
        half = z_for_level(self.level) * np.maximum(scale, np.nan_to_num(floor, nan=0.0))
        half = np.where(np.isfinite(half), half, np.nan)
        return Band(expected=expected, lower=expected - half, upper=expected + half)


def _steps_per_period(series: Series, period: np.timedelta64) -> int:
    if len(series) < 2:
        return 1
    step = np.median(np.diff(series.timestamps)).astype("timedelta64[s]")
    if step <= np.timedelta64(0, "s"):
        raise ConfigError(f"series {series.key} has no positive time step")
    return max(1, round(float(period.astype("timedelta64[s]") / step)))
