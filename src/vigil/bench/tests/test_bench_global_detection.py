"""The global-fit bench judges exactly like the per-series bench, but fits once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Self

import pytest

from vigil.bench.detection import bench_detectors
from vigil.bench.global_detection import bench_global_detector, run_global_bench
from vigil.core import ConfigError
from vigil.detect import RollingZScore
from vigil.lab.labeled import LabeledDataset, write_labeled_csvs
from vigil.lab.scoring import nab_probation
from vigil.lab.simulation.series import simulate_series
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


def test_several_fprs_share_one_fit_and_match_single_runs(tmp_path: Path) -> None:
    write_labeled_csvs(small_dataset().series, tmp_path)
    detector = CountingZScore()
    dataset, judged = run_global_bench(
        str(tmp_path), detector, "zscore", fprs=[0.01, 0.001], tolerance=3
    )
    assert len(detector.fits) == 1 and [rate for rate, _ in judged] == [0.01, 0.001]
    for rate, result in judged:
        alone = bench_global_detector(dataset, CountingZScore(), "zscore", fpr=rate)
        assert result.tally == alone.tally and result.threshold == alone.threshold
    with pytest.raises(ConfigError, match="fpr"):
        run_global_bench(str(tmp_path), detector, "zscore", fprs=[], tolerance=3)
