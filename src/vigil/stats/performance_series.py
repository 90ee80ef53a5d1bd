"""``performance_series``: tallies -> realised and estimated performance, one point per window.

Per model, version, output and segment (the column is ``score`` or ``score@region=eu``), in the
``Family.PERFORMANCE`` family:

- realised metrics (:data:`~vigil.stats.performance.CLASSIFIER_METRICS` or
  :data:`~vigil.stats.performance.REGRESSOR_METRICS`), ``support`` = labelled predictions, each
  *tested* against the reference's realised value: ``<metric>_expected``, ``_lower`` and
  ``_upper`` hold the band ``expected ± max(min_performance, z * sqrt(se_window² + se_ref²))``,
  so 40 labels give a wide band and 4,000 a narrow one;
- the same over the trailing day (``<metric>_1d``), which sees a change a few hundred labels an
  hour cannot;
- for classifiers, ``estimated_<metric>`` (and ``estimated_<metric>_1d``) from the scores alone
  (:mod:`vigil.stats.estimation`), calibrated on the reference's labelled predictions, with
  ``support`` = predictions. Where realised values exist they replace the estimate; the estimate
  is blind to concept shift.

The reference is ``spec.reference`` for hourly points (the same hours of the previous days) and
the ``days`` days before the trailing day for ``_1d`` points. When a point's realised metric
leaves its band, the windows it spoke for (its hour; for a ``_1d`` point the whole trailing day)
are kept out of later references, so a lasting drop is not learned as normal, and the first
hours of a concept shift, before the day's metric showed it, do not calibrate later estimates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.core import ConfigError, Family, SeriesKey, Window, ensure_utc, windows_between
from vigil.profile.labels import Tally, TallyKey
from vigil.profile.performance import ClassifierTally, RegressorTally
from vigil.stats.change import BAND_SUFFIXES, ChangeBand, ChangeTest
from vigil.stats.estimation import Calibration, estimate_classifier, fit_calibration
from vigil.stats.performance import (
    REGRESSOR_METRICS,
    Estimate,
    classifier_metrics,
    regressor_metrics,
)
from vigil.stats.series import Series
from vigil.stats.spec import Reference, StatsSpec
from vigil.stats.timeline import SeriesCollector

DAY = timedelta(days=1)
DAY_SUFFIX = "_1d"
MIN_LABELS = 30
"""A realised metric on fewer labels is not tested (its band is NaN); it is still shown."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Column:
    model: str
    version: str
    column: str


def performance_series(
    tallies: Mapping[TallyKey, Tally],
    spec: StatsSpec,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    threshold: float = 0.5,
) -> list[Series]:
    """The performance series of every tallied output (see the module docstring).

    ``tallies`` must hold the reference period before ``since`` too. Points run from the first
    tallied window (or ``since``) to the last (or ``until``).
    """
    if not tallies:
        return []
    by_column: dict[_Column, dict[Window, Tally]] = {}
    for key, tally in tallies.items():
        name = key.output + (f"@{key.segment}" if key.segment else "")
        slot = _Column(model=key.model, version=key.version, column=name)
        by_column.setdefault(slot, {})[_align(key.window, spec.window)] = tally
    result: list[Series] = []
    for model in sorted({c.model for c in by_column}):
        mine = {c: t for c, t in by_column.items() if c.model == model}
        starts = [w.start for t in mine.values() for w in t]
        first = ensure_utc(since) if since is not None else min(starts)
        last = ensure_utc(until) if until is not None else max(starts) + spec.window
        windows = tuple(windows_between(first, last, spec.window))
        if not windows:
            continue
        collector = SeriesCollector(windows=windows)
        for column, by_window in sorted(mine.items(), key=lambda item: str(item[0])):
            _collect(collector, column, by_window, windows, spec, threshold)
        result.extend(collector.series())
    return result


def _align(window: Window, step: timedelta) -> Window:
    if window.duration != step:
        raise ConfigError(
            f"tallies of {window.duration} windows do not fit series of {step}; tally with the "
            "series window"
        )
    return window


