"""Prophet core: refit on the past at the start of each block, forecast the block.

Prophet has no causal filter to run over new data with fixed parameters, so it is refitted on a
bounded window of the past (at most ``max_fit_points`` steps) at the start of each block of
:func:`~vigil.lab.forecasting.inputs.refit_plan` and forecasts that block with
``interval_width = level``; the prefix gets the first fit's in-sample band. Prophet draws its
uncertainty samples from NumPy's global generator; the core seeds it from ``seed`` and restores
the caller's state afterwards, so results repeat without leaking a reseed into the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from vigil.core import MissingExtraError
from vigil.detect.base import FloatArray
from vigil.detect.interval import Band
from vigil.lab.forecasting.inputs import (
    TimeArray,
    check_core_arguments,
    daily_period,
    empty_band,
    refit_plan,
)
from vigil.lab.forecasting.statespace import quiet_fit

# Prophet's loggers report a missing plotly at import and fallbacks during fits; they are raised
# above ERROR only while this module works and restored afterwards (the library never configures
# logging). cmdstanpy, which announces every Stan run at INFO and installs its own handler on
# first use, is muted with its own ``disable_logging`` switch, which also restores its state.
_CHATTY_LOGGERS = ("prophet", "prophet.plot", "prophet.models")


@contextmanager
def quiet_loggers(names: tuple[str, ...] = _CHATTY_LOGGERS) -> Iterator[None]:
    """Raise the named libraries' logger levels above ERROR for the duration, then restore."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, saved, strict=True):
            logger.setLevel(level)


def prophet_band(
    values: FloatArray,
    timestamps: TimeArray,
    fit_length: int,
    level: float,
    *,
    block: int | None = None,
    max_refits: int = 12,
    max_fit_points: int = 4000,
    uncertainty_samples: int = 1000,
    seed: int = 0,
) -> Band:
    """Prophet forecasts with ``level`` intervals, refitted on the past before each block."""
    check_core_arguments(values, fit_length, level)
    with quiet_loggers():
        try:
            import pandas as pd
            from cmdstanpy import disable_logging
            from prophet import Prophet
        except ImportError as err:
            raise MissingExtraError("prophet", "bench") from err

    band = empty_band(len(values))
    plan = refit_plan(
        len(values),
        fit_length,
        block=block,
        max_refits=max_refits,
        period=daily_period(timestamps),
        max_fit_points=max_fit_points,
    )
    moments = pd.to_datetime(timestamps.astype("datetime64[ns]"))
    saved_state = np.random.get_state()
    np.random.seed(seed)
    try:
        with quiet_loggers(), disable_logging(), quiet_fit():
            for refit in plan:
                window = slice(refit.fit_start, refit.fit_stop)
                past = pd.DataFrame({"ds": moments[window], "y": values[window]})
                if int(past["y"].notna().sum()) < 2:
                    continue  # nothing to fit on yet: leave the block without a band
                model: Any = Prophet(interval_width=level, uncertainty_samples=uncertainty_samples)
                model.fit(past)
                steps = slice(refit.band_start, refit.band_stop)
                forecast = model.predict(pd.DataFrame({"ds": moments[steps]}))
                band.expected[steps] = forecast["yhat"].to_numpy(dtype=np.float64)
                band.lower[steps] = forecast["yhat_lower"].to_numpy(dtype=np.float64)
                band.upper[steps] = forecast["yhat_upper"].to_numpy(dtype=np.float64)
    finally:
        np.random.set_state(saved_state)
    return band
