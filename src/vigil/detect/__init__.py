"""Vigil's detect layer: health series in, scored and flagged steps with their evidence out.

The lifecycle (``fit``, ``score``, ``infer_threshold``, ``predict``) is the :class:`Detector`
protocol in ``base``; per-series band detectors share :class:`IntervalDetector`; the named
detectors are the plain dict :data:`DETECTORS`. The harness half: labeled data (``labeled``,
``simulation``) and how flags are judged against labels (``scoring``).
"""

from vigil.detect.base import Anomaly, Detection, Detector, Scores
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
from vigil.detect.labeled import (
    LabeledDataset,
    LabeledSeries,
    load_dataset,
    load_labeled_csvs,
    load_nab,
    runs,
    write_labeled_csvs,
)
from vigil.detect.mad import RollingMAD
from vigil.detect.registry import DETECTORS, make_detector
from vigil.detect.scoring import (
    MISSED,
    NAB_PROFILES,
    PROBATION,
    NabProfile,
    Tally,
    nab_probation,
    nab_raw_score,
    tally,
    window_delays,
)
from vigil.detect.seasonal import SeasonalZScore, hour_of_week
from vigil.detect.simulation import simulate_series
from vigil.detect.zscore import RollingZScore, predictive_half_width

__all__ = [
    "DETECTORS",
    "MISSED",
    "NAB_PROFILES",
    "PROBATION",
    "Anomaly",
    "Band",
    "Detection",
    "Detector",
    "IntervalDetector",
    "LabeledDataset",
    "LabeledSeries",
    "NabProfile",
    "RollingMAD",
    "RollingZScore",
    "SameHourMedian",
    "Scores",
    "SeasonalZScore",
    "Tally",
    "ThresholdDetector",
    "check_fpr",
    "check_level",
    "flag",
    "hour_of_week",
    "load_dataset",
    "load_labeled_csvs",
    "load_nab",
    "make_detector",
    "nab_probation",
    "nab_raw_score",
    "predictive_half_width",
    "runs",
    "scale_floor",
    "scores_from_band",
    "simulate_series",
    "tally",
    "threshold_for_fpr",
    "window_delays",
    "write_labeled_csvs",
    "z_for_level",
]
