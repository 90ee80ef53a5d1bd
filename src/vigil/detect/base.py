"""The detector lifecycle and the values detectors return.

Every detector follows four verbs (after alibi-detect): ``fit`` on history, ``score`` series,
``infer_threshold`` from a target false-alarm rate on calibration series, then ``predict``.
Scoring is kept apart from thresholding so the harness can set thresholds on data it does not
score, and so one set of scores can be judged at many thresholds.

Scores are *causal*: the score of step ``t`` uses only values before ``t`` (and at ``t``). Every
score comes with its evidence: the expected value and, when the detector has one, the band.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError
from vigil.detect.anomaly import Anomaly
from vigil.stats.series import Series

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True)
class Scores:
    """A detector's per-step output on one series.

    ``score`` is higher for more anomalous steps and NaN where the detector cannot score (warm-up,
    missing value). ``expected``, ``lower`` and ``upper`` are NaN where the detector has no such
    notion. For interval detectors the score is the distance outside-or-inside the band in units
    of the band's half-width, so ``score > 1`` means "outside the nominal prediction interval".
    """

    series: Series
    score: FloatArray
    expected: FloatArray
    lower: FloatArray
    upper: FloatArray

    def __post_init__(self) -> None:
        n = len(self.series)
        for name in ("score", "expected", "lower", "upper"):
            if getattr(self, name).shape != (n,):
                raise ConfigError(
                    f"scores.{name} has shape {getattr(self, name).shape}, need ({n},)"
                )

    def slice(self, start: int, stop: int) -> Scores:
        """Steps ``[start, stop)`` of these scores and of their series."""
        return Scores(
            series=self.series.slice(start, stop),
            score=self.score[start:stop],
            expected=self.expected[start:stop],
            lower=self.lower[start:stop],
            upper=self.upper[start:stop],
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Detection:
    """Scores plus the decision taken on them at ``threshold``."""

    scores: Scores
    threshold: float
    flags: BoolArray

    def anomalies(self, detector: str) -> list[Anomaly]:
        """The flagged steps as :class:`Anomaly` values carrying their evidence."""
        series = self.scores.series
        found: list[Anomaly] = []
        for index in np.flatnonzero(self.flags):
            expected = float(self.scores.expected[index])
            lower = float(self.scores.lower[index])
            upper = float(self.scores.upper[index])
            value = float(series.values[index])
            width = upper - lower
            severity = abs(value - expected) / width if width > 0 else float("nan")
            moment = series.timestamps[index].astype("datetime64[us]").astype(datetime)
            found.append(
                Anomaly(
                    key=series.key,
                    timestamp=moment.replace(tzinfo=UTC),
                    value=value,
                    expected=expected,
                    lower=lower,
                    upper=upper,
                    score=float(self.scores.score[index]),
                    severity=severity,
                    detector=detector,
                )
            )
        return found


@runtime_checkable
class Detector(Protocol):
    """The plug-in point every detector implements.

    - ``fit(history)`` learns from unlabeled history (a batch of series) and forgets earlier
      fits; per-series detectors may learn nothing here and fit each series' own past in
      ``score``.
    - ``score(series)`` returns causal :class:`Scores`, one per input series, in order.
    - ``infer_threshold(calibration, fpr)`` sets ``threshold_`` so that about ``fpr`` of the
      calibration steps score above it. It never sees labels. A detector with a decision of
      its own (``deep``) treats ``fpr`` as a cap: at most that many, never alarms added to fill
      the budget.
    - ``infer_threshold_from_scores(scores, fpr)`` does the same from the calibration's scores
      already computed: scores are causal, so a caller that scored a whole series (the watch)
      thresholds on its first steps without scoring them twice.
    - ``predict(series)`` scores and applies ``threshold_``.
    """

    name: str

    def fit(self, history: Sequence[Series]) -> Self: ...

    def score(self, series: Sequence[Series]) -> list[Scores]: ...

    def infer_threshold(self, calibration: Sequence[Series], fpr: float) -> Self: ...

    def infer_threshold_from_scores(self, calibration: Sequence[Scores], fpr: float) -> Self: ...

    def predict(self, series: Sequence[Series]) -> list[Detection]: ...
