"""Deciding with the watch policy: each watched series' band, threshold and flags, and the
anomalies of a period. One decision, drawn once.

Detection, the report's charts and the dashboard all show what this module decided with, in the
statistic's own units, and one severity unit: how far past the line that decided a step is, 1
being the line itself, so every anomaly has severity above 1. For a band detector (same-hour,
drift levels, events) the line is the band's edge and severity is the distance from the
expected value in half-widths of the band; for a detector that decides by a calibrated score
(``consensus``, the default, and ``deep``) it is the score over the threshold, and the band drawn
is the detector's expected range around its baseline, with the steps it decided on marked.
Earlier, the report and the dashboard each redrew a band of their own; a marked point could sit
inside the band on the screen.

The policy itself (what is watched, on which scale, with which floor and detector) is
:mod:`vigil.pipeline.policy`; what it decided (:class:`WatchedSeries`) and the series decided by a
rule rather than a detector (data-quality events, drift scores, tested statistics) are
:mod:`vigil.pipeline.watched`. Their names are re-exported here.

How a series is decided:

- The detector is the registry's (:data:`vigil.detect.DETECTORS`) named ``[detect] detector``,
  built with :data:`DETECTOR_OPTIONS`; swapping the default is one line
  (:data:`vigil.detect.DEFAULT_DETECTOR`).
- A band detector's band is floored per statistic (a change of a very stable statistic that is
  statistically real but operationally tiny pages nobody), and it is computed without the
  steps of the series that an open incident holds: an ongoing incident must not become the
  baseline it is judged against (:func:`watch`'s ``excluded``). A scoring detector cannot leave
  steps out of a baseline it learns from the series itself, so a held series is judged by the
  band detector :attr:`WatchPolicy.held_detector` until the incident ends.
- The threshold is ``detector.infer_threshold(calibration, fpr)`` with ``fpr`` from
  ``[detect] fpr``, the calibration being the series before the period without the steps any
  incident held (``abnormal``): a calibration that held last night's traffic stop sets a
  threshold no ordinary drop can reach, and the next one is missed. Each series is scored
  once: a calibration that is its series cut short takes the first steps of the series' scores
  (``infer_threshold_from_scores``; scores are causal), only one an incident blanked is scored
  on its own. A band detector's
  threshold is kept within :attr:`WatchPolicy.threshold_bounds` half-widths: below the lower
  bound the band's own coverage already says more than the calibration can (a quiet week),
  above the upper one the calibration history held an incident.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, SeriesKey
from vigil.detect import (
    Anomaly,
    Band,
    ConsensusDetector,
    Detector,
    EvidenceMemo,
    IntervalDetector,
    Scores,
    flag,
    z_for_level,
)
from vigil.detect.base import FloatArray
from vigil.pipeline.policy import (
    COUNTS,
    DETECTOR_OPTIONS,
    EVENT_THRESHOLD,
    QUALITY,
    RATES,
    WATCHES,
    DriftRule,
    Scale,
    Watch,
    WatchPolicy,
    natural_range,
)
from vigil.pipeline.watched import (
    WatchedSeries,
    WatchResult,
    drift_statistic,
    drift_watch,
    event_watch,
    tested_band,
    tested_watch,
)
from vigil.stats import QualityKind, Series

__all__ = [
    "COUNTS",
    "DETECTOR_OPTIONS",
    "EVENT_THRESHOLD",
    "QUALITY",
    "RATES",
    "WATCHES",
    "DriftRule",
    "PolicyBand",
    "Scale",
    "Watch",
    "WatchPolicy",
    "WatchResult",
    "WatchedSeries",
    "natural_range",
    "severity",
    "watch",
]

BoolArray = npt.NDArray[np.bool_]


def watch(
    series: Sequence[Series],
    *,
    start: datetime,
    end: datetime,
    policy: WatchPolicy,
    excluded: Mapping[SeriesKey, datetime] | None = None,
    abnormal: Mapping[SeriesKey, Sequence[tuple[datetime, datetime]]] | None = None,
    memo: EvidenceMemo | None = None,
) -> WatchResult:
    """Decide every watched series of ``series`` and return the anomalies in ``[start, end)``.

    Series carry their history before ``start`` (:attr:`WatchPolicy.lookback`). ``excluded``
    maps a series to the moment an open incident took it over: its steps from then on are left
    out of the baseline its band is computed from, while still being judged against it.
    ``abnormal`` maps a series to the periods incidents held it (open or resolved): they are
    left out of the calibration. ``memo``: the raw evidence ``consensus`` computed from these
    series for an earlier period (the runner decides a cycle's days one by one, on the same
    series), reused instead of computed again.
    """
    begin = _datetime64(start)
    stop = _datetime64(end)
    watched: dict[SeriesKey, WatchedSeries] = {}
    groups: dict[Watch, list[Series]] = {}
    by_key = {one.key: one for one in series}
    for one in series:
        found = policy.watch_of(one.key)
        if found is not None:
            groups.setdefault(found, []).append(one)
        elif one.key.statistic in QUALITY:
            watched[one.key] = event_watch(one)
        elif (band := tested_band(one, by_key)) is not None:
            watched[one.key] = tested_watch(one, band, policy.drift)
        elif drift_statistic(one) in policy.drift.thresholds:
            watched[one.key] = drift_watch(one, policy.drift)
    for rule, group in groups.items():
        chosen = _watch_group(group, rule, policy, begin, excluded or {}, abnormal or {}, memo)
        for decided in chosen:
            watched[decided.series.key] = decided
    anomalies = [a for decided in watched.values() for a in _anomalies(decided, begin, stop)]
    anomalies = _with_notes(anomalies, {one.key: one for one in series})
    return WatchResult(
        watched=watched, anomalies=tuple(sorted(anomalies, key=lambda a: (a.timestamp, str(a.key))))
    )


class PolicyBand(IntervalDetector):
    """A band detector as the policy uses it: its band floored, its baseline without the steps
    an open incident holds. Built around a registered band detector by :func:`watch`."""

    def __init__(
        self,
        inner: IntervalDetector,
        *,
        watch: Watch,
        z: float,
        excluded: Mapping[SeriesKey, np.datetime64],
    ) -> None:
        super().__init__(level=inner.level)
        self.name = inner.name
        self.inner = inner
        self.watch = watch
        self.z = z
        self.excluded = excluded

    def band(self, series: Series) -> Band:
        since = self.excluded.get(series.key)
        baseline = series
        if since is not None:
            values = np.where(series.timestamps >= since, np.nan, series.values)
            baseline = replace(series, values=values)
        band = self.inner.band(baseline)
        floor = np.full(len(series), self.z * self.watch.floor)
        if self.watch.scale is Scale.LINEAR:
            floor = floor * np.abs(band.expected)
        half = np.maximum((band.upper - band.lower) / 2.0, floor)  # NaN (no opinion) stays
        return Band(expected=band.expected, lower=band.expected - half, upper=band.expected + half)


def _watch_group(
    group: Sequence[Series],
    rule: Watch,
    policy: WatchPolicy,
    begin: np.datetime64,
    excluded: Mapping[SeriesKey, datetime],
    abnormal: Mapping[SeriesKey, Sequence[tuple[datetime, datetime]]],
    memo: EvidenceMemo | None = None,
) -> list[WatchedSeries]:
    since = {key: _datetime64(moment) for key, moment in excluded.items()}
    detector = policy.build_detector(watch=rule)
    if memo is not None and isinstance(detector, ConsensusDetector):
        detector.memo = memo
    held = [one for one in group if one.key in since]
    if isinstance(detector, IntervalDetector) or not held:
        return _decide(group, rule, policy, begin, since, abnormal, detector)
    # A scoring detector learns its baseline from the series itself, the incident included:
    # a series an open incident holds is judged by the band detector, against before it.
    free = [one for one in group if one.key not in since]
    band = policy.build_detector(policy.held_detector)
    return [
        *_decide(free, rule, policy, begin, since, abnormal, detector),
        *_decide(held, rule, policy, begin, since, abnormal, band),
    ]


def _decide(
    group: Sequence[Series],
    rule: Watch,
    policy: WatchPolicy,
    begin: np.datetime64,
    since: Mapping[SeriesKey, np.datetime64],
    abnormal: Mapping[SeriesKey, Sequence[tuple[datetime, datetime]]],
    detector: Detector,
) -> list[WatchedSeries]:
    if not group:
        return []
    # A new model's series starts with NaN steps before its first data; the detectors score
    # from the first value on themselves (consensus once lost its novelty to a long run of
    # them: tested in test_steps_before_a_models_first_data_do_not_blind_the_detector).
    inputs = [_on_scale(one, rule.scale) for one in group]
    if isinstance(detector, IntervalDetector):
        detector = PolicyBand(detector, watch=rule, z=z_for_level(policy.level), excluded=since)
    calibration = [
        _calibration(one, min(begin, since.get(one.key, begin)), abnormal.get(one.key, ()))
        for one in inputs
    ]
    # Values near the float range (a mangled 1e308 in a log) overflow a detector's arithmetic
    # to inf: an answer about an absurd value, not a reason to lose the model's detection.
    with np.errstate(over="ignore"):
        detector.fit(calibration)
        scored = detector.score(inputs)
        threshold = _threshold(detector, _calibration_scores(detector, calibration, scored), policy)
    detections = [flag(scores, threshold) for scores in scored]
    decided = []
    z = z_for_level(policy.level)
    for original, scaled, detection in zip(group, inputs, detections, strict=True):
        scores = detection.scores
        expected, lower, upper = scores.expected, scores.lower, scores.upper
        flags = detection.flags
        score = scores.score
        if isinstance(detector, IntervalDetector):
            half = threshold * (upper - lower) / 2.0
            lower, upper = expected - half, expected + half
        else:
            flags = flags & _beyond_floor(scaled.values, expected, rule, z)
            if rule.stderr_floor:
                flags = flags & _beyond_own_error(scaled, expected, z)
        if rule.scale is Scale.LOG:
            expected, lower, upper = np.expm1(expected), np.expm1(lower), np.expm1(upper)
        decided.append(
            WatchedSeries(
                series=original,
                expected=expected,
                lower=lower,
                upper=upper,
                flags=flags,
                score=score,
                detector=detector.name,
                threshold=threshold,
                scale=rule.scale,
                banded=isinstance(detector, IntervalDetector),
            )
        )
    return decided


def _beyond_own_error(series: Series, expected: FloatArray, z: float) -> BoolArray:
    """Steps farther from ``expected`` than ``z`` of their own standard errors, or without one:
    a scoring detector's shape evidence (the novelty of the windows after a spike) can make a
    step surprising that its own rows explain. Found on calm logs: "p99 latency down 30%" two
    hours after a quiet hour's slow request, on a p99 of 26 requests that wandered by 35."""
    if series.stderr is None:
        return np.ones(len(series), dtype=bool)
    se = series.stderr
    with np.errstate(invalid="ignore"):
        within = np.isfinite(se) & (se > 0) & (np.abs(series.values - expected) <= z * se)
    return np.asarray(~within, dtype=bool)


