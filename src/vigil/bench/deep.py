"""``vigil bench deep`` and ``vigil bench deep-speed``: the shipped deep detector, judged and timed.

``run_deep_bench`` scores the deep detector (given weights, with any of its parts switched off)
and judges it exactly as ``vigil bench detect`` judges the baselines (:func:`judge`).
``run_deep_speed`` times it on many hourly series against ARIMA on a sample of the same series,
scaled up, on one process. Both sides are warmed up first on other series (the deep weights
loaded, statsmodels imported), so each timing is the steady cost per series a running
pipeline pays, not a one-off start-up.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vigil.bench.detection import DetectorResult, judge, resolve_dataset
from vigil.core import SeriesKey
from vigil.detect.deep import DeepModel, load_model, shipped_weights
from vigil.lab import LabeledDataset, make_bench_detector, nab_probation
from vigil.lab.ablation import AblatedDeepDetector
from vigil.stats import Series


@dataclass(frozen=True, slots=True, kw_only=True)
class DeepBench:
    """One judged run of the deep detector on a data set."""

    dataset: LabeledDataset
    model: DeepModel
    result: DetectorResult


def run_deep_bench(
    dataset: str,
    *,
    weights: Path | None,
    fpr: float,
    tolerance: int,
    classifier: bool = True,
    filters: bool = True,
    routine: bool = True,
    alert_only: bool = True,
    name: str = "deep",
    calibration: str = "prefix",
) -> DeepBench:
    """Score the deep detector on ``dataset`` (a folder or ``simulated``) and judge it."""
    model = load_model(weights or shipped_weights())
    decision = model.decision if routine else replace(model.decision, beyond_routine=False)
    detector = AblatedDeepDetector(
        model,
        decision=decision,
        use_classifier=classifier,
        use_filters=filters,
        alert_only=alert_only,
    )
    with tempfile.TemporaryDirectory(prefix="vigil-simulated-") as scratch:
        data = resolve_dataset(dataset, Path(scratch))
    started = time.perf_counter()
    scored = [s.score for s in detector.score([one.series for one in data.series])]
    seconds = time.perf_counter() - started
    result = judge(
        name, data, scored, fpr=fpr, tolerance=tolerance, seconds=seconds, calibration=calibration
    )
    return DeepBench(dataset=data, model=model, result=result)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeepSpeed:
    """Seconds the deep detector and ARIMA spend on the same series (ARIMA on a sample)."""

    series: int
    points: int
    detector: str = "deep"
    deep_s: float
    deep_cpu_s: float
    arima_series: int
    arima_s: float
    arima_cpu_s: float

    @property
    def arima_scale(self) -> float:
        """From ARIMA's sample to all the series."""
        return self.series / self.arima_series


def run_deep_speed(
    *, series: int, points: int, arima_sample: int, seed: int, detector: str = "deep"
) -> DeepSpeed:
    """Time ``detector`` (the deep one by default) on ``series`` x ``points`` and ARIMA on
    ``arima_sample`` of them."""
    batch = _series(np.random.default_rng(seed), series, points)
    warm_up = _series(np.random.default_rng(seed + 1), 2, points)
    timed = make_bench_detector(detector)
    timed.score(warm_up)  # loads weights and warms numpy, as a running pipeline is
    started, cpu = time.perf_counter(), time.process_time()
    timed.score(batch)
    deep_s, deep_cpu = time.perf_counter() - started, time.process_time() - cpu
    sample = batch[: max(1, min(arima_sample, series))]
    _arima(warm_up[0], points)  # imports statsmodels (0.34 CPU s), outside the timing
    started, cpu = time.perf_counter(), time.process_time()
    for one in sample:
        _arima(one, points)
    arima_s, arima_cpu = time.perf_counter() - started, time.process_time() - cpu
    return DeepSpeed(
        series=series,
        points=points,
        detector=detector,
        deep_s=deep_s,
        deep_cpu_s=deep_cpu,
        arima_series=len(sample),
        arima_s=arima_s,
        arima_cpu_s=arima_cpu,
    )


def _series(rng: np.random.Generator, count: int, points: int) -> list[Series]:
    """Hourly series with a daily cycle and noise, each at its own level."""
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(points) * np.timedelta64(3600, "s")
    daily = np.sin(2 * np.pi * np.arange(points) / 24)
    return [
        Series(
            key=SeriesKey(model="speed", version="", family="f", column=f"c{i}", statistic="mean"),
            timestamps=stamps,
            values=rng.uniform(1, 1000) * (1 + 0.2 * daily + 0.05 * rng.normal(size=points)),
        )
        for i in range(count)
    ]


def _arima(one: Series, points: int) -> None:
    arima = make_bench_detector("arima")
    arima.fit([one.slice(0, nab_probation(points))])
    arima.score([one])


def format_deep_speed(speed: DeepSpeed) -> str:
    """The lines ``vigil bench deep-speed`` prints."""
    scale = speed.arima_scale
    return "\n".join(
        [
            f"{speed.detector}: {speed.series} series x {speed.points} steps in "
            f"{speed.deep_s:.2f} s wall, "
            f"{speed.deep_cpu_s:.2f} s CPU (one process)",
            f"arima: {speed.arima_series} series in {speed.arima_s:.2f} s wall, "
            f"{speed.arima_cpu_s:.2f} s CPU; scaled to {speed.series}: "
            f"{speed.arima_s * scale:.0f} s wall, {speed.arima_cpu_s * scale:.0f} s CPU",
            f"{speed.detector} / arima CPU time: "
            f"{speed.deep_cpu_s / max(speed.arima_cpu_s * scale, 1e-9):.4f} "
            f"({speed.detector} is "
            f"{speed.arima_cpu_s * scale / max(speed.deep_cpu_s, 1e-9):.1f}x faster)",
        ]
    )
