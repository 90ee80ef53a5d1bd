"""Which detector watches which health series, and the anomalies of a period.

Not every statistic deserves a pager: extremes (min, max, p01, p99) of a few hundred rows are
noisy, and fifteen correlated quantiles of one feature say the same thing fifteen times. The
policy here watches a curated set per family with the same-hour median detector, treats the
data-quality signals (missing, constant, new, type changed) as events, and flags drift by an
absolute PSI level only where enough rows support it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from vigil.core import Family
from vigil.detect import Anomaly, Detection, SameHourMedian, Scores
from vigil.stats import QualityKind, Series

WATCHED: dict[str, frozenset[str]] = {
    # Feature distributions are watched through drift; quantiles of a few hundred discrete
    # values jump between neighbouring integers and would page on every jump.
    Family.FEATURE: frozenset({"mean", "null_rate", "coverage"}),
    Family.OUTPUT: frozenset({"mean", "p50", "share_above_0.5", "null_rate"}),
    Family.AUXILIARY: frozenset(
        {"requests", "latency_p50", "latency_p99", "traffic_ratio", "quarantine_rate"}
    ),
}
RELATIVE_FLOORS: dict[str, float] = {
    # Changes smaller than these shares of the expected value are not worth a page, however
    # unusual: weekend traffic is 25% lower than weekday traffic, and that is not news.
    "requests": 0.35,
    "latency_p50": 0.3,
    "latency_p99": 0.3,
    "traffic_ratio": 0.2,
}
DEFAULT_RELATIVE_FLOOR = 0.05
QUALITY = frozenset(kind.value for kind in QualityKind)


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionPolicy:
    level: float = 0.999
    """Nominal coverage of the same-hour band; a step outside it is anomalous."""
    history_days: int = 7
    drift_statistic: str = "psi"
    drift_threshold: float = 0.25
    drift_min_support: float = 100.0
    watched: dict[str, frozenset[str]] = field(default_factory=lambda: dict(WATCHED))
    relative_floors: dict[str, float] = field(default_factory=lambda: dict(RELATIVE_FLOORS))
    default_relative_floor: float = DEFAULT_RELATIVE_FLOOR


def detect_anomalies(
    series: Sequence[Series], *, start: datetime, end: datetime, policy: DetectionPolicy
) -> list[Anomaly]:
    """Anomalies with timestamps in ``[start, end)``; series carry their history before it."""
    begin = np.datetime64(start.replace(tzinfo=None), "s")
    stop = np.datetime64(end.replace(tzinfo=None), "s")
    statistical = [s for s in series if s.key.statistic in policy.watched.get(s.key.family, ())]
    found: list[Anomaly] = []
    floors = sorted({_floor(s, policy) for s in statistical})
    for floor in floors:
        detector = SameHourMedian(
            days=policy.history_days, level=policy.level, relative_floor=floor
        )
        group = [s for s in statistical if _floor(s, policy) == floor]
        for detection in detector.predict(group):
            found.extend(_in_period(detection, detector.name, begin, stop))
    for one in series:
        if one.key.statistic in QUALITY:
            found.extend(_in_period(_event(one), "quality", begin, stop))
        elif _is_drift(one, policy):
            found.extend(_in_period(_drift(one, policy), "drift", begin, stop))
    return sorted(found, key=lambda a: (a.timestamp, str(a.key)))


def _floor(series: Series, policy: DetectionPolicy) -> float:
    return policy.relative_floors.get(series.key.statistic, policy.default_relative_floor)


def _is_drift(series: Series, policy: DetectionPolicy) -> bool:
    """Feature drift lives in the drift family; output drift in the output family, prefixed."""
    statistic = series.key.statistic
    if series.key.family == Family.DRIFT:
        return statistic == policy.drift_statistic
    return series.key.family == Family.OUTPUT and statistic == f"drift_{policy.drift_statistic}"


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
    threshold = policy.drift_threshold
    with np.errstate(invalid="ignore"):
        flags = (values >= threshold) & (support >= policy.drift_min_support)
    zeros = np.zeros(len(series))
    scores = Scores(
        series=series,
        score=values / threshold,
        expected=zeros,
        lower=zeros - threshold / 2,
        upper=zeros + threshold / 2,
    )
    return Detection(scores=scores, threshold=1.0, flags=np.nan_to_num(flags, nan=0).astype(bool))
