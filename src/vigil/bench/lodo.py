"""``vigil bench lodo``: leave one data set out, the protocol that chose the default detector.

Every configuration of a grid of :class:`ConsensusSettings` is fit and scored on every data set
under the rules of ``vigil bench detect`` (fit on each series' unlabeled prefix, threshold = the
``1 - fpr`` quantile of the pooled prefix scores, event F1). Then, for each data set in turn, the
configuration with the best mean F1 on the *other* sets is chosen, and its F1 on the set left out
is that set's number. The headline is the mean and the worst of those numbers: what the
protocol would score on a set nobody tuned on. Labels of the left-out set never reach the choice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vigil.bench.detection import judge, resolve_dataset
from vigil.core import ConfigError, VigilError
from vigil.detect import DEFAULT_DETECTOR, ConsensusDetector, ConsensusSettings
from vigil.lab import LabeledDataset, nab_probation
from vigil.stats import Series

FloatArray = npt.NDArray[np.float64]

GRID: tuple[tuple[float, int, float], ...] = (
    (1e-3, 12, 5.0),
    (1e-3, 48, 5.0),
    (3e-4, 12, 5.0),
    (3e-4, 48, 5.0),
    (1e-4, 12, 5.0),
    (1e-4, 48, 5.0),
    (3e-4, 12, 10.0),
    (3e-4, 12, 30.0),
)
"""(alpha, suppress, global_df) of every configuration tried; the shipped one is (3e-4, 12, 10)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LodoResult:
    """F1 of every configuration on every set, and the choice made without each set."""

    datasets: tuple[str, ...]
    grid: tuple[tuple[float, int, float], ...]
    f1: FloatArray
    """``f1[c, d]``: configuration ``c`` on data set ``d``."""
    fpr: float

    @property
    def chosen(self) -> tuple[int, ...]:
        return choose_without(self.f1)

    @property
    def held_out(self) -> tuple[float, ...]:
        return tuple(float(self.f1[c, d]) for d, c in enumerate(self.chosen))

    def to_json(self) -> dict[str, Any]:
        held = self.held_out
        return {
            "default_detector": DEFAULT_DETECTOR,
            "fpr": self.fpr,
            "datasets": list(self.datasets),
            "grid": [
                {
                    "alpha": alpha,
                    "suppress": suppress,
                    "global_df": df,
                    "f1": {d: round(float(v), 4) for d, v in zip(self.datasets, row, strict=True)},
                }
                for (alpha, suppress, df), row in zip(self.grid, self.f1, strict=True)
            ],
            "held_out": [
                {"dataset": d, "chosen": _label(self.grid[c]), "f1": round(f1, 4)}
                for d, c, f1 in zip(self.datasets, self.chosen, held, strict=True)
            ],
            "mean": round(float(np.mean(held)), 4),
            "worst": round(float(np.min(held)), 4),
        }


def choose_without(f1: FloatArray) -> tuple[int, ...]:
    """For each data set (column), the configuration (row) with the best mean on the others;
    ties go to the earlier row."""
    f1 = np.asarray(f1, dtype=np.float64)
    if f1.ndim != 2 or f1.shape[0] < 1 or f1.shape[1] < 2:
        raise ConfigError(
            f"leave-one-out needs >= 1 configuration and >= 2 data sets, got {f1.shape}"
        )
    others = (f1.sum(axis=1, keepdims=True) - f1) / (f1.shape[1] - 1)
    return tuple(int(np.argmax(others[:, d])) for d in range(f1.shape[1]))


def run_lodo(
    specs: Sequence[str],
    scratch: Path,
    *,
    fpr: float = 0.001,
    tolerance: int = 3,
    grid: Sequence[tuple[float, int, float]] = GRID,
    workers: int = 2,
) -> LodoResult:
    """Score every configuration of ``grid`` on every data set of ``specs`` and keep the F1s."""
    if len(specs) < 2:
        raise ConfigError(f"give at least two data sets to leave one out, got {list(specs)}")
    datasets = [resolve_dataset(spec, scratch / f"set{i}") for i, spec in enumerate(specs)]
    f1 = np.full((len(grid), len(datasets)), math.nan)
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        for c, (alpha, suppress, df) in enumerate(grid):
            settings = ConsensusSettings(alpha=alpha, suppress=suppress, global_df=df)
            for d, dataset in enumerate(datasets):
                scores = _scores(dataset, settings, pool)
                tally = judge(
                    "consensus", dataset, scores, fpr=fpr, tolerance=tolerance, seconds=0.0
                ).tally
                f1[c, d] = tally.f1
    finally:
        if pool is not None:
            pool.shutdown()
    return LodoResult(datasets=tuple(d.name for d in datasets), grid=tuple(grid), f1=f1, fpr=fpr)


def format_table(result: LodoResult) -> str:
    head = ["alpha, suppress, df", *result.datasets, "mean"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for config, row in zip(result.grid, result.f1, strict=True):
        cells = [_label(config), *(f"{v:.3f}" for v in row), f"{np.mean(row):.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    held = result.held_out
    cells = [
        "chosen without the set",
        *(f"{v:.3f} ({_label(result.grid[c])})" for v, c in zip(held, result.chosen, strict=True)),
        f"mean {np.mean(held):.3f}, worst {np.min(held):.3f}",
    ]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _scores(
    dataset: LabeledDataset, settings: ConsensusSettings, pool: ProcessPoolExecutor | None
) -> list[FloatArray]:
    items = [(one.series, nab_probation(len(one.series))) for one in dataset.series]
    task = partial(_fit_and_score, settings)
    return list(pool.map(task, items) if pool else map(task, items))


def _fit_and_score(settings: ConsensusSettings, item: tuple[Series, int]) -> FloatArray:
    series, probation = item
    detector = ConsensusDetector(settings=settings)
    try:
        detector.fit([series.slice(0, probation)])
        return detector.score([series])[0].score
    except VigilError:
        return np.full(len(series), np.nan)  # refused: flags nothing, as in bench detect


def _label(config: tuple[float, int, float]) -> str:
    alpha, suppress, df = config
    return f"{alpha:g}, {suppress}, {df:g}"
