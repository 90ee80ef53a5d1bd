"""AR, ARIMA and SARIMAX cores (statsmodels): fit once on the prefix, filter the whole series.

Refitting at every step would cost one optimisation per step. Instead the parameters are
estimated once on the fit prefix, then the Kalman filter runs over the whole series with those
parameters fixed (``results.apply(endog, refit=False)``): its one-step-ahead predictions
(``get_prediction(dynamic=False)``) are causal by construction, the state at ``t`` having seen
only steps before ``t``, and missing values are skipped by the filter. AR needs no filter: its
one-step forecast is a dot product of fitted coefficients with past (forward-filled) values.

Daily seasonality for SARIMAX: when a day is at most ``max_seasonal_period`` steps (hourly data:
24) it is a seasonal AR term of that period; longer periods (5-minute data: 288, 1-minute: 1440)
would make the state as long as the period and the fit minutes long, so the day enters instead
as ``harmonics`` sine/cosine terms of the time of day in the exogenous regressors.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from vigil.detect.interval import Band, z_for_level
from vigil.lab.forecasting.inputs import (
    FloatArray,
    Scale,
    TimeArray,
    check_core_arguments,
    daily_fourier,
    daily_period,
    forward_fill,
    interpolate_gaps,
)


@contextmanager
def quiet_fit() -> Iterator[None]:
    """One BLAS thread and no optimiser warnings while a forecaster fits and filters.

    The matrices are tiny (a state of a few dozen elements) and series run in parallel
    processes, so BLAS threads only contend: on a loaded 2-core machine an ARIMA fit on 120
    steps took 13 s with OpenBLAS's default threads and 0.65 s with one. A baseline that fails
    to converge on a flat prefix still gives a band; its warnings would otherwise be raised as
    errors under the test settings and flood the bench output.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with (
        threadpool_limits(limits=1, user_api="blas"),
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
    ):
        warnings.simplefilter("ignore")
        yield


def ar_band(
    values: FloatArray,
    timestamps: TimeArray,
    fit_length: int,
    level: float,
    *,
    max_lags: int = 24,
) -> Band:
    """AR(p) with a constant, ``p <= max_lags`` chosen by BIC on the fit prefix.

    BIC rather than AIC: AIC overfits short prefixes and understates the noise. No forecast for
    the first ``p`` steps. The forecast uses the forward-filled past, so a missing step does not
    blank the next ``p`` forecasts; the interval is Gaussian with the residual variance of the
    fit.
    """
    del timestamps  # AR looks at the step index only
    check_core_arguments(values, fit_length, level)
    from statsmodels.tsa.ar_model import AutoReg, ar_select_order

    scale = Scale.of(values[:fit_length])
    z = scale.forward(values)
    prefix = interpolate_gaps(z[:fit_length])
    lags_cap = max(1, min(max_lags, fit_length // 5))
    with quiet_fit():
        selection = ar_select_order(prefix, maxlag=lags_cap, ic="bic", trend="c")
        lags = selection.ar_lags or []
        fit = AutoReg(prefix, lags=lags or 0, trend="c").fit()
    params = np.asarray(fit.params, dtype=np.float64)
    sigma = float(np.sqrt(fit.sigma2))
    history = forward_fill(z, initial=0.0)
    expected = np.full(len(z), params[0])
    for coefficient, lag in zip(params[1:], lags, strict=True):
        expected[lag:] += coefficient * history[:-lag]
        expected[:lag] = np.nan
    half = z_for_level(level) * sigma
    band = Band(expected=expected, lower=expected - half, upper=expected + half)
    return scale.inverse(band)


def arima_band(
    values: FloatArray,
    timestamps: TimeArray,
    fit_length: int,
    level: float,
    *,
    order: tuple[int, int, int] = (1, 1, 1),
) -> Band:
    """ARIMA(p, d, q) fitted on the prefix, one-step forecasts by the Kalman filter."""
    del timestamps
    check_core_arguments(values, fit_length, level)
    from statsmodels.tsa.arima.model import ARIMA

    scale = Scale.of(values[:fit_length])
    z = scale.forward(values)
    trend = "c" if order[1] == 0 else "n"
    with quiet_fit():
        fitted = ARIMA(z[:fit_length], order=order, trend=trend).fit()
        band = _one_step_band(fitted.apply(z, refit=False), level)
    return scale.inverse(band)


def sarimax_band(
    values: FloatArray,
    timestamps: TimeArray,
    fit_length: int,
    level: float,
    *,
    order: tuple[int, int, int] = (1, 0, 1),
    max_seasonal_period: int = 48,
    harmonics: int = 3,
) -> Band:
    """SARIMAX with daily seasonality: a seasonal AR term, or time-of-day Fourier regressors.

    Falls back to the Fourier form also when the prefix holds fewer than three days, too few to
    estimate a seasonal coefficient; data with a step of half a day or more get no seasonality.
    """
    check_core_arguments(values, fit_length, level)
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    scale = Scale.of(values[:fit_length])
    z = scale.forward(values)
    period = daily_period(timestamps)
    options: dict[str, Any] = {"order": order, "trend": "c"}
    exog: FloatArray | None = None
    if period is not None and period <= max_seasonal_period and fit_length >= 3 * period:
        options["seasonal_order"] = (1, 0, 0, period)
    elif period is not None:
        exog = daily_fourier(timestamps, harmonics)
    with quiet_fit():
        prefix_exog = None if exog is None else exog[:fit_length]
        fitted = SARIMAX(z[:fit_length], exog=prefix_exog, **options).fit(disp=False)
        band = _one_step_band(fitted.apply(z, exog=exog, refit=False), level)
    return scale.inverse(band)


def _one_step_band(results: Any, level: float) -> Band:
    """One-step-ahead means and intervals of a filtered state-space model."""
    prediction = results.get_prediction(dynamic=False)
    expected = np.asarray(prediction.predicted_mean, dtype=np.float64)
    interval = np.asarray(prediction.conf_int(alpha=1.0 - level), dtype=np.float64)
    return Band(expected=expected, lower=interval[:, 0], upper=interval[:, 1])
