"""The forecasting baselines as detectors: one adapter, five thin subclasses.

Each detector turns a core (a causal ``(values, timestamps, fit_length, level) -> Band``
function) into an :class:`~vigil.detect.interval.IntervalDetector`. ``fit(history)`` remembers,
per series key, where that series' history ends; ``score`` then fits the core on exactly that
prefix (at most ``max_fit_points`` steps) and forecasts the rest causally. The parameters are
estimated when scoring rather than in ``fit`` because they are only meaningful together with the
series they were estimated on, and because refitting forecasters (Prophet, MSTL) must refit as
the series goes on anyway. A series with no history gets the first ``fit_fraction`` of its own
steps (at most ``max_fit_points``).

Every band is widened to at least :func:`~vigil.detect.interval.scale_floor`, as the statistical
baselines are, so a flat stretch does not turn the first small change into an infinite score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np

from vigil.core import ConfigError, SeriesKey
from vigil.detect.base import FloatArray
from vigil.detect.interval import Band, IntervalDetector, scale_floor
from vigil.lab.forecasting.inputs import TimeArray, empty_band, fit_length_for
from vigil.lab.forecasting.mstl import mstl_band
from vigil.lab.forecasting.prophet_core import prophet_band
from vigil.lab.forecasting.statespace import ar_band, arima_band, sarimax_band
from vigil.stats.series import Series

MIN_FIT_VALUES = 8


class ForecastDetector(IntervalDetector):
    """Shared adapter: history bookkeeping, the fit prefix, the band floor.

    Subclasses implement :meth:`forecast`. ``fit_lengths_`` maps a series key to the first
    timestamp and length of its history, so a scored series is matched to its own past only.
    """

    name = "forecast"

    def __init__(
        self, *, level: float = 0.999, fit_fraction: float = 0.15, max_fit_points: int = 2000
    ) -> None:
        super().__init__(level=level)
        if max_fit_points < MIN_FIT_VALUES:
            raise ConfigError(f"max_fit_points must be >= {MIN_FIT_VALUES}, got {max_fit_points!r}")
        if not 0.0 < fit_fraction < 1.0:
            raise ConfigError(f"fit_fraction must be in (0, 1), got {fit_fraction!r}")
        self.fit_fraction = fit_fraction
        self.max_fit_points = max_fit_points
        self.fit_lengths_: dict[SeriesKey, tuple[np.datetime64, int]] = {}

    def fit(self, history: Sequence[Series]) -> Self:
        """Remember where each series' history ends; forget earlier fits."""
        self.fit_lengths_ = {one.key: (one.timestamps[0], len(one)) for one in history if len(one)}
        return self

    def fit_length(self, series: Series) -> int:
        """The prefix the core fits on: the series' history if known, else its first fraction."""
        known = self.fit_lengths_.get(series.key)
        if known is not None and len(series) and series.timestamps[0] == known[0]:
            return max(2, min(known[1], self.max_fit_points, len(series)))
        return fit_length_for(
            len(series), fraction=self.fit_fraction, max_points=self.max_fit_points
        )

    def band(self, series: Series) -> Band:
        n = len(series)
        fit_length = self.fit_length(series) if n >= 3 else 0
        if fit_length < 2 or np.isfinite(series.values[:fit_length]).sum() < MIN_FIT_VALUES:
            return empty_band(n)  # too little history to fit anything: no opinion
        raw = self.forecast(series.values, series.timestamps, fit_length)
        return widen(raw, scale_floor(series.values))

    def forecast(self, values: FloatArray, timestamps: TimeArray, fit_length: int) -> Band:
        """The core's causal band for every step, fitted on ``values[:fit_length]``."""
        raise NotImplementedError(f"{type(self).__name__} must implement forecast()")


def widen(band: Band, floor: FloatArray) -> Band:
    """Each side of the band at least ``floor`` away from the expected value."""
    with np.errstate(invalid="ignore"):
        lower = np.minimum(band.lower, band.expected - floor)
        upper = np.maximum(band.upper, band.expected + floor)
    return Band(expected=band.expected, lower=lower, upper=upper)


class ARDetector(ForecastDetector):
    """AR(p) one-step forecasts, ``p <= max_lags`` by BIC (statsmodels ``AutoReg``)."""

    name = "ar"

    def __init__(
        self,
        *,
        level: float = 0.999,
        fit_fraction: float = 0.15,
        max_fit_points: int = 2000,
        max_lags: int = 24,
    ) -> None:
        super().__init__(level=level, fit_fraction=fit_fraction, max_fit_points=max_fit_points)
        if max_lags < 1:
            raise ConfigError(f"max_lags must be >= 1, got {max_lags!r}")
        self.max_lags = max_lags

    def forecast(self, values: FloatArray, timestamps: TimeArray, fit_length: int) -> Band:
        return ar_band(values, timestamps, fit_length, self.level, max_lags=self.max_lags)


