"""NAB's scoring rules with NAB's threshold optimiser, over a whole corpus.

NAB (``nab/sweeper.py``, ``nab/optimizer.py``, ``nab/runner.py`` in numenta/NAB v1.1) scores a
detector that emits one anomaly score per row:

- every row gets a *sweep weight*: inside a window, ``tp·σ(position)/σ(-1)`` where position runs
  from ``-1`` at the window's first row to just below ``0`` at its last; outside, ``fp·σ(d)``
  where ``d`` is the distance from the previous window's end in units of that window's width
  minus one (``-fp`` before any window); ``σ(p) = 2/(1+e^{5p}) - 1``, ``-1`` beyond ``p = 3``;
- rows of the probationary prefix (``min(floor(15%·n), 750)``) are dropped;
- at a threshold, every row scoring ``>=`` it is a detection: a window counts the weight of its
  earliest detection (``-fn`` when it has none), every detection outside a window adds its
  (negative) weight;
- the **optimiser** sweeps every distinct score over the whole corpus and keeps the threshold
  with the highest total (ties go to the highest threshold), per profile;
- the total is normalised so the null detector scores 0 and a perfect one 100:
  ``100·(raw - null)/(perfect - null)``, null being the null detector's optimised total (a
  constant score: every window missed) and perfect ``tp`` times the number of labeled windows.

NAB tunes the threshold on the labels it scores; that is its rule, and this module follows it.
A held-out estimate chooses the threshold on other files (:func:`score_at`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from vigil.core import ConfigError, SchemaError
from vigil.lab.labeled import NAB_LABELS, LabeledSeries
from vigil.lab.scoring import NAB_PROFILES, NabProfile

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PROFILE_NAMES: dict[str, str] = {
    "standard": "standard",
    "reward_low_FP_rate": "low_fp",
    "reward_low_FN_rate": "low_fn",
}
"""NAB's profile names (``config/profiles.json``) and the keys of :data:`NAB_PROFILES`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NabFile:
    """One scored file: how many rows it has and its label windows as inclusive row ranges."""

    name: str
    family: str
    rows: int
    windows: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        last = -1
        for start, end in self.windows:
            if not last < start <= end < self.rows:
                raise ConfigError(
                    f"{self.name}: windows must be ordered, disjoint and inside 0..{self.rows - 1},"
                    f" got {self.windows}"
                )
            last = end


@dataclass(frozen=True, slots=True, kw_only=True)
class NabScore:
    """A corpus total at one threshold, with what normalises it."""

    threshold: float
    raw: float
    null: float
    perfect: float

    @property
    def normalised(self) -> float:
        """``100·(raw - null)/(perfect - null)``: the null detector 0, a perfect one 100."""
        span = self.perfect - self.null
        return 100.0 * (self.raw - self.null) / span if span > 0 else math.nan


def nab_rows(path: Path, series: LabeledSeries) -> tuple[NabFile, IntArray]:
    """The rows of one NAB file as NAB's scorer sees them, and for each row the index of its
    step in ``series`` (the loaded series merges rows that repeat a timestamp; NAB keeps them).

    A window runs from the first row at its start timestamp to the first row at its end
    timestamp (NAB's ``timestamps.index``), or the last row before it if none matches.
    """
    try:
        labels: dict[str, list[list[str]]] = json.loads((path / NAB_LABELS).read_text())
        raw = pd.read_csv(path / "data" / series.name, usecols=["timestamp"])
    except (OSError, ValueError, KeyError) as err:
        raise SchemaError(f"cannot read NAB file {series.name!r} under {path}: {err}") from err
    stamps = pd.to_datetime(raw["timestamp"]).to_numpy().astype("datetime64[s]")
    windows = []
    for start, end in labels.get(series.name, []):
        first = int(np.searchsorted(stamps, np.datetime64(pd.Timestamp(start), "s"), "left"))
        at_end = np.flatnonzero(stamps == np.datetime64(pd.Timestamp(end), "s"))
        last = (
            int(at_end[0])
            if at_end.size
            else int(np.searchsorted(stamps, np.datetime64(pd.Timestamp(end), "s"), "right")) - 1
        )
        windows.append((first, last))
    step_of_row = np.searchsorted(series.series.timestamps, stamps).astype(np.int64)
    file = NabFile(name=series.name, family=series.family, rows=len(stamps), windows=tuple(windows))
    return file, np.clip(step_of_row, 0, len(series.series) - 1)


def probation_rows(rows: int) -> int:
    """NAB's probationary length: ``min(floor(0.15·rows), 0.15·5000)`` rows."""
    return int(min(math.floor(0.15 * rows), 0.15 * 5000))


def sweep_weights(file: NabFile, profile: NabProfile) -> tuple[FloatArray, IntArray]:
    """Per row: NAB's sweep weight, and the index of the window holding it (``-1`` outside)."""
    weights = np.zeros(file.rows)
    window_of = np.full(file.rows, -1, dtype=np.int64)
    rows = np.arange(file.rows, dtype=np.float64)
    max_tp = _sigmoid(np.array([-1.0]))[0]
    cursor = 0
    previous: tuple[int, int] | None = None
    for index, (start, end) in enumerate(file.windows):
        weights[cursor:start] = _outside(rows[cursor:start], previous, profile)
        width = float(end - start + 1)
        weights[start : end + 1] = (
            _sigmoid(-(end - rows[start : end + 1] + 1) / width) * profile.tp / max_tp
        )
        window_of[start : end + 1] = index
        previous, cursor = (start, end), end + 1
    weights[cursor:] = _outside(rows[cursor:], previous, profile)
    return weights, window_of


