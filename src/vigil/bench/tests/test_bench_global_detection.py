"""The global-fit bench judges exactly like the per-series bench, but fits once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from vigil.bench.detection import bench_detectors
from vigil.bench.global_detection import bench_global_detector
from vigil.detect import RollingZScore
from vigil.detect.labeled import LabeledDataset
from vigil.detect.scoring import nab_probation
from vigil.detect.simulation import simulate_series
from vigil.stats.series import Series


def small_dataset() -> LabeledDataset:
    return LabeledDataset(
        name="small", form="simulated", series=tuple(simulate_series(seed=3, count=4))
    )


class CountingZScore(RollingZScore):
    """A zscore that records every ``fit`` call (it learns nothing, so results must not move)."""

    def __init__(self) -> None:
        super().__init__()
        self.fits: list[list[int]] = []

    def fit(self, history: Sequence[Series]) -> Self:
        self.fits.append([len(one) for one in history])
        return super().fit(history)


def test_a_detector_that_learns_nothing_gets_the_per_series_result() -> None:
    dataset = small_dataset()
    (per_series,) = bench_detectors(dataset, ["zscore"], fpr=0.01, workers=1)
    detector = CountingZScore()
    once = bench_global_detector(dataset, detector, "zscore", fpr=0.01)
    assert once.tally == per_series.tally
    assert once.threshold == per_series.threshold
    assert detector.fits == [[nab_probation(len(one.series)) for one in dataset.series]]