def _beyond_floor(values: FloatArray, expected: FloatArray, rule: Watch, z: float) -> BoolArray:
    """Steps farther from ``expected`` than the watch's floor, on its scale: the smallest change
    worth a page is the policy's whatever the detector, so a scoring detector's surprise at a 4%
    dip of a version's traffic share pages nobody (a band detector's band is floored instead)."""
    half = np.full(len(values), z * rule.floor)
    if rule.scale is Scale.LINEAR:
        half = half * np.abs(expected)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.abs(values - expected) > half, dtype=bool)


def _calibration_scores(
    detector: Detector, calibration: Sequence[Series], scored: Sequence[Scores]
) -> list[Scores]:
    """The calibration's scores. A calibration that is its series cut short (no step blanked)
    takes the whole series' first steps: scores are causal, and a prefix scores exactly as the
    whole series' first steps do (the detectors' conformance check ``check_prefix``), so each
    series is scored once a cycle. A calibration an incident blanked is scored on its own."""
    cut = [
        np.array_equal(one.values, whole.series.values[: len(one)], equal_nan=True)
        for one, whole in zip(calibration, scored, strict=True)
    ]
    blanked = [one for one, prefix in zip(calibration, cut, strict=True) if not prefix]
    own = iter(detector.score(blanked))
    return [
        whole.slice(0, len(one)) if prefix else next(own)
        for one, whole, prefix in zip(calibration, scored, cut, strict=True)
    ]