@dataclass(frozen=True, slots=True, kw_only=True)
class NabCurve:
    """The corpus total at every distinct threshold, highest threshold first.

    ``thresholds[0]`` is ``+inf`` (nothing detected); ``totals[k]`` is the total when every row
    scoring ``>= thresholds[k]`` is a detection.
    """

    thresholds: FloatArray
    totals: FloatArray
    scored_windows: int
    labeled_windows: int


def nab_curve(
    files: Sequence[NabFile], scores: Sequence[FloatArray], profile: NabProfile
) -> NabCurve:
    """Sweep every distinct score at once (NAB's ``calcScoreByThreshold`` over the corpus).

    NaN scores count as 0, the bottom of NAB's ``[0, 1]`` score range.
    """
    if len(files) != len(scores):
        raise ConfigError(f"{len(files)} files but {len(scores)} score arrays")
    values, weights, groups = [], [], []
    offset, scored_windows = 0, 0
    for file, score in zip(files, scores, strict=True):
        if score.shape != (file.rows,):
            raise ConfigError(f"{file.name}: {score.shape} scores for {file.rows} rows")
        weight, window_of = sweep_weights(file, profile)
        keep = slice(probation_rows(file.rows), None)
        group = np.where(window_of[keep] >= 0, window_of[keep] + offset, -1)
        scored_windows += np.unique(group[group >= 0]).size
        offset += len(file.windows)
        values.append(np.nan_to_num(np.asarray(score, dtype=np.float64)[keep], nan=0.0))
        weights.append(weight[keep])
        groups.append(group)
    value, weight, group = np.concatenate(values), np.concatenate(weights), np.concatenate(groups)
    order = np.argsort(-value, kind="stable")
    value, weight, group = value[order], weight[order], group[order]
    change = np.where(group < 0, weight, 0.0)
    inside = np.flatnonzero(group >= 0)
    if inside.size:
        change[inside] = _earliest_gains(group[inside], weight[inside], profile.fn)
    totals = -profile.fn * scored_windows + np.cumsum(change)
    last_of_tie = np.r_[value[1:] != value[:-1], True]
    return NabCurve(
        thresholds=np.r_[np.inf, value[last_of_tie]],
        totals=np.r_[-profile.fn * scored_windows, totals[last_of_tie]],
        scored_windows=scored_windows,
        labeled_windows=offset,
    )


def optimise(
    files: Sequence[NabFile], scores: Sequence[FloatArray], profile: NabProfile
) -> NabScore:
    """NAB's optimiser: the threshold with the highest corpus total (ties: the highest)."""
    curve = nab_curve(files, scores, profile)
    best = int(np.argmax(curve.totals))
    return _normalised(files, curve, best, profile)


def score_at(
    files: Sequence[NabFile], scores: Sequence[FloatArray], profile: NabProfile, threshold: float
) -> NabScore:
    """The corpus total when every row scoring ``>= threshold`` is a detection."""
    curve = nab_curve(files, scores, profile)
    reached = np.flatnonzero(curve.thresholds >= threshold)
    return _normalised(files, curve, int(reached[-1]), profile)


def _normalised(
    files: Sequence[NabFile], curve: NabCurve, index: int, profile: NabProfile
) -> NabScore:
    constant = [np.full(file.rows, 0.5) for file in files]
    null_curve = nab_curve(files, constant, profile) if files else curve
    return NabScore(
        threshold=float(curve.thresholds[index]),
        raw=float(curve.totals[index]),
        null=float(np.max(null_curve.totals)),
        perfect=profile.tp * curve.labeled_windows,
    )


def _earliest_gains(group: IntArray, weight: FloatArray, fn: float) -> FloatArray:
    """How much each detection inside a window raises the total, in score order: a window is
    worth ``max(-fn, best weight so far)``, so a detection adds only when it beats the best."""
    order = np.argsort(group, kind="stable")  # windows together, score order kept inside each
    g, w = group[order], weight[order]
    starts = np.r_[True, g[1:] != g[:-1]]
    # A running maximum restarted at each window: weights lie in [-1, 1], so lifting window k
    # by 4k keeps every window above all earlier ones.
    lift = 4.0 * np.cumsum(starts)
    best = np.maximum.accumulate(w + lift) - lift
    before = np.where(starts, -fn, np.r_[-fn, best[:-1]])
    gains = np.empty_like(w)
    gains[order] = np.maximum(best, -fn) - np.maximum(before, -fn)
    return gains


def _outside(rows: FloatArray, previous: tuple[int, int] | None, profile: NabProfile) -> FloatArray:
    if previous is None:
        return np.full(rows.shape, -profile.fp)
    start, end = previous
    width = end - start + 1
    if width == 1:  # NAB divides by zero here; its scorer's older form used "far after" (3.0)
        return np.full(rows.shape, -profile.fp)
    return _sigmoid(np.abs(end - rows) / (width - 1)) * profile.fp


def _sigmoid(position: FloatArray) -> FloatArray:
    """NAB's scaled sigmoid: ``2/(1+e^{5p}) - 1``, and ``-1`` from ``p = 3`` on."""
    with np.errstate(over="ignore"):
        value = 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0
    return np.where(position >= 3.0, -1.0, value)


def profile_weights(name: str) -> NabProfile:
    """The weights of a NAB profile by NAB's name (``standard``, ``reward_low_FP_rate``, …)."""
    try:
        return NAB_PROFILES[PROFILE_NAMES[name]]
    except KeyError:
        raise ConfigError(
            f"unknown NAB profile {name!r}; known: {', '.join(PROFILE_NAMES)}"
        ) from None
