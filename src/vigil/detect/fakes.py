"""A fake detector for tests: scores a step by its raw value.

It needs no warm-up, is trivially causal and has no band, so tests of the harness and of
scoring can reason about exactly which steps flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np

from vigil.detect.base import Scores
from vigil.detect.interval import Thresholded
from vigil.stats.series import Series


class ThresholdDetector(Thresholded):
    """Score = the value itself; flags values above ``threshold_`` (default: never)."""

    name = "threshold"

    def __init__(self, *, threshold: float = float("inf")) -> None:
        self.threshold_ = threshold

    def fit(self, history: Sequence[Series]) -> Self:
        del history
        return self

    def score(self, series: Sequence[Series]) -> list[Scores]:
        return [
            Scores(
                series=one,
                score=one.values.astype(np.float64),
                expected=np.full(len(one), np.nan),
                lower=np.full(len(one), np.nan),
                upper=np.full(len(one), np.nan),
            )
            for one in series
        ]