class ARIMADetector(ForecastDetector):
    """ARIMA(p, d, q) one-step forecasts by the Kalman filter with prefix-fitted parameters."""

    name = "arima"

    def __init__(
        self,
        *,
        level: float = 0.999,
        fit_fraction: float = 0.15,
        max_fit_points: int = 2000,
        order: tuple[int, int, int] = (1, 1, 1),
    ) -> None:
        super().__init__(level=level, fit_fraction=fit_fraction, max_fit_points=max_fit_points)
        if len(order) != 3 or min(order) < 0:
            raise ConfigError(f"order must be three non-negative integers (p, d, q), got {order!r}")
        self.order = order

    def forecast(self, values: FloatArray, timestamps: TimeArray, fit_length: int) -> Band:
        return arima_band(values, timestamps, fit_length, self.level, order=self.order)


class SARIMAXDetector(ForecastDetector):
    """SARIMAX with daily seasonality (seasonal AR term up to period 48, else Fourier terms).

    ``max_fit_points`` defaults lower than for AR/ARIMA: a seasonal state of 24+ elements makes
    each likelihood evaluation ~25 times dearer.
    """

    name = "sarimax"

    def __init__(
        self,
        *,
        level: float = 0.999,
        fit_fraction: float = 0.15,
        max_fit_points: int = 1000,
        order: tuple[int, int, int] = (1, 0, 1),
        max_seasonal_period: int = 48,
        harmonics: int = 3,
    ) -> None:
        super().__init__(level=level, fit_fraction=fit_fraction, max_fit_points=max_fit_points)
        if len(order) != 3 or min(order) < 0:
            raise ConfigError(f"order must be three non-negative integers (p, d, q), got {order!r}")
        if harmonics < 1:
            raise ConfigError(f"harmonics must be >= 1, got {harmonics!r}")
        self.order = order
        self.max_seasonal_period = max_seasonal_period
        self.harmonics = harmonics

    def forecast(self, values: FloatArray, timestamps: TimeArray, fit_length: int) -> Band:
        return sarimax_band(
            values,
            timestamps,
            fit_length,
            self.level,
            order=self.order,
            max_seasonal_period=self.max_seasonal_period,
            harmonics=self.harmonics,
        )


class ProphetDetector(ForecastDetector):
    """Prophet, refitted on the past before each block (at most ``max_refits`` per series)."""

    name = "prophet"

    def __init__(
        self,
        *,
        level: float = 0.999,
        fit_fraction: float = 0.15,
        max_fit_points: int = 4000,
        block: int | None = None,
        max_refits: int = 12,
        uncertainty_samples: int = 1000,
        seed: int = 0,
    ) -> None:
        super().__init__(level=level, fit_fraction=fit_fraction, max_fit_points=max_fit_points)
        self.block = block
        self.max_refits = max_refits
        self.uncertainty_samples = uncertainty_samples
        self.seed = seed

    def forecast(self, values: FloatArray, timestamps: TimeArray, fit_length: int) -> Band:
        return prophet_band(
            values,
            timestamps,
            fit_length,
            self.level,
            block=self.block,
            max_refits=self.max_refits,
            max_fit_points=self.max_fit_points,
            uncertainty_samples=self.uncertainty_samples,
            seed=self.seed,
        )


class MSTLDetector(ForecastDetector):
    """MSTL (daily season) with an AutoARIMA trend, refitted on the past before each block."""

    name = "mstl-autoarima"

    def __init__(
        self,
        *,
        level: float = 0.999,
        fit_fraction: float = 0.15,
        max_fit_points: int = 4320,
        block: int | None = None,
        max_refits: int = 12,
    ) -> None:
        super().__init__(level=level, fit_fraction=fit_fraction, max_fit_points=max_fit_points)
        self.block = block
        self.max_refits = max_refits

    def forecast(self, values: FloatArray, timestamps: TimeArray, fit_length: int) -> Band:
        return mstl_band(
            values,
            timestamps,
            fit_length,
            self.level,
            block=self.block,
            max_refits=self.max_refits,
            max_fit_points=self.max_fit_points,
        )
