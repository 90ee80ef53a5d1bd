"""Which detector watches which health series, and the anomalies of a period.

Not every statistic deserves a pager: extremes (min, max, p01, p99) of a few hundred rows are
noisy, and fifteen correlated quantiles of one feature say the same thing fifteen times. The
policy here watches a curated set per family with the default detector (``consensus``; or
``same-hour``, the same-hour median, or ``deep``, the pre-trained two-stage model), treats the
data-quality signals (missing, constant, new, type changed) as events, and flags drift by an
absolute PSI level only where enough rows support it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, Family, SeriesKey
from vigil.detect import (
    DEFAULT_DETECTOR,
    Anomaly,
    ConsensusDetector,
    ConsensusSettings,
    Detection,
    Detector,
    SameHourMedian,
    Scores,
    make_detector,
)
from vigil.stats import BAND_SUFFIXES, QualityKind, Series

WATCHED: dict[str, frozenset[str]] = {
    # Feature distributions are watched through drift: the drift family's tested mean, std,
    # quantiles and KS carry bands from both sample sizes (vigil.stats.change).
    Family.FEATURE: frozenset({"null_rate", "coverage"}),
    Family.OUTPUT: frozenset({"mean", "p50", "share_above_0.5", "null_rate"}),
    Family.AUXILIARY: frozenset(
        {"requests", "latency_p50", "latency_p99", "traffic_ratio", "quarantine_rate"}
    ),
}
LOG_SCALE: dict[str, float] = {
    # Counts and latencies move multiplicatively: night traffic is a third of the day's, and a
    # stop at night is as much news as a stop at noon. These are watched as log(1 + x), with a
    # floor on the band's scale in log units (0.15 -> changes under about 40% never page; the
    # weekend's 25% dip is not news).
    "requests": 0.15,
    "rows": 0.15,
    "latency_p50": 0.1,
    "latency_p99": 0.1,
}
RELATIVE_FLOORS: dict[str, float] = {"traffic_ratio": 0.2}
DEFAULT_RELATIVE_FLOOR = 0.05
QUALITY = frozenset(kind.value for kind in QualityKind)
POLICY_DETECTORS = ("consensus", "same-hour", "deep")


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionPolicy:
    detector: str = DEFAULT_DETECTOR
    """``consensus`` (the default, :data:`vigil.detect.DEFAULT_DETECTOR`: calibrated residual,
    novelty and runs, alerting by its own decision), ``same-hour`` (median and spread of the
    same hour on previous days) or ``deep`` (the shipped two-stage model, alerting by its own
    trained decision); ``level`` and the floors below are same-hour settings."""
    level: float = 0.999
    """Nominal coverage of the same-hour band; a step outside it is anomalous."""
    history_days: int = 7
    drift_thresholds: dict[str, float] = field(default_factory=dict)
    """Absolute levels for untested drift statistics (none by default: drift is decided by the
    tested statistics' bands, which know both sample sizes)."""
    drift_min_support: float = 30.0
    watched: dict[str, frozenset[str]] = field(default_factory=lambda: dict(WATCHED))
    relative_floors: dict[str, float] = field(default_factory=lambda: dict(RELATIVE_FLOORS))
    log_scale: dict[str, float] = field(default_factory=lambda: dict(LOG_SCALE))
    default_relative_floor: float = DEFAULT_RELATIVE_FLOOR

    def __post_init__(self) -> None:
        if self.detector not in POLICY_DETECTORS:
            raise ConfigError(f"detector must be one of {POLICY_DETECTORS}, got {self.detector!r}")

    def drift_flags(
        self, statistic: str, values: npt.NDArray[np.float64], support: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        """Drift is flagged where ``statistic`` reaches its threshold on enough rows.

        The one drift decision: the pipeline's drift series and ``vigil.compare`` both call it.
        """
        threshold = self.drift_thresholds[statistic]
        with np.errstate(invalid="ignore"):
            flags = (values >= threshold) & (support >= self.drift_min_support)
        return np.asarray(np.nan_to_num(flags, nan=0), dtype=bool)

    def tested_flags(
        self,
        values: npt.NDArray[np.float64],
        lower: npt.NDArray[np.float64],
        upper: npt.NDArray[np.float64],
        support: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.bool_]:
        """A tested statistic is flagged outside its band, on at least ``drift_min_support``
        rows (an unknown band or value flags nothing).

        The one decision for tested statistics: the pipeline's detection and ``vigil.compare``
        both call it.
        """
        with np.errstate(invalid="ignore"):
            flags = ((values < lower) | (values > upper)) & (support >= self.drift_min_support)
        return np.asarray(np.nan_to_num(flags, nan=0), dtype=bool)


def watch_detector(name: str) -> Detector:
    """The instance the watch policy scores with (``same-hour`` is built per band group).

    ``consensus`` keeps every alerting step (no suppression): the incident filters downstream
    (k of n steps, cooldown) do that job here. Its band is the 95% one, so an anomaly's severity
    is ``|z| / 3.92`` and the default ``min_severity`` of 1 asks for ``|z| >= 3.92``.
    """
    if name == "consensus":
        return ConsensusDetector(settings=ConsensusSettings(suppress=0, level=0.95))
    return make_detector(name)


def detect_anomalies(
    series: Sequence[Series], *, start: datetime, end: datetime, policy: DetectionPolicy
) -> list[Anomaly]:
    """Anomalies with timestamps in ``[start, end)``; series carry their history before it."""
    begin = np.datetime64(start.replace(tzinfo=None), "s")
    stop = np.datetime64(end.replace(tzinfo=None), "s")
    statistical = [s for s in series if s.key.statistic in policy.watched.get(s.key.family, ())]
    found: list[Anomaly] = []
    # consensus and deep: one instance scores every group (deep loads its weights once).
    shared = watch_detector(policy.detector) if policy.detector != "same-hour" else None
    for (relative, absolute, logged), group in _by_band_settings(statistical, policy).items():
        detector: Detector
        if shared is not None:
            detector = shared
        else:
            detector = SameHourMedian(
                days=policy.history_days,
                level=policy.level,
                relative_floor=relative,
                absolute_floor=absolute,
            )
        inputs = [_log1p(s) for s in group] if logged else group
        for original, detection in zip(group, detector.predict(inputs), strict=True):
            anomalies = _in_period(detection, detector.name, begin, stop)
            if logged:
                anomalies = [_back_from_log(a, original) for a in anomalies]
            found.extend(anomalies)
    by_key = {one.key: one for one in series}
    for one in series:
        if one.key.statistic in QUALITY:
            found.extend(_in_period(_event(one), "quality", begin, stop))
        elif (band := _tested_band(one, by_key)) is not None:
            detection = _tested(one, band, policy)
            found.extend(_in_period(detection, "drift", begin, stop))
        elif _is_drift(one, policy):
            found.extend(_in_period(_drift(one, policy), "drift", begin, stop))
    return sorted(found, key=lambda a: (a.timestamp, str(a.key)))


def _by_band_settings(
    series: Sequence[Series], policy: DetectionPolicy
) -> dict[tuple[float, float, bool], list[Series]]:
    groups: dict[tuple[float, float, bool], list[Series]] = {}
    for one in series:
        statistic = one.key.statistic
        if one.key.family == Family.AUXILIARY and statistic in policy.log_scale:
            settings = (0.0, policy.log_scale[statistic], True)
        else:
            relative = policy.relative_floors.get(statistic, policy.default_relative_floor)
            settings = (relative, 0.0, False)
        groups.setdefault(settings, []).append(one)
    return groups


def _log1p(series: Series) -> Series:
    values = np.log1p(np.maximum(series.values, 0.0))
    return Series(
        key=series.key, timestamps=series.timestamps, values=values, support=series.support
    )


def _back_from_log(anomaly: Anomaly, original: Series) -> Anomaly:
    """Report value, expectation and band in the statistic's own units; the score and
    severity stay those of the log scale, where the decision was taken."""
    index = int(
        np.searchsorted(
            original.timestamps, np.datetime64(anomaly.timestamp.replace(tzinfo=None), "s")
        )
    )
    return replace(
        anomaly,
        value=float(original.values[index]),
        expected=float(np.expm1(anomaly.expected)),
        lower=float(np.expm1(anomaly.lower)),
        upper=float(np.expm1(anomaly.upper)),
    )


def _is_drift(series: Series, policy: DetectionPolicy) -> bool:
    """Feature drift lives in the drift family; output drift in the output family, prefixed."""
    return _drift_statistic(series) in policy.drift_thresholds


def _drift_statistic(series: Series) -> str:
    """Feature drift is ``drift/<column>/ks``; output drift is ``output/<column>/drift_ks``."""
    statistic = series.key.statistic
    if series.key.family == Family.DRIFT:
        return statistic
    if series.key.family == Family.OUTPUT and statistic.startswith("drift_"):
        return statistic.removeprefix("drift_")
    return ""


def _in_period(
    detection: Detection, detector: str, begin: np.datetime64, stop: np.datetime64
) -> list[Anomaly]:
    times = detection.scores.series.timestamps
    inside = (times >= begin) & (times < stop)
    if not bool(np.any(detection.flags & inside)):
        return []
    flags = detection.flags & inside
    return Detection(scores=detection.scores, threshold=detection.threshold, flags=flags).anomalies(
        detector
    )


def _event(series: Series) -> Detection:
    """A 0/1 signal: raised (1) is anomalous; expected 0 with a band of ±0.25."""
    values = np.nan_to_num(series.values, nan=0.0)
    zeros = np.zeros(len(series))
    scores = Scores(
        series=series, score=values * 4.0, expected=zeros, lower=zeros - 0.25, upper=zeros + 0.25
    )
    return Detection(scores=scores, threshold=1.0, flags=values >= 0.5)


def _drift(series: Series, policy: DetectionPolicy) -> Detection:
    """Drift above an absolute level, where at least ``drift_min_support`` rows back it."""
    values = series.values
    support = series.support if series.support is not None else np.full(len(series), math.inf)
    statistic = _drift_statistic(series)
    threshold = policy.drift_thresholds[statistic]
    flags = policy.drift_flags(statistic, values, support)
    zeros = np.zeros(len(series))
    scores = Scores(
        series=series,
        score=values / threshold,
        expected=zeros,
        lower=zeros - threshold / 2,
        upper=zeros + threshold / 2,
    )
    return Detection(scores=scores, threshold=1.0, flags=np.nan_to_num(flags, nan=0).astype(bool))


def _tested_band(
    series: Series, by_key: dict[SeriesKey, Series]
) -> tuple[Series, Series, Series] | None:
    """The stored band (expected, lower, upper) of a tested statistic, when it has one."""
    if series.key.statistic.endswith(BAND_SUFFIXES):
        return None
    parts = [
        by_key.get(replace(series.key, statistic=series.key.statistic + s)) for s in BAND_SUFFIXES
    ]
    if any(part is None or len(part) != len(series) for part in parts):
        return None
    expected, lower, upper = parts
    assert expected is not None and lower is not None and upper is not None
    return expected, lower, upper


def _tested(
    series: Series, band: tuple[Series, Series, Series], policy: DetectionPolicy
) -> Detection:
    """A tested statistic outside the band the stats stage drew from both sample sizes."""
    expected, lower, upper = (part.values for part in band)
    values = series.values
    support = series.support if series.support is not None else np.full(len(series), math.inf)
    flags = policy.tested_flags(values, lower, upper, support)
    with np.errstate(invalid="ignore"):
        half = np.where(values >= expected, upper - expected, expected - lower)
        score = np.abs(values - expected) / np.where(half > 0, half, np.nan)
    scores = Scores(series=series, score=score, expected=expected, lower=lower, upper=upper)
    return Detection(scores=scores, threshold=1.0, flags=flags)
