"""The detectors the bench can name: the product's, plus the laboratory's baselines.

The product registry (:data:`vigil.detect.DETECTORS`) lists what ``vigil run`` can watch with.
The bench also compares against forecasting baselines that need statsmodels, Prophet or
statsforecast (the ``bench`` extra); they live here so no product module imports them.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.core import ConfigError
from vigil.detect import DETECTORS, CalibratedDetector, Detector, make_detector
from vigil.lab.forecasting import (
    ARDetector,
    ARIMADetector,
    MSTLDetector,
    ProphetDetector,
    SARIMAXDetector,
)

FORECASTING_DETECTORS: dict[str, Callable[[], Detector]] = {
    "ar": ARDetector,
    "arima": ARIMADetector,
    "sarimax": SARIMAXDetector,
    "prophet": ProphetDetector,
    "mstl-autoarima": MSTLDetector,
}


def calibrated(name: str) -> Callable[[], Detector]:
    """A factory for the product detector ``name`` behind the calibration layer."""

    def factory() -> Detector:
        return CalibratedDetector(make_detector(name))

    return factory


CALIBRATED_DETECTORS: dict[str, Callable[[], Detector]] = {
    f"calibrated-{name}": calibrated(name) for name in ("zscore", "mad", "seasonal", "same-hour")
}
"""The statistical baselines behind the calibration layer (:class:`CalibratedDetector`)."""

# The bench's tables list the statistical baselines, then the forecasters, then the rest.
BENCH_DETECTORS: dict[str, Callable[[], Detector]] = {
    **{name: factory for name, factory in DETECTORS.items() if not name.startswith("deep")},
    **FORECASTING_DETECTORS,
    "deep": DETECTORS["deep"],
    "deep-calibrated": DETECTORS["deep-calibrated"],
    **CALIBRATED_DETECTORS,
}


def make_bench_detector(name: str) -> Detector:
    """Build the bench detector ``name``; an unknown name lists the known ones."""
    try:
        factory = BENCH_DETECTORS[name]
    except KeyError:
        known = ", ".join(sorted(BENCH_DETECTORS))
        raise ConfigError(f"unknown detector {name!r}; known detectors: {known}") from None
    return factory()
