"""What the watch decided, and the series it decides by a rule rather than a detector.

:class:`WatchedSeries` is one series with the band that decided each of its steps; the report's
charts and the dashboard draw it as it is. :mod:`vigil.pipeline.watch` decides the policy's
watched statistics with a detector; the series here need none:

- a data-quality signal (``missing``, ``constant``, ``new_values``…) is 0 or 1, and 1 is
  anomalous (:func:`event_watch`);
- a drift score is compared with the policy's threshold for its statistic
  (:func:`drift_watch`);
- a tested statistic (a quantile or mean of a day against its reference) lies outside the band
  the stats stage drew from both sample sizes (:func:`tested_watch`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from vigil.core import Family, SeriesKey
from vigil.detect import Anomaly
from vigil.detect.base import FloatArray
from vigil.pipeline.policy import EVENT_THRESHOLD, DriftRule, Scale
from vigil.stats import BAND_SUFFIXES, Series

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchedSeries:
    """One watched series and the band that decided each of its steps, in its own units.

    A step is anomalous exactly when ``flags`` is set; for band detectors (``banded``) that is
    exactly when the value lies outside ``[lower, upper]``, for scoring ones when ``score``
    exceeds ``threshold`` and the value is farther from ``expected`` than the watch's floor.
    """

    series: Series
    expected: FloatArray
    lower: FloatArray
    upper: FloatArray
    flags: BoolArray
    score: FloatArray
    """The detector's own score (NaN where it had none)."""
    detector: str
    threshold: float
    scale: Scale = Scale.LINEAR
    """The scale the decision was taken on; severities are measured there."""
    banded: bool = True
    """True when the band decided (a step is flagged exactly outside it); False when the
    detector's score did (``score > threshold``) and the band is its expected range."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchResult:
    """Every watched series with its deciding band, and the anomalies of the period."""

    watched: Mapping[SeriesKey, WatchedSeries]
    anomalies: tuple[Anomaly, ...]


def event_watch(series: Series) -> WatchedSeries:
    """A 0/1 data-quality signal: raised is anomalous."""
    values = np.nan_to_num(series.values, nan=0.0)
    zeros = np.zeros(len(series))
    return WatchedSeries(
        series=series,
        expected=zeros,
        lower=zeros - EVENT_THRESHOLD,
        upper=zeros + EVENT_THRESHOLD,
        flags=values > EVENT_THRESHOLD,
        score=values / EVENT_THRESHOLD,
        detector="quality",
        threshold=EVENT_THRESHOLD,
    )


def drift_statistic(series: Series) -> str:
    """Feature drift is ``drift/<column>/ks``; output drift is ``output/<column>/drift_ks``."""
    statistic = series.key.statistic
    if series.key.family == Family.DRIFT:
        return statistic
    if series.key.family == Family.OUTPUT and statistic.startswith("drift_"):
        return statistic.removeprefix("drift_")
    return ""


def drift_watch(series: Series, rule: DriftRule) -> WatchedSeries:
    statistic = drift_statistic(series)
    threshold = rule.thresholds[statistic]
    support = series.support if series.support is not None else np.full(len(series), math.inf)
    zeros = np.zeros(len(series))
    return WatchedSeries(
        series=series,
        expected=zeros,
        lower=zeros - threshold,
        upper=zeros + threshold,
        flags=rule.flags(statistic, series.values, support),
        score=series.values / threshold,
        detector="drift",
        threshold=threshold,
    )


def tested_band(
    series: Series, by_key: Mapping[SeriesKey, Series]
) -> tuple[Series, Series, Series] | None:
    """The stored band (expected, lower, upper) of a tested statistic, when it has one."""
    if series.key.statistic.endswith(BAND_SUFFIXES):
        return None
    parts = [
        by_key.get(replace(series.key, statistic=series.key.statistic + s)) for s in BAND_SUFFIXES
    ]
    expected, lower, upper = parts
    if expected is None or lower is None or upper is None:
        return None
    if not len(expected) == len(lower) == len(upper) == len(series):
        return None
    return expected, lower, upper


def tested_watch(
    series: Series, band: tuple[Series, Series, Series], rule: DriftRule
) -> WatchedSeries:
    """A tested statistic outside the band the stats stage drew from both sample sizes."""
    expected, lower, upper = (part.values for part in band)
    values = series.values
    support = series.support if series.support is not None else np.full(len(series), math.inf)
    with np.errstate(invalid="ignore"):
        half = np.where(values >= expected, upper - expected, expected - lower)
        score = np.abs(values - expected) / np.where(half > 0, half, np.nan)
    return WatchedSeries(
        series=series,
        expected=expected,
        lower=lower,
        upper=upper,
        flags=rule.tested_flags(values, lower, upper, support),
        score=score,
        detector="drift",
        threshold=1.0,
    )
