"""How the bench judges a detector's flags against labels: event-wise, point-wise and NAB.

Every measure here looks only at the *scored* steps: those after each series' probationary
prefix, which the harness hands to detectors as unlabeled fit and calibration history.

**Event-wise** precision/recall/F1. Each labeled window (a run of consecutive labeled steps, or
one of NAB's windows) is one event. An event is detected when a flag falls inside it or at most
``tolerance`` steps after its end; its delay is the number of steps from the event's first
scored step to the first such flag. Consecutive flags outside every (tolerance-extended) event
form one false-positive event. ``precision = TP / (TP + FP events)``, ``recall = TP / events``.

**Point-wise** precision/recall/F1 over single steps, without point adjustment (a long event
caught at one step earns one true positive, not all of them).

**NAB score** following Numenta's published scorer (``nab/sweeper.py``, NAB v1.1): the first
``min(floor(0.15·n), 750)`` steps are probationary and ignored; each window counts once, with
the weight of its *earliest* flag, ``tp·σ(position)/σ(-1)`` where ``σ(p) = 2/(1+e^{5p}) - 1``
and position runs from ``-1`` at the window's start to ``0`` just past its end; a missed window
costs ``fn``; every flag outside a window costs ``fp·σ(distance)`` where distance is measured
from the previous window's end in units of that window's width (``-fp`` when no window came
before). Raw scores are summed over the data set and normalised so the null detector (never
flags) scores 0 and the perfect one (flags each window's first step) scores 100. Unlike NAB we
do not sweep the threshold to maximise the score: that would tune on the labels being scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vigil.core import ConfigError
from vigil.detect.base import BoolArray

Window = tuple[int, int]
PROBATION = -2  # window_delays: the window ends inside the probationary prefix (not scored)
MISSED = -1  # window_delays: no flag reached the window


@dataclass(frozen=True, slots=True, kw_only=True)
class NabProfile:
    """Weights of one NAB application profile (``config/profiles.json`` in NAB)."""

    tp: float
    fp: float
    fn: float


NAB_PROFILES: dict[str, NabProfile] = {
    "standard": NabProfile(tp=1.0, fp=0.11, fn=1.0),
    "low_fp": NabProfile(tp=1.0, fp=0.22, fn=1.0),
    "low_fn": NabProfile(tp=1.0, fp=0.11, fn=2.0),
}


def nab_probation(length: int, fraction: float = 0.15) -> int:
    """NAB's probationary length: ``min(floor(fraction·n), fraction·5000)`` steps."""
    return int(min(math.floor(fraction * length), fraction * 5000))


@dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    """Counts for one series (or, summed, a data set); every ratio is derived from these."""

    events: int = 0
    detected: int = 0
    false_events: int = 0
    true_points: int = 0
    flagged_points: int = 0
    labeled_points: int = 0
    delay_steps: tuple[int, ...] = ()
    nab_raw: tuple[tuple[str, float], ...] = ()
    nab_windows: int = 0

    def __add__(self, other: Tally) -> Tally:
        raw = dict(self.nab_raw)
        for name, value in other.nab_raw:
            raw[name] = raw.get(name, 0.0) + value
        return Tally(
            events=self.events + other.events,
            detected=self.detected + other.detected,
            false_events=self.false_events + other.false_events,
            true_points=self.true_points + other.true_points,
            flagged_points=self.flagged_points + other.flagged_points,
            labeled_points=self.labeled_points + other.labeled_points,
            delay_steps=self.delay_steps + other.delay_steps,
            nab_raw=tuple(sorted(raw.items())),
            nab_windows=self.nab_windows + other.nab_windows,
        )

    @property
    def precision(self) -> float:
        return _ratio(self.detected, self.detected + self.false_events)

    @property
    def recall(self) -> float:
        return _ratio(self.detected, self.events)

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)

    @property
    def point_precision(self) -> float:
        return _ratio(self.true_points, self.flagged_points)

    @property
    def point_recall(self) -> float:
        return _ratio(self.true_points, self.labeled_points)

    @property
    def point_f1(self) -> float:
        return _f1(self.point_precision, self.point_recall)

    @property
    def mean_delay_steps(self) -> float:
        return float(np.mean(self.delay_steps)) if self.delay_steps else math.nan

    def nab(self, profile: str) -> float:
        """Normalised NAB score (null detector 0, perfect 100) under ``profile``."""
        weights = NAB_PROFILES[profile]
        if self.nab_windows == 0:
            return math.nan
        null = -weights.fn * self.nab_windows
        perfect = weights.tp * self.nab_windows
        return 100.0 * (dict(self.nab_raw)[profile] - null) / (perfect - null)