def _threshold(detector: Detector, calibration: Sequence[Scores], policy: WatchPolicy) -> float:
    """``infer_threshold`` from the calibration's scores; a band detector's within the policy's
    bounds.

    With nothing to calibrate on (a new deployment), the detector keeps its own threshold."""
    with contextlib.suppress(ConfigError):  # raised when no calibration step is scorable
        detector.infer_threshold_from_scores(calibration, policy.fpr)
    threshold = float(getattr(detector, "threshold_", math.nan))
    if isinstance(detector, IntervalDetector):
        low, high = policy.threshold_bounds
        threshold = min(max(threshold if math.isfinite(threshold) else low, low), high)
        detector.threshold_ = threshold
    return threshold


def _on_scale(series: Series, scale: Scale) -> Series:
    if scale is Scale.LINEAR:
        return series
    values = np.log1p(np.maximum(series.values, 0.0))
    # The standard error through log1p, to first order: se / (1 + x).
    stderr = (
        None if series.stderr is None else series.stderr / (1.0 + np.maximum(series.values, 0.0))
    )
    return replace(series, values=values, stderr=stderr)


def _calibration(
    series: Series, begin: np.datetime64, abnormal: Sequence[tuple[datetime, datetime]]
) -> Series:
    """The series before ``begin``, with every step an incident held blanked: what the
    calibration may see (the normal past). Cut, not blanked, at ``begin``: a detector that
    remembers how far its fitted history reached (``consensus``) must not take the period for
    history it calibrates in-sample."""
    before = series.slice(0, int(np.searchsorted(series.timestamps, begin)))
    keep = np.ones(len(before), dtype=bool)
    for start, end in abnormal:
        keep &= (before.timestamps < _datetime64(start)) | (before.timestamps >= _datetime64(end))
    values = np.where(keep, before.values, np.nan)
    return replace(before, values=values)


