"""MSTL + AutoARIMA core (statsforecast): daily seasonality removed, the trend by AutoARIMA.

Like Prophet it is refitted on a bounded window of the past at the start of each block and
forecasts the block (the prefix gets the first fit's in-sample band), with statsforecast's
``level`` intervals (99.9% by default in the
detectors). The daily season is used only when the window holds at least two full days; on
shorter windows, or data with no sub-daily step, the core is AutoARIMA alone. Gaps in the past
window are interpolated for the fit (statsforecast takes no NaN); the scored values are never
touched.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vigil.core import MissingExtraError
from vigil.detect.base import FloatArray
from vigil.detect.interval import Band
from vigil.lab.forecasting.inputs import (
    Scale,
    TimeArray,
    check_core_arguments,
    daily_period,
    empty_band,
    interpolate_gaps,
    refit_plan,
)
from vigil.lab.forecasting.statespace import quiet_fit


def mstl_band(
    values: FloatArray,
    timestamps: TimeArray,
    fit_length: int,
    level: float,
    *,
    block: int | None = None,
    max_refits: int = 12,
    max_fit_points: int = 4320,
) -> Band:
    """MSTL(daily) with an AutoARIMA trend, refitted on the past before each block."""
    check_core_arguments(values, fit_length, level)
    try:
        from statsforecast.models import MSTL, AutoARIMA
    except ImportError as err:
        raise MissingExtraError("statsforecast", "bench") from err

    band = empty_band(len(values))
    period = daily_period(timestamps)
    percent = round(100.0 * level, 6)
    plan = refit_plan(
        len(values),
        fit_length,
        block=block,
        max_refits=max_refits,
        period=period,
        max_fit_points=max_fit_points,
    )
    for refit in plan:
        past = values[refit.fit_start : refit.fit_stop]
        if int(np.isfinite(past).sum()) < 2:
            continue  # nothing to fit on yet: leave the block without a band
        scale = Scale.of(past)
        history = interpolate_gaps(scale.forward(past))
        model: Any
        if period is not None and len(history) >= 2 * period:
            model = MSTL(season_length=[period], trend_forecaster=AutoARIMA(approximation=True))
        else:
            model = AutoARIMA(approximation=True)
        ahead = refit.band_stop - refit.fit_stop
        in_sample = refit.band_start < refit.fit_stop
        with quiet_fit():
            forecast = model.forecast(y=history, h=max(ahead, 1), level=[percent], fitted=in_sample)
        parts = [_part(forecast, "", ahead)]
        if in_sample:
            parts.insert(0, _part(forecast, "fitted", refit.fit_stop - refit.band_start))
        block_band = scale.inverse(
            Band(
                expected=np.concatenate([p.expected for p in parts]),
                lower=np.concatenate([p.lower for p in parts]),
                upper=np.concatenate([p.upper for p in parts]),
            )
        )
        steps = slice(refit.band_start, refit.band_stop)
        band.expected[steps] = block_band.expected
        band.lower[steps] = block_band.lower
        band.upper[steps] = block_band.upper
    return band


def _part(forecast: dict[str, Any], kind: str, steps: int) -> Band:
    """The first ``steps`` of the forecast (``kind=""``) or the last of the in-sample band.

    statsforecast names the bounds ``lo-<level>``/``fitted-lo-<level>``, spelling the level its
    own way, so they are found by prefix.
    """
    mean_key = kind or "mean"
    lower_key = f"{kind}-lo-" if kind else "lo-"
    upper_key = f"{kind}-hi-" if kind else "hi-"
    (lower,) = (name for name in forecast if name.startswith(lower_key))
    (upper,) = (name for name in forecast if name.startswith(upper_key))
    total = len(np.asarray(forecast[mean_key]))
    tail = slice(0, steps) if not kind else slice(total - steps, total)
    return Band(
        expected=np.asarray(forecast[mean_key], dtype=np.float64)[tail],
        lower=np.asarray(forecast[lower], dtype=np.float64)[tail],
        upper=np.asarray(forecast[upper], dtype=np.float64)[tail],
    )