def tally(
    labels: BoolArray,
    windows: Sequence[Window],
    flags: BoolArray,
    *,
    probation: int,
    tolerance: int = 3,
) -> Tally:
    """Score one series' ``flags`` against ``labels`` and ``windows`` from ``probation`` on."""
    n = len(labels)
    if flags.shape != (n,) or not 0 <= probation <= n or tolerance < 0:
        raise ConfigError(
            f"need flags of shape ({n},), 0 <= probation <= {n}, tolerance >= 0; got "
            f"{flags.shape}, {probation}, {tolerance}"
        )
    scored = np.zeros(n, dtype=bool)
    scored[probation:] = True
    live = flags.astype(bool) & scored
    delays = window_delays(windows, live, probation=probation, tolerance=tolerance)
    covered = np.zeros(n, dtype=bool)
    for start, end in windows:
        if end >= probation:
            covered[start : min(end + tolerance, n - 1) + 1] = True
    events = sum(1 for d in delays if d != PROBATION)
    found = [d for d in delays if isinstance(d, int) and d >= 0]
    stray = live & ~covered
    false_events = len(np.flatnonzero(np.diff(np.concatenate([[0], stray.astype(np.int8)])) == 1))
    truth = labels.astype(bool) & scored
    raw = tuple(
        (name, nab_raw_score(windows, live, probation=probation, profile=weights))
        for name, weights in sorted(NAB_PROFILES.items())
    )
    return Tally(
        events=events,
        detected=len(found),
        false_events=false_events,
        true_points=int(np.sum(live & truth)),
        flagged_points=int(np.sum(live)),
        labeled_points=int(np.sum(truth)),
        delay_steps=tuple(found),
        nab_raw=raw,
        nab_windows=sum(1 for _, end in windows if end >= probation),
    )


def window_delays(
    windows: Sequence[Window], flags: BoolArray, *, probation: int, tolerance: int = 3
) -> list[int]:
    """Per window: the delay in steps to its first flag, :data:`MISSED`, or :data:`PROBATION`.

    A window is detected by a flag from its first scored step to ``tolerance`` steps after its
    end; windows that end inside the probationary prefix are not scored.
    """
    n = len(flags)
    delays = []
    for start, end in windows:
        if end < probation:
            delays.append(PROBATION)
            continue
        first = max(start, probation)
        hits = np.flatnonzero(flags[first : min(end + tolerance, n - 1) + 1])
        delays.append(int(hits[0]) if hits.size else MISSED)
    return delays


def nab_raw_score(
    windows: Sequence[Window], flags: BoolArray, *, probation: int, profile: NabProfile
) -> float:
    """NAB's raw (un-normalised) score of one series, as ``nab/sweeper.py`` computes it."""
    ordered = sorted(windows)
    best = {w: -profile.fn for w in ordered if w[1] >= probation}
    false_cost = 0.0
    max_tp = _sigmoid(-1.0)
    for index in np.flatnonzero(flags):
        if index < probation:
            continue
        inside = next((w for w in ordered if w[0] <= index <= w[1]), None)
        if inside is not None:
            width = inside[1] - inside[0] + 1
            weighted = _sigmoid(-(inside[1] - index + 1) / width) * profile.tp / max_tp
            best[inside] = max(best[inside], weighted)
            continue
        before = [w for w in ordered if w[1] < index]
        if not before:
            position = 3.0
        else:
            start, end = before[-1]
            width = end - start + 1
            position = (index - end) / (width - 1) if width > 1 else 3.0
        false_cost += _sigmoid(position) * profile.fp
    return sum(best.values()) + false_cost


def _sigmoid(position: float) -> float:
    """NAB's scaled sigmoid: 0.987 at a window's start, 0 at its end, -1 far after it."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def _f1(precision: float, recall: float) -> float:
    if math.isnan(precision) or math.isnan(recall) or precision + recall == 0:
        return 0.0 if precision == 0 or recall == 0 else math.nan
    return 2 * precision * recall / (precision + recall)
