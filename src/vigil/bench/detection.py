"""``vigil bench detect``: every named detector on a labeled data set, scored the same way.

The harness is the only place labels meet detectors, so it is where honesty is decided:

- **Fit and calibration data** are each series' probationary prefix (NAB's rule: the first
  ``min(15%, 750)`` steps). A detector is fit on that prefix, then scores the whole series
  causally. The threshold is the ``1 - fpr`` quantile of the *prefix* scores pooled over all
  series of the data set. Labels never reach ``fit`` or the threshold, and nothing is tuned on
  the series being scored.
  ``calibration="normal-prefix"`` is a stated variant: labeled prefix steps (and the
  ``tolerance`` steps after each window) leave the calibration pool, so a detector that catches
  anomalies inside the prefix is not charged for them with a higher threshold. It reads the
  labels of the *prefix* only, which are never scored; ``fit`` still sees the whole prefix.
- **Scores** count only steps after the prefix (see :mod:`vigil.lab.scoring`).
- **Time** is the wall time of fit + score over all series, run on ``workers`` processes.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, VigilError
from vigil.detect import DEFAULT_DETECTOR, check_fpr, threshold_for_fpr
from vigil.lab import (
    BENCH_DETECTORS,
    PROBATION,
    LabeledDataset,
    LabeledSeries,
    Tally,
    load_dataset,
    make_bench_detector,
    nab_probation,
    simulate_series,
    tally,
    window_delays,
    write_labeled_csvs,
)
from vigil.lab.simulation.rows import ROW_FAMILIES, simulate_rows
from vigil.stats import Series

FloatArray = npt.NDArray[np.float64]
SIMULATED_SEED = 20240601
SIMULATED_COUNT = 48
NO_STDERR = "no-se"  # a row family's spec suffix: its series without standard errors
CALIBRATION = (
    "fit + threshold on each series' unlabeled probationary prefix (first min(15%, 750) steps); "
    "threshold = (1 - fpr) quantile of the pooled prefix scores; metrics on the rest"
)
CALIBRATIONS: dict[str, str] = {
    "prefix": CALIBRATION,
    "normal-prefix": CALIBRATION.replace(
        "of the pooled prefix scores",
        "of the pooled prefix scores outside labeled windows (+ tolerance)",
    ),
}
"""Calibration pools: every prefix step (the default), or the prefix's unlabeled steps."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectorResult:
    """One detector's measured quality and cost on one data set."""

    detector: str
    tally: Tally
    threshold: float
    seconds: float
    calibration_steps: int = 0
    refused: tuple[str, ...] = ()  # "<series>: <reason>" for each series the detector refused
    by_kind: tuple[tuple[str, int, int], ...] = ()  # (incident kind, events, detected)

    def to_json(self) -> dict[str, Any]:
        t = self.tally
        return {
            "detector": self.detector,
            "precision": _number(t.precision),
            "recall": _number(t.recall),
            "f1": _number(t.f1),
            "nab_standard": _number(t.nab("standard")),
            "nab_low_fp": _number(t.nab("low_fp")),
            "nab_low_fn": _number(t.nab("low_fn")),
            "point_precision": _number(t.point_precision),
            "point_recall": _number(t.point_recall),
            "point_f1": _number(t.point_f1),
            "events": t.events,
            "detected": t.detected,
            "false_events": t.false_events,
            "mean_delay_steps": _number(t.mean_delay_steps),
            "threshold": _number(self.threshold),
            "calibration_steps": self.calibration_steps,
            "refused_series": list(self.refused),
            "seconds": round(self.seconds, 3),
            "recall_by_kind": {kind: _number(hit / total) for kind, total, hit in self.by_kind},
        }


def resolve_dataset(spec: str, scratch: Path) -> LabeledDataset:
    """``"simulated"`` (generated into ``scratch`` with a fixed seed, then loaded), a family of
    series computed from raw rows with its seed (``service:2``, ``business:2``,
    ``marketplace:1``, generated in memory so each step keeps its sample size), periodic shapes
    after NAB's artificial series (``shapes:1``, :mod:`vigil.lab.simulation.shapes`), or a
    path. A row family's spec may end in ``:no-se`` (``business:1:no-se``): the same series
    without their standard errors, as the labeled CSV ``timestamp,value,label,n`` gives them
    (the ``se`` column is optional), so the bench can score both forms."""
    family, _, seed = spec.partition(":")
    seed, _, form = seed.partition(":")
    if family in ROW_FAMILIES and seed.isdigit() and form in ("", NO_STDERR):
        rows = simulate_rows(family, seed=int(seed))
        return rows if not form else without_stderr(rows)
    if family == "shapes" and seed.isdigit():
        from vigil.lab.simulation.shapes import simulate_shapes

        return simulate_shapes(seed=int(seed))
    if spec == "simulated":
        generated = simulate_series(seed=SIMULATED_SEED, count=SIMULATED_COUNT)
        write_labeled_csvs(generated, scratch)
        # Score what a user of `vigil simulate series` gets on disk; the incident kinds live
        # only in memory (the CSV form has no place for them).
        loaded = load_dataset(scratch).series
        kinds = {one.name: one.window_kinds for one in generated}
        series = tuple(replace(one, window_kinds=kinds[one.name]) for one in loaded)
        return LabeledDataset(name="simulated", form="simulated", series=series)
    return load_dataset(Path(spec))


