"""``vigil bench deepar``: a detector trained once across all series, judged like the others.

``vigil bench detect`` fits a fresh detector per series (right for per-series baselines, and it
parallelises across series). A global learner such as DeepAR is meant to learn from every
series' history at once, so here the detector is fitted ONCE on all probationary prefixes, then
scores every series; threshold and metrics follow the same rules as
:mod:`vigil.bench.detection` (threshold = ``1 - fpr`` quantile of the pooled prefix scores,
metrics after the prefix, through the same :func:`~vigil.bench.detection.judge`), so its row
sits in the same table. Time is fit + score wall time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter

from vigil.bench.detection import (
    DetectorResult,
    ScoredDetector,
    check_calibration,
    check_fprs,
    resolve_dataset,
)
from vigil.core import ConfigError
from vigil.detect import Detector, check_fpr
from vigil.lab.labeled import LabeledDataset
from vigil.lab.scoring import nab_probation


def bench_global_detector(
    dataset: LabeledDataset,
    detector: Detector,
    name: str,
    *,
    fpr: float = 0.01,
    tolerance: int = 3,
    calibration: str = "prefix",
) -> DetectorResult:
    """Fit ``detector`` once on every prefix of ``dataset``, score every series, judge."""
    check_fpr(fpr)
    check_calibration(calibration)
    scored = score_global_detector(dataset, detector, name)
    return scored.judge(dataset, fpr=fpr, tolerance=tolerance, calibration=calibration)


def score_global_detector(dataset: LabeledDataset, detector: Detector, name: str) -> ScoredDetector:
    """One fit on every series' prefix, then scores for every series, timed."""
    if not dataset.series:
        raise ConfigError(f"data set {dataset.name!r} has no series")
    probations = [nab_probation(len(one.series)) for one in dataset.series]
    started = perf_counter()
    detector.fit(
        [one.series.slice(0, p) for one, p in zip(dataset.series, probations, strict=True)]
    )
    scores = tuple(s.score for s in detector.score([one.series for one in dataset.series]))
    return ScoredDetector(detector=name, scores=scores, seconds=perf_counter() - started)


def run_global_bench(
    spec: str,
    detector: Detector,
    name: str,
    *,
    fprs: Sequence[float],
    tolerance: int,
    calibration: str = "prefix",
) -> tuple[LabeledDataset, list[tuple[float, DetectorResult]]]:
    """Resolve the data set (a path or ``"simulated"``), fit and score once, judge each fpr."""
    check_fprs(fprs)
    check_calibration(calibration)
    with tempfile.TemporaryDirectory(prefix="vigil-simulated-") as scratch:
        dataset = resolve_dataset(spec, Path(scratch))
    scored = score_global_detector(dataset, detector, name)
    judged = [
        (fpr, scored.judge(dataset, fpr=fpr, tolerance=tolerance, calibration=calibration))
        for fpr in fprs
    ]
    return dataset, judged
