"""Forecasting baselines: AR, ARIMA, SARIMAX, Prophet, MSTL + AutoARIMA and DeepAR.

Each flags steps outside a causal prediction interval at a nominal ``level`` (0.999 by default,
matching statsforecast's 99.9%). Importing this package imports no forecasting library: each
core imports statsmodels, Prophet, statsforecast or GluonTS/torch inside the function that
needs it, and a missing optional one raises :class:`~vigil.core.MissingExtraError` naming the
``bench`` extra.
"""

from vigil.lab.forecasting.deepar import DeepARDetector
from vigil.lab.forecasting.detectors import (
    ARDetector,
    ARIMADetector,
    ForecastDetector,
    MSTLDetector,
    ProphetDetector,
    SARIMAXDetector,
)
from vigil.lab.forecasting.inputs import ForecastCore, fit_length_for
from vigil.lab.forecasting.mstl import mstl_band
from vigil.lab.forecasting.prophet_core import prophet_band
from vigil.lab.forecasting.statespace import ar_band, arima_band, sarimax_band

__all__ = [
    "ARDetector",
    "ARIMADetector",
    "DeepARDetector",
    "ForecastCore",
    "ForecastDetector",
    "MSTLDetector",
    "ProphetDetector",
    "SARIMAXDetector",
    "ar_band",
    "arima_band",
    "fit_length_for",
    "mstl_band",
    "prophet_band",
    "sarimax_band",
]
