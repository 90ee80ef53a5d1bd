"""One calibration layer for every detector: raw score -> per-series tail probability.

A raw anomaly score means different things on different series: 4 is routine on a spiky query
rate and unheard of on a smooth feature mean. After HTM's *anomaly likelihood* (Numenta), this
layer learns each series' own distribution of raw scores online and reports, per step, the
probability of a raw score at least this high on that series:

- the distribution is the last ``history`` raw scores of the series (re-estimated every
  ``reestimate`` steps, so one step is compared with what came strictly before its block);
  optionally the raw score is first averaged over ``average`` steps (HTM's short moving average);
- its body is empirical (mid-rank, so ties count half), its tail beyond the 90% quantile a
  Lomax: the exponential tail whose rate is uncertain because it rests on few exceedances. The
  probability can go below ``1/history`` without trusting a tail fitted on ten points;
- the steps of a series' *fitted history* (``fit``) are calibrated in-sample against all of
  that history (split conformal); later steps causally against their past;
- a series with fewer than ``min_history`` scored steps has no calibration: its steps are NaN,
  and :func:`calibrated_threshold` says so instead of flagging nothing in silence.

The calibrated score is ``-log10(p)``: 3 means "one step in a thousand on this series scores
this high". :func:`suppress` then keeps one step per excursion (NAB charges every false step).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Self

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, SeriesKey
from vigil.detect.base import Detector, Scores
from vigil.detect.interval import Thresholded, check_fpr, threshold_for_fpr
from vigil.stats.series import Series

FloatArray = npt.NDArray[np.float64]

P_FLOOR = 1e-15
"""The smallest tail probability reported (a score of 15)."""


class CalibrationError(ConfigError):
    """A detector cannot calibrate: too little history behind its scores. Give it longer
    calibration series (see the message for how many steps it needs)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """How raw scores become tail probabilities (see the module docstring)."""

    history: int = 2000
    reestimate: int = 50
    min_history: int = 100
    average: int = 1
    tail_quantile: float = 0.9

    def __post_init__(self) -> None:
        for name in ("history", "reestimate", "min_history", "average"):
            if getattr(self, name) < 1:
                raise ConfigError(f"calibration.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.min_history > self.history:
            raise ConfigError(
                f"calibration.min_history ({self.min_history}) exceeds history ({self.history})"
            )
        if not 0.5 <= self.tail_quantile < 1.0:
            raise ConfigError(
                f"calibration.tail_quantile must be in [0.5, 1), got {self.tail_quantile!r}"
            )


def tail_probability(
    history: FloatArray, values: FloatArray, *, quantile: float = 0.9
) -> FloatArray:
    """``P(S >= v)`` for each value, from the non-NaN raw scores ``history`` (see above)."""
    ordered = np.sort(history)
    size = ordered.size
    above = size - np.searchsorted(ordered, values, side="right")
    ties = np.searchsorted(ordered, values, side="right") - np.searchsorted(ordered, values, "left")
    body = (above + 0.5 * ties + 0.5) / (size + 1.0)
    cut = ordered[int(quantile * (size - 1))]
    excess = ordered[ordered > cut] - cut
    spread = float(np.std(ordered))
    scale = max(float(excess.mean()) if excess.size else 0.0, 0.25 * spread, 1e-9 * (abs(cut) + 1))
    count = max(excess.size, 1)
    beyond = (excess.size + 0.5) / (size + 1.0)
    lomax = beyond * (1.0 + np.maximum(values - cut, 0.0) / (count * scale)) ** (-count)
    return np.asarray(np.where(values > cut, np.minimum(body, lomax), body), dtype=np.float64)


def calibrate(
    raw: FloatArray, settings: Calibration, *, fitted: int = 0, learn_from: int = 0
) -> FloatArray:
    """Per-step tail probability of ``raw`` on its own series; the first ``fitted`` steps are
    the fitted history, calibrated in-sample. NaN where there is no raw score or too little
    history. Steps before ``learn_from`` leave the history once ``min_history`` steps after it
    can replace them (raw scores a detector computed before it could judge properly: until
    then they are all there is)."""
    import pandas as pd  # on first use (0.2 CPU s to import): rolling windows only

    score = np.array(raw, dtype=np.float64)
    finite = score[np.isfinite(score)]
    # An infinite raw score (a zero-width band) ranks above every finite one.
    cap = float(np.max(np.abs(finite))) * 10.0 + 1.0 if finite.size else 1.0
    score[np.isposinf(score)], score[np.isneginf(score)] = cap, -cap
    if settings.average > 1:
        score = pd.Series(score).rolling(settings.average, min_periods=1).mean().to_numpy()
    out = np.full(score.shape, np.nan)
    start = 0
    if fitted > 0:
        past = score[:fitted]
        past = past[~np.isnan(past)]
        if past.size >= min(settings.min_history, max(20, fitted // 2)):
            _fill(out, score, 0, fitted, past, settings.tail_quantile)
            start = fitted
    for begin in range(start, score.size, settings.reestimate):
        lowest = learn_from if begin - learn_from >= settings.min_history else 0
        past = score[max(lowest, begin - settings.history) : begin]
        past = past[~np.isnan(past)]
        if past.size >= (20 if start else settings.min_history):
            end = min(score.size, begin + settings.reestimate)
            _fill(out, score, begin, end, past, settings.tail_quantile)
    return out


def _fill(
    out: FloatArray, score: FloatArray, begin: int, end: int, past: FloatArray, q: float
) -> None:
    block = score[begin:end]
    ok = ~np.isnan(block)
    if ok.any():
        values = np.full(block.shape, np.nan)
        values[ok] = tail_probability(past, block[ok], quantile=q)
        out[begin:end] = values


def to_score(probability: FloatArray) -> FloatArray:
    """``-log10(p)``, floored at :data:`P_FLOOR` (NaN stays NaN)."""
    return np.asarray(-np.log10(np.maximum(probability, P_FLOOR)), dtype=np.float64)


def suppress(score: FloatArray, steps: int) -> FloatArray:
    """Keep a step's score only when it beats every score of the ``steps`` before it and,
    within ``steps`` of the last kept score, that one too; others score 0 (NaN stays NaN). One
    excursion then pages once, however long it lasts, unless it grows."""
    import pandas as pd  # on first use (0.2 CPU s to import): rolling windows only

    if steps <= 0:
        return score
    filled = np.nan_to_num(score, nan=0.0)
    before = pd.Series(filled).shift(1).rolling(steps, min_periods=1).max().to_numpy()
    kept = np.zeros(score.shape, dtype=bool)
    last_step, last_value = -(10**9), -math.inf
    for step in np.flatnonzero(filled > np.nan_to_num(before, nan=-math.inf)):
        if step - last_step > steps or filled[step] > last_value:
            kept[step] = True
            last_step, last_value = int(step), float(filled[step])
    return np.where(kept, score, np.where(np.isnan(score), np.nan, 0.0))


def calibrated_threshold(
    calibration_scores: Sequence[FloatArray], fpr: float, *, name: str
) -> float:
    """The threshold on calibrated scores for a target false-alarm rate ``fpr``.

    It means the same for every calibrated detector: at most ``fpr`` of the calibration steps
    score above it (the empirical quantile), and never below ``-log10(fpr)``, the score of a
    step whose tail probability on its own series is ``fpr``. Raises :class:`CalibrationError`
    when no calibration step has a calibrated score.
    """
    check_fpr(fpr)
    steps = sum(int(np.sum(~np.isnan(s))) for s in calibration_scores)
    if steps == 0:
        raise CalibrationError(
            f"{name} cannot calibrate: none of the {sum(len(s) for s in calibration_scores)} "
            "calibration steps has enough history behind it; give series with at least "
            "100 scored steps (about 4 days of hourly data)"
        )
    return max(threshold_for_fpr(list(calibration_scores), fpr), -math.log10(fpr))


class CalibratedDetector(Thresholded):
    """Any detector behind the calibration layer: its raw scores become ``-log10`` tail
    probabilities on each series' own history (in-sample over what ``fit`` saw of that
    series), then :func:`suppress`. Expected value and band stay the inner detector's."""

    def __init__(
        self,
        inner: Detector,
        *,
        calibration: Calibration | None = None,
        suppress_steps: int = 12,
    ) -> None:
        if suppress_steps < 0:
            raise ConfigError(f"suppress_steps must be >= 0, got {suppress_steps!r}")
        self.inner = inner
        self.name = f"calibrated-{inner.name}"
        self.calibration = calibration or Calibration()
        self.suppress_steps = suppress_steps
        self.threshold_ = -math.log10(0.01)
        self.fitted_until_: dict[SeriesKey, np.datetime64] = {}

    def fit(self, history: Sequence[Series]) -> Self:
        self.inner.fit(history)
        self.fitted_until_ = fitted_until(history)
        return self

    def score(self, series: Sequence[Series]) -> list[Scores]:
        out = []
        for raw in self.inner.score(series):
            fitted = fitted_steps(self.fitted_until_, raw.series)
            score = to_score(calibrate(raw.score, self.calibration, fitted=fitted))
            out.append(replace(raw, score=suppress(score, self.suppress_steps)))
        return out

    def infer_threshold_from_scores(self, calibration: Sequence[Scores], fpr: float) -> Self:
        scores = [one.score for one in calibration]
        self.threshold_ = calibrated_threshold(scores, fpr, name=self.name)
        return self


def fitted_until(history: Sequence[Series]) -> dict[SeriesKey, np.datetime64]:
    """Per series, the last timestamp ``fit`` saw."""
    return {one.key: one.timestamps[-1] for one in history if len(one)}


def fitted_steps(until: dict[SeriesKey, np.datetime64], series: Series) -> int:
    """How many leading steps of ``series`` the fitted history covered (0 if none)."""
    last = until.get(series.key)
    return 0 if last is None else int(np.searchsorted(series.timestamps, last, side="right"))
