"""Vigil's detect layer: health series in, scored and flagged steps with their evidence out.

The lifecycle (``fit``, ``score``, ``infer_threshold``, ``predict``) is the :class:`Detector`
protocol in ``base``; per-series band detectors share :class:`IntervalDetector`; the named
product detectors are the plain dict :data:`DETECTORS`. Everything that judges detectors (labeled
data, simulators, NAB scoring, forecasting baselines, training) lives in :mod:`vigil.lab`.
"""

from typing import TYPE_CHECKING

from vigil.core.lazy import lazy_exports

if TYPE_CHECKING:
    from vigil.detect.anomaly import Anomaly
    from vigil.detect.base import Detection, Detector, Scores
    from vigil.detect.calibration import (
        CalibratedDetector,
        Calibration,
        CalibrationError,
        calibrate,
        calibrated_threshold,
        suppress,
        tail_probability,
    )
    from vigil.detect.consensus import (
        ConsensusDetector,
        ConsensusSettings,
        Evidence,
        EvidenceMemo,
    )
    from vigil.detect.daily import SameHourMedian
    from vigil.detect.fakes import ThresholdDetector
    from vigil.detect.interval import (
        Band,
        IntervalDetector,
        check_fpr,
        check_level,
        flag,
        scale_floor,
        scores_from_band,
        threshold_for_fpr,
        z_for_level,
    )
    from vigil.detect.mad import RollingMAD
    from vigil.detect.registry import DEFAULT_DETECTOR, DETECTORS, make_detector
    from vigil.detect.seasonal import SeasonalZScore, hour_of_week
    from vigil.detect.zscore import RollingZScore, predictive_half_width

__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "Anomaly",
    "Band",
    "CalibratedDetector",
    "Calibration",
    "CalibrationError",
    "ConsensusDetector",
    "ConsensusSettings",
    "Detection",
    "Detector",
    "Evidence",
    "EvidenceMemo",
    "IntervalDetector",
    "RollingMAD",
    "RollingZScore",
    "SameHourMedian",
    "Scores",
    "SeasonalZScore",
    "ThresholdDetector",
    "calibrate",
    "calibrated_threshold",
    "check_fpr",
    "check_level",
    "flag",
    "hour_of_week",
    "make_detector",
    "predictive_half_width",
    "scale_floor",
    "scores_from_band",
    "suppress",
    "tail_probability",
    "threshold_for_fpr",
    "z_for_level",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "vigil.detect.anomaly": ("Anomaly",),
        "vigil.detect.base": ("Detection", "Detector", "Scores"),
        "vigil.detect.calibration": (
            "CalibratedDetector",
            "Calibration",
            "CalibrationError",
            "calibrate",
            "calibrated_threshold",
            "suppress",
            "tail_probability",
        ),
        "vigil.detect.consensus": (
            "ConsensusDetector",
            "ConsensusSettings",
            "Evidence",
            "EvidenceMemo",
        ),
        "vigil.detect.daily": ("SameHourMedian",),
        "vigil.detect.fakes": ("ThresholdDetector",),
        "vigil.detect.interval": (
            "Band",
            "IntervalDetector",
            "check_fpr",
            "check_level",
            "flag",
            "scale_floor",
            "scores_from_band",
            "threshold_for_fpr",
            "z_for_level",
        ),
        "vigil.detect.mad": ("RollingMAD",),
        "vigil.detect.registry": ("DEFAULT_DETECTOR", "DETECTORS", "make_detector"),
        "vigil.detect.seasonal": ("SeasonalZScore", "hour_of_week"),
        "vigil.detect.zscore": ("RollingZScore", "predictive_half_width"),
    },
)
