"""Rolling z-score: the naive baseline that every other detector must beat.

The expected value is the mean of the last ``window`` steps and the band is Student-t prediction
interval around it. It knows nothing of seasonality, so on a series with a daily cycle it fires
every morning: that failure is the point of keeping it in the benchmark.
"""

from __future__ import annotations

import numpy as np

from vigil.core import ConfigError
from vigil.detect.base import FloatArray
from vigil.detect.interval import Band, IntervalDetector, check_level, scale_floor
from vigil.stats.series import Series


def predictive_half_width(std: FloatArray, count: FloatArray, level: float) -> FloatArray:
    """Half-width of the Student-t prediction interval for one new draw at ``level``.

    ``t_{n-1} * s * sqrt(1 + 1/n)`` where ``s`` and ``n`` are the sample std and size: a small
    sample gives a wider band instead of a flood of alarms.
    """
    # scipy.special, not scipy.stats (whose t.ppf is this same function): imported on first
    # use, it keeps scipy.stats (0.8 CPU s) out of every command that imports the detectors.
    from scipy import special

    check_level(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        dof = np.where(count >= 2, count - 1, np.nan)
        t = special.stdtrit(dof, 0.5 + level / 2.0)
        return np.asarray(t * std * np.sqrt(1.0 + 1.0 / count), dtype=np.float64)


class RollingZScore(IntervalDetector):
    """Flags values outside ``mean ± t·std`` of the previous ``window`` steps."""

    name = "zscore"

    def __init__(self, *, window: int = 48, min_periods: int = 12, level: float = 0.99) -> None:
        super().__init__(level=level)
        if window < 2 or not 2 <= min_periods <= window:
            raise ConfigError(
                f"need window >= 2 and 2 <= min_periods <= window, got {window=} {min_periods=}"
            )
        self.window = window
        self.min_periods = min_periods

    def band(self, series: Series) -> Band:
        import pandas as pd  # on first use: 0.4 CPU s that commands without detection skip

        past = pd.Series(series.values).shift(1).rolling(self.window, min_periods=self.min_periods)
        mean = past.mean().to_numpy(dtype=np.float64)
        std = past.std().to_numpy(dtype=np.float64)
        count = past.count().to_numpy(dtype=np.float64)
        std = np.maximum(std, scale_floor(series.values))
        half = predictive_half_width(std, count, self.level)
        return Band(expected=mean, lower=mean - half, upper=mean + half)