def without_stderr(dataset: LabeledDataset) -> LabeledDataset:
    """``dataset`` with every series' standard errors dropped (sample sizes kept)."""
    series = tuple(replace(one, series=replace(one.series, stderr=None)) for one in dataset.series)
    return replace(dataset, name=f"{dataset.name}:{NO_STDERR}", series=series)


def parse_detectors(spec: str | None) -> list[str]:
    """Comma-separated detector names (default: all registered), checked against the registry."""
    names = list(BENCH_DETECTORS) if not spec else [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCH_DETECTORS]
    if unknown or not names:
        raise ConfigError(
            f"unknown detector(s) {unknown or spec!r}; "
            f"known detectors: {', '.join(sorted(BENCH_DETECTORS))}"
        )
    return names


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoredDetector:
    """One detector's scores on every series of a data set, before any threshold: judged once
    per fpr, so a slow forecaster is not refitted for each."""

    detector: str
    scores: tuple[FloatArray, ...]
    seconds: float
    refused: tuple[str, ...] = ()  # "<series>: <reason>" for each series the detector refused

    def judge(
        self, dataset: LabeledDataset, *, fpr: float, tolerance: int, calibration: str = "prefix"
    ) -> DetectorResult:
        result = judge(
            self.detector,
            dataset,
            self.scores,
            fpr=fpr,
            tolerance=tolerance,
            seconds=self.seconds,
            calibration=calibration,
        )
        return replace(result, refused=self.refused)


def score_detectors(
    dataset: LabeledDataset, detectors: Sequence[str], *, workers: int = 2
) -> list[ScoredDetector]:
    """Fit each detector on every series' prefix and score the whole series, timed."""
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers!r}")
    items = [(one.series, nab_probation(len(one.series))) for one in dataset.series]
    if not items:
        raise ConfigError(f"data set {dataset.name!r} has no series")
    scored = []
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        if pool is not None:
            # Start the workers and import the detectors before the clock runs.
            list(pool.map(_warm_up, range(2 * workers)))
        for name in detectors:
            started = perf_counter()
            task = partial(_fit_and_score, name)
            outcomes = list(pool.map(task, items) if pool else map(task, items))
            scored.append(
                ScoredDetector(
                    detector=name,
                    scores=tuple(score for score, _ in outcomes),
                    seconds=perf_counter() - started,
                    refused=tuple(reason for _, reason in outcomes if reason),
                )
            )
    finally:
        if pool is not None:
            pool.shutdown()
    return scored


def bench_detectors(
    dataset: LabeledDataset,
    detectors: Sequence[str],
    *,
    fpr: float = 0.01,
    tolerance: int = 3,
    workers: int = 2,
    calibration: str = "prefix",
) -> list[DetectorResult]:
    """Fit, calibrate, score and judge each detector on ``dataset`` (see the module docstring)."""
    check_fpr(fpr)
    check_calibration(calibration)
    return [
        one.judge(dataset, fpr=fpr, tolerance=tolerance, calibration=calibration)
        for one in score_detectors(dataset, detectors, workers=workers)
    ]


def _warm_up(_: int) -> None:
    make_bench_detector(next(iter(BENCH_DETECTORS)))


def _fit_and_score(name: str, item: tuple[Series, int]) -> tuple[FloatArray, str]:
    """Scores of one series, or NaN scores and the reason when the detector refuses it."""
    series, probation = item
    detector = make_bench_detector(name)
    try:
        detector.fit([series.slice(0, probation)])
        return detector.score([series])[0].score, ""
    except VigilError as err:
        # A detector may refuse a series (too short, wrong step); it then flags nothing there,
        # which costs it recall, and the refusal is counted in the result rather than hidden.
        return np.full(len(series), np.nan), f"{series.key.column}: {err}"


def check_calibration(calibration: str) -> None:
    if calibration not in CALIBRATIONS:
        raise ConfigError(
            f"calibration must be one of {', '.join(CALIBRATIONS)}, got {calibration!r}"
        )


def check_fprs(fprs: Sequence[float]) -> None:
    if not fprs:
        raise ConfigError("give at least one fpr")
    for fpr in fprs:
        check_fpr(fpr)


def calibration_scores(
    one: LabeledSeries, score: FloatArray, probation: int, *, tolerance: int, calibration: str
) -> FloatArray:
    """The prefix scores that set the threshold: all of them, or (``normal-prefix``) those
    outside the labeled windows widened by ``tolerance`` (NaN there, which the quantile skips)."""
    prefix = np.array(score[:probation], dtype=np.float64)
    if calibration == "normal-prefix":
        for start, end in one.windows:
            prefix[start : min(end + tolerance + 1, probation)] = np.nan
    return prefix


