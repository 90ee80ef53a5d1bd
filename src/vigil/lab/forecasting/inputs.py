"""What every forecasting core needs from its input: fit length, daily period, scaling, gaps.

A forecasting baseline is a *core*: a plain function ``(values, timestamps, fit_length, level)
-> Band`` whose band at step ``t`` uses only steps before ``t``. A core learns its parameters on
the fit prefix ``[0, fit_length)`` only; on the prefix itself the band is the in-sample one-step
forecast (the harness calibrates thresholds there and never counts those steps), after it every
forecast is out of sample.

Keeping the cores as functions of arrays lets one adapter turn any of them into a
:class:`~vigil.detect.Detector`, lets the tests check causality on bare arrays, and keeps the heavy
libraries (statsmodels, Prophet, statsforecast, GluonTS) behind the one function that needs each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError
from vigil.detect.interval import Band

FloatArray = npt.NDArray[np.float64]
TimeArray = npt.NDArray[np.datetime64]

SECONDS_PER_DAY = 86_400


class ForecastCore(Protocol):
    """The signature every forecasting core has (the plug-in point of this package)."""

    def __call__(
        self, values: FloatArray, timestamps: TimeArray, fit_length: int, level: float
    ) -> Band: ...


def check_core_arguments(values: FloatArray, fit_length: int, level: float) -> None:
    """Reject arguments no core can work with, quoting the bad value."""
    if not 0.0 < level < 1.0:
        raise ConfigError(f"level must be in (0, 1), got {level!r}")
    if not 2 <= fit_length <= len(values):
        raise ConfigError(f"fit_length must be in [2, {len(values)}], got {fit_length!r}")


def fit_length_for(n: int, *, fraction: float, max_points: int, min_points: int = 16) -> int:
    """How many leading steps of an ``n``-step series to fit on.

    ``fraction`` of the series (NAB's probationary 15% by default), at least ``min_points`` and
    at most ``max_points`` so the fit cost stays bounded on long series, never the whole series.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"fit fraction must be in (0, 1), got {fraction!r}")
    wanted = max(min_points, math.ceil(fraction * n))
    return max(2, min(wanted, max_points, n - 1))


def median_step_seconds(timestamps: TimeArray) -> float:
    """The median spacing of the timestamps in seconds (robust to gaps and jitter)."""
    if len(timestamps) < 2:
        raise ConfigError(f"need at least 2 timestamps to find a step, got {len(timestamps)}")
    steps = np.diff(timestamps.astype("datetime64[s]").astype(np.int64))
    return float(np.median(steps))


def daily_period(timestamps: TimeArray) -> int | None:
    """Steps per day, or None when a day is less than two steps (daily or coarser data)."""
    step = median_step_seconds(timestamps)
    if step <= 0 or step > SECONDS_PER_DAY / 2:
        return None
    return round(SECONDS_PER_DAY / step)


