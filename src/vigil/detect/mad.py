"""Rolling median and MAD: the z-score made robust to the outliers it is looking for.

A spike inflates a rolling std for a whole window and hides the next spike; the median and the
median absolute deviation (scaled by 1.4826 to estimate a normal std) barely move.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from vigil.core import ConfigError
from vigil.detect.interval import Band, IntervalDetector, scale_floor, z_for_level
from vigil.stats.series import Series

MAD_TO_STD = 1.4826


class RollingMAD(IntervalDetector):
    """Flags values outside ``median ± z·1.4826·MAD`` of the previous ``window`` steps."""

    name = "mad"

    def __init__(self, *, window: int = 48, min_periods: int = 12, level: float = 0.99) -> None:
        super().__init__(level=level)
        if window < 2 or not 1 <= min_periods <= window:
            raise ConfigError(
                f"need window >= 2 and 1 <= min_periods <= window, got {window=} {min_periods=}"
            )
        self.window = window
        self.min_periods = min_periods

    def band(self, series: Series) -> Band:
        n = len(series)
        # Row t of the view holds steps t-window .. t-1: the past only.
        padded = np.concatenate([np.full(self.window, np.nan), series.values[:-1] if n else []])
        past = sliding_window_view(padded, self.window)[:n]
        count = np.sum(~np.isnan(past), axis=1)
        with warnings.catch_warnings():
            # All-NaN rows (warm-up, gaps) are expected; they become NaN bands below.
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(past, axis=1)
            mad = np.nanmedian(np.abs(past - median[:, None]), axis=1)
        median = np.where(count >= self.min_periods, median, np.nan)
        scale = np.maximum(MAD_TO_STD * mad, scale_floor(series.values))
        half = z_for_level(self.level) * scale
        return Band(expected=median, lower=median - half, upper=median + half)