def _collect(
    collector: SeriesCollector,
    column: _Column,
    by_window: Mapping[Window, Tally],
    windows: Sequence[Window],
    spec: StatsSpec,
    threshold: float,
) -> None:
    hourly = Horizon(suffix="", length=spec.window, reference=spec.reference)
    daily = Horizon(suffix=DAY_SUFFIX, length=DAY, reference=Reference.trailing(7 * DAY))
    # Label-free estimation is calibrated on the week before the trailing day (tens of
    # thousands of labels), for the hourly points too: the same hours of seven days hold a
    # few thousand, too few to fit 200 score bins.
    calibrations: dict[Window, Calibration | None] = {}
    for horizon in (daily, hourly):
        dropped: set[Window] = set()
        for window in windows:
            current_windows = horizon.covering(window, spec.window)
            current = _pooled([by_window[w] for w in current_windows if w in by_window])
            span = Window(start=current_windows[0].start, end=window.end)
            reference_windows = [
                w
                for r in horizon.reference.ranges(span)
                for w in windows_between(r.start, r.end, spec.window)
                if w in by_window and w not in dropped
            ]
            reference = _pooled([by_window[w] for w in reference_windows])
            if horizon is daily:
                calibrations[window] = (
                    _calibration(reference) if isinstance(reference, ClassifierTally) else None
                )
            calibration = calibrations.get(window)
            changed = False
            points = _points(current, reference, calibration, spec.change, threshold)
            for name, value, band, support in points:
                key = SeriesKey(
                    model=column.model,
                    version=column.version,
                    family=Family.PERFORMANCE,
                    column=column.column,
                    statistic=name + horizon.suffix,
                )
                collector.add(key, window, value, support)
                if band is None:
                    continue
                for suffix, edge in zip(
                    BAND_SUFFIXES, (band.expected, band.lower, band.upper), strict=True
                ):
                    collector.add(
                        SeriesKey(
                            model=column.model,
                            version=column.version,
                            family=Family.PERFORMANCE,
                            column=column.column,
                            statistic=name + horizon.suffix + suffix,
                        ),
                        window,
                        edge,
                        support,
                    )
                changed |= support >= MIN_LABELS and not band.contains(value)
            if changed:  # what the point spoke for stays out of later references
                dropped.update(w for w in current_windows if w in by_window)


@dataclass(frozen=True, slots=True, kw_only=True)
class Horizon:
    """How much of the past a point speaks for (its window, or the day up to it)."""

    suffix: str
    length: timedelta
    reference: Reference

    def covering(self, window: Window, step: timedelta) -> list[Window]:
        count = max(1, self.length // step)
        return [
            Window(start=window.start - k * step, end=window.end - k * step)
            for k in range(count - 1, -1, -1)
        ]


def _pooled(tallies: Sequence[Tally]) -> Tally | None:
    if not tallies:
        return None
    if all(isinstance(t, ClassifierTally) for t in tallies):
        return ClassifierTally.merge_all([t for t in tallies if isinstance(t, ClassifierTally)])
    return RegressorTally.merge_all([t for t in tallies if isinstance(t, RegressorTally)])


def _points(
    current: Tally | None,
    reference: Tally | None,
    calibration: Calibration | None,
    test: ChangeTest,
    threshold: float,
) -> list[tuple[str, float, ChangeBand | None, float]]:
    """``(statistic, value, band or None, support)`` of one window."""
    if current is None:
        return []
    realised = _metrics(current, threshold)
    before = _metrics(reference, threshold) if reference is not None else {}
    points: list[tuple[str, float, ChangeBand | None, float]] = []
    for name, now in realised.items():
        previous = before.get(name)
        scale = before["rmse"].value if name == "bias" and "rmse" in before else math.nan
        if previous is not None and name != "bias":
            scale = abs(previous.value)
        band = _band(name, now, previous, scale, test)
        points.append((name, now.value, band, now.n))
    if isinstance(current, ClassifierTally) and calibration is not None:
        for name, guess in estimate_classifier(current, calibration, threshold=threshold).items():
            points.append((f"estimated_{name}", guess.value, None, guess.n))
    return points


def _metrics(tally: Tally, threshold: float) -> dict[str, Estimate]:
    if isinstance(tally, ClassifierTally):
        return classifier_metrics(tally, threshold=threshold)
    return regressor_metrics(tally)


def _calibration(reference: ClassifierTally) -> Calibration | None:
    try:
        return fit_calibration(reference)
    except ConfigError:
        return None  # too few labelled predictions in the reference yet


def _band(
    name: str, now: Estimate, before: Estimate | None, scale: float, test: ChangeTest
) -> ChangeBand:
    """``expected ± max(min change, z * sqrt(se_now² + se_before²))``; NaN without evidence.

    The minimum is ``min_performance`` for metrics in ``[0, 1]``, log loss and calibration
    error, and ``min_error_ratio * scale`` for a regressor's errors (``scale`` its reference
    value, the reference's RMSE for ``bias``)."""
    if before is None or now.n < MIN_LABELS or before.n < MIN_LABELS:
        return ChangeBand.unknown()
    if not all(math.isfinite(v) for v in (now.se, before.se, before.value)):
        return ChangeBand.unknown()
    smallest = test.min_performance
    if name in REGRESSOR_METRICS:
        smallest = test.min_error_ratio * scale
    half = max(smallest, test.z * math.sqrt(now.se**2 + before.se**2))
    return ChangeBand(expected=before.value, lower=before.value - half, upper=before.value + half)