def daily_fourier(timestamps: TimeArray, harmonics: int) -> FloatArray:
    """Sine/cosine terms of the time of day, ``2 * harmonics`` columns.

    Built from the clock, not the step index, so irregular steps and gaps keep the right phase,
    and known in advance for every step (a causal exogenous regressor).
    """
    seconds = timestamps.astype("datetime64[s]").astype(np.int64)
    phase = 2.0 * np.pi * (seconds % SECONDS_PER_DAY) / SECONDS_PER_DAY
    columns = [f(k * phase) for k in range(1, harmonics + 1) for f in (np.sin, np.cos)]
    return np.column_stack(columns).astype(np.float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scale:
    """Location and scale of the fit prefix, so models are fitted on standardized values.

    Optimizers behave on unit-scale data whether the series counts bytes (1e5) or crash rates
    (1e-3); bands are mapped back afterwards.
    """

    center: float
    spread: float

    @classmethod
    def of(cls, prefix: FloatArray) -> Scale:
        """Mean and std of the finite prefix values (a tiny spread if the prefix is flat)."""
        finite = prefix[np.isfinite(prefix)]
        if finite.size == 0:
            raise ConfigError("the fit prefix has no finite value: cannot fit a forecaster")
        center = float(np.mean(finite))
        spread = float(np.std(finite))
        if not spread > 1e-12 * max(1.0, abs(center)):
            spread = max(1.0, abs(center)) * 1e-6
        return cls(center=center, spread=spread)

    def forward(self, values: FloatArray) -> FloatArray:
        """Values on the standardized scale."""
        return (values - self.center) / self.spread

    def inverse(self, band: Band) -> Band:
        """A band on the standardized scale mapped back to the series' units."""
        return Band(
            expected=band.expected * self.spread + self.center,
            lower=band.lower * self.spread + self.center,
            upper=band.upper * self.spread + self.center,
        )


def interpolate_gaps(values: FloatArray) -> FloatArray:
    """NaN steps filled by linear interpolation (ends by the nearest value), for fitting only."""
    filled = values.astype(np.float64, copy=True)
    missing = ~np.isfinite(filled)
    if missing.all():
        raise ConfigError("cannot interpolate a series with no finite value")
    if missing.any():
        index = np.arange(len(filled))
        filled[missing] = np.interp(index[missing], index[~missing], filled[~missing])
    return filled


def forward_fill(values: FloatArray, initial: float) -> FloatArray:
    """NaN steps replaced by the last finite value before them (causal); ``initial`` if none."""
    filled = values.astype(np.float64, copy=True)
    missing = ~np.isfinite(filled)
    if not missing.any():
        return filled
    index = np.where(missing, 0, np.arange(len(filled)))
    np.maximum.accumulate(index, out=index)
    filled = np.asarray(filled[index], dtype=np.float64)
    leading = ~np.isfinite(filled)
    filled[leading] = initial
    return filled


@dataclass(frozen=True, slots=True, kw_only=True)
class Refit:
    """Fit on ``[fit_start, fit_stop)``, then give a band for ``[band_start, band_stop)``."""

    fit_start: int
    fit_stop: int
    band_start: int
    band_stop: int


def refit_plan(
    n: int,
    fit_length: int,
    *,
    block: int | None,
    max_refits: int,
    period: int | None,
    max_fit_points: int,
) -> list[Refit]:
    """When to refit a forecaster that has no cheap causal filter (Prophet, MSTL), and on what.

    The first fit is on the prefix (at most ``max_fit_points`` of its last steps) and gives the
    in-sample band of those steps plus the forecast of the first block after it; every later
    block starts with a refit on the past only (the last ``max_fit_points`` steps) and forecasts
    the whole block. ``block`` defaults to one day of steps (24 without a daily period) and grows
    so that at most ``max_refits`` fits are made per series: larger blocks mean longer horizons
    and wider bands, never a look at the scored future.
    """
    if max_fit_points < 2:
        raise ConfigError(f"max_fit_points must be at least 2, got {max_fit_points!r}")
    starts = [
        start
        for start, _ in _blocks(n, fit_length, block=block, max_refits=max_refits, period=period)
    ]
    stops = [*starts[1:], n] if starts else []
    first_fit = max(0, fit_length - max_fit_points)
    plan = [
        Refit(
            fit_start=first_fit,
            fit_stop=fit_length,
            band_start=first_fit,
            band_stop=stops[0] if stops else fit_length,
        )
    ]
    plan += [
        Refit(
            fit_start=max(0, start - max_fit_points),
            fit_stop=start,
            band_start=start,
            band_stop=stop,
        )
        for start, stop in zip(starts[1:], stops[1:], strict=True)
    ]
    return plan


def _blocks(
    n: int, fit_length: int, *, block: int | None, max_refits: int, period: int | None
) -> list[tuple[int, int]]:
    if max_refits < 1:
        raise ConfigError(f"max_refits must be at least 1, got {max_refits!r}")
    if block is not None and block < 1:
        raise ConfigError(f"block must be at least 1 step, got {block!r}")
    scored = n - fit_length
    if scored <= 0:
        return []
    size = block if block is not None else (period or 24)
    size = max(size, math.ceil(scored / max_refits))
    return [(start, min(start + size, n)) for start in range(fit_length, n, size)]


def empty_band(n: int) -> Band:
    """An all-NaN band of ``n`` steps (no opinion), filled in by the cores."""
    return Band(expected=np.full(n, np.nan), lower=np.full(n, np.nan), upper=np.full(n, np.nan))