def judge(
    name: str,
    dataset: LabeledDataset,
    scored: Sequence[FloatArray],
    *,
    fpr: float,
    tolerance: int,
    seconds: float,
    calibration: str = "prefix",
) -> DetectorResult:
    """Threshold ``scored`` (one score array per series of ``dataset``) as the module docstring
    says and tally it: the one place every detection benchmark turns scores into metrics."""
    check_calibration(calibration)
    probations = [nab_probation(len(one.series)) for one in dataset.series]
    prefixes = [
        calibration_scores(one, score, p, tolerance=tolerance, calibration=calibration)
        for one, score, p in zip(dataset.series, scored, probations, strict=True)
    ]
    try:
        threshold = threshold_for_fpr(prefixes, fpr)
    except ConfigError:
        threshold = math.inf  # no scorable calibration step: the detector never flags
    total = Tally()
    kinds: dict[str, tuple[int, int]] = {}
    for one, score, probation in zip(dataset.series, scored, probations, strict=True):
        flags = np.nan_to_num(score, nan=-np.inf) > threshold
        total = total + tally(
            one.labels, one.windows, flags, probation=probation, tolerance=tolerance
        )
        flags[:probation] = False
        delays = window_delays(one.windows, flags, probation=probation, tolerance=tolerance)
        for kind, delay in zip(one.window_kinds, delays, strict=False):
            if delay != PROBATION:
                events, hits = kinds.get(kind, (0, 0))
                kinds[kind] = (events + 1, hits + (delay >= 0))
    return DetectorResult(
        detector=name,
        tally=total,
        threshold=threshold,
        seconds=seconds,
        calibration_steps=int(sum(np.sum(~np.isnan(p)) for p in prefixes)),
        by_kind=tuple((kind, e, h) for kind, (e, h) in sorted(kinds.items())),
    )


def run_bench(
    spec: str,
    detectors: str | None,
    *,
    fprs: Sequence[float],
    tolerance: int,
    workers: int,
    calibration: str = "prefix",
) -> tuple[LabeledDataset, list[tuple[float, list[DetectorResult]]]]:
    """Resolve the data set and detectors, score each detector once, judge it at each fpr."""
    check_fprs(fprs)
    check_calibration(calibration)
    names = parse_detectors(detectors)
    with tempfile.TemporaryDirectory(prefix="vigil-simulated-") as scratch:
        dataset = resolve_dataset(spec, Path(scratch))
    scored = score_detectors(dataset, names, workers=workers)
    judged = [
        (
            fpr,
            [
                one.judge(dataset, fpr=fpr, tolerance=tolerance, calibration=calibration)
                for one in scored
            ],
        )
        for fpr in fprs
    ]
    return dataset, judged


def report_json(
    dataset: LabeledDataset,
    results: Sequence[DetectorResult],
    fpr: float,
    calibration: str = "prefix",
) -> dict[str, Any]:
    return {
        "dataset": dataset.name,
        "default_detector": DEFAULT_DETECTOR,
        "series": len(dataset.series),
        "rows": sum(len(s.series) for s in dataset.series),
        "events": results[0].tally.events if results else 0,
        "merged_duplicate_rows": sum(s.merged_duplicates for s in dataset.series),
        "missing_values": sum(s.missing_values for s in dataset.series),
        "calibration": CALIBRATIONS[calibration],
        "fpr": fpr,
        "results": [r.to_json() for r in results],
    }


def format_table(results: Sequence[DetectorResult], *, wide: bool = False) -> str:
    """A Markdown table: Algorithm | Precision | Recall | F1 | NAB | Time (and more if ``wide``)."""
    head = ["Algorithm", "Precision", "Recall", "F1", "NAB", "Time"]
    if wide:
        head += ["NAB low-FP", "NAB low-FN", "Point P", "Point R", "Point F1", "Delay", "FP events"]
        head += ["Calib. steps"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        t = r.tally
        cells = [
            r.detector,
            _fmt(t.precision),
            _fmt(t.recall),
            _fmt(t.f1),
            _fmt(t.nab("standard"), 1),
            f"{r.seconds:.1f} s",
        ]
        if wide:
            cells += [
                _fmt(t.nab("low_fp"), 1),
                _fmt(t.nab("low_fn"), 1),
                _fmt(t.point_precision),
                _fmt(t.point_recall),
                _fmt(t.point_f1),
                _fmt(t.mean_delay_steps, 1),
                str(t.false_events),
                str(r.calibration_steps),
            ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def format_kinds_table(results: Sequence[DetectorResult]) -> str:
    """Events detected per incident kind (simulated data only): ``detected/events``."""
    kinds = sorted({kind for r in results for kind, _, _ in r.by_kind})
    if not kinds:
        return ""
    rows = ["| Incident kind | " + " | ".join(r.detector for r in results) + " |"]
    rows.append("|" + "---|" * (len(results) + 1))
    for kind in kinds:
        cells = []
        for r in results:
            counts = {k: (e, h) for k, e, h in r.by_kind}
            events, hits = counts.get(kind, (0, 0))
            cells.append(f"{hits}/{events}")
        rows.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _number(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(value, 4)