def _anomalies(decided: WatchedSeries, begin: np.datetime64, stop: np.datetime64) -> list[Anomaly]:
    series = decided.series
    inside = decided.flags & (series.timestamps >= begin) & (series.timestamps < stop)
    found = []
    for index in np.flatnonzero(inside):
        value = float(series.values[index])
        expected = float(decided.expected[index])
        lower, upper = float(decided.lower[index]), float(decided.upper[index])
        found.append(
            Anomaly(
                key=series.key,
                timestamp=_as_datetime(series.timestamps[index]),
                value=value,
                expected=expected,
                lower=lower,
                upper=upper,
                score=float(decided.score[index]),
                severity=severity(value, expected, lower, upper, decided.scale)
                if decided.banded
                else float(decided.score[index]) / _line(decided.threshold),
                detector=decided.detector,
            )
        )
    return found


def _with_notes(anomalies: Sequence[Anomaly], series: Mapping[SeriesKey, Series]) -> list[Anomaly]:
    """A constant feature's anomaly says the value it is stuck at (its mean in that window:
    the value itself, when every value is one number)."""
    return [_noted(anomaly, series) for anomaly in anomalies]


def _noted(anomaly: Anomaly, series: Mapping[SeriesKey, Series]) -> Anomaly:
    if anomaly.key.statistic != QualityKind.CONSTANT.value:
        return anomaly
    mean = series.get(replace(anomaly.key, statistic="mean"))
    if mean is None:
        return anomaly
    at = np.flatnonzero(mean.timestamps == _datetime64(anomaly.timestamp))
    if not at.size or not math.isfinite(value := float(mean.values[at[0]])):
        return anomaly
    return replace(anomaly, note=f"constant at {value:.6g}")


def severity(
    value: float, expected: float, lower: float, upper: float, scale: Scale = Scale.LINEAR
) -> float:
    """Distance from ``expected`` in half-widths of the deciding band, on the side the value
    lies, measured on the scale the decision was taken on: above 1 means outside the band."""
    if scale is Scale.LOG:
        value, expected, lower, upper = (
            math.log1p(max(v, 0.0)) if math.isfinite(v) else v
            for v in (value, expected, lower, upper)
        )
    half = (upper - expected) if value >= expected else (expected - lower)
    if not (math.isfinite(half) and half > 0):
        return math.nan
    return abs(value - expected) / half


def _line(threshold: float) -> float:
    """The score a scoring detector's severity is measured in: its threshold, or, before it has
    a calibration (a new deployment), 1 (its own decision stands, with its raw score)."""
    return threshold if math.isfinite(threshold) and threshold > 0 else 1.0


def _datetime64(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "s")


def _as_datetime(moment: np.datetime64) -> datetime:
    value: datetime = moment.astype("datetime64[us]").astype(datetime)
    return value.replace(tzinfo=UTC)
