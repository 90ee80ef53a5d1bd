"""The product detectors the pipeline can name: a plain dict from name to factory.

Each factory builds a detector with its default settings, or with the keyword options given to
:func:`make_detector`. Read it to see what exists; add an
entry with one line. The bench's registry (:data:`vigil.lab.BENCH_DETECTORS`) adds the
laboratory baselines (forecasters that need statsmodels, Prophet or statsforecast) to these.
Third-party detectors will come through entry points, not import-time registration.
"""

from __future__ import annotations

from collections.abc import Callable

from vigil.core import ConfigError
from vigil.detect.base import Detector
from vigil.detect.consensus import ConsensusDetector
from vigil.detect.daily import SameHourMedian
from vigil.detect.deep import CalibratedDeepDetector, DeepDetector
from vigil.detect.mad import RollingMAD
from vigil.detect.seasonal import SeasonalZScore
from vigil.detect.zscore import RollingZScore

DEFAULT_DETECTOR = "consensus"
"""The detector ``vigil run`` watches health series with when the config names none
(``[detect] detector``)."""

DETECTORS: dict[str, Callable[..., Detector]] = {
    # Statistical baselines.
    "zscore": RollingZScore,
    "mad": RollingMAD,
    "seasonal": SeasonalZScore,
    "same-hour": SameHourMedian,
    "deep": DeepDetector,  # two-stage global model on the shipped weights (vigil.detect.deep)
    "deep-calibrated": CalibratedDeepDetector,  # deep's forecast behind the calibration layer
    # The default: calibrated residual + novelty + runs (vigil.detect.consensus).
    "consensus": ConsensusDetector,
}


def make_detector(name: str, **options: object) -> Detector:
    """Build the registered detector ``name`` with ``options`` (keyword arguments of its
    factory); an unknown name lists the known ones, an unknown option names the detector."""
    try:
        factory = DETECTORS[name]
    except KeyError:
        known = ", ".join(sorted(DETECTORS))
        raise ConfigError(f"unknown detector {name!r}; known detectors: {known}") from None
    try:
        return factory(**options)
    except TypeError as err:
        raise ConfigError(
            f"detector {name!r} does not take options {sorted(options)}: {err}"
        ) from err
