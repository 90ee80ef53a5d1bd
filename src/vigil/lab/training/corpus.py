"""Training corpora for the deep detector: labeled series, plus synthetic anomalies.

Labels are sparse, so stage 2 learns mostly from anomalies injected into copies of the corpus
series (spikes, level shifts, variance changes, drops to zero, constant runs), plus whatever
real labels the corpus has. Two rules keep the labels honest for a *pointwise* classifier:

- Only the first ``HEAD`` steps of a labeled run are positives; the rest of the run is left out
  of training (after a level shift has lasted a window, the new level *is* normal to a causal
  model, and calling it anomalous teaches the classifier to alarm on normal-looking steps).
- NAB's windows are wide bands around a single labeled moment, so steps inside them are left
  out of both stages entirely rather than called positives.

This module is numpy only; :mod:`vigil.lab.training.trainer` adds torch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from vigil.lab.labeled import LabeledDataset, LabeledSeries
from vigil.stats.series import Series

BoolArray = npt.NDArray[np.bool_]
HEAD = 12
INJECTED_KINDS = ("spike", "level_shift", "variance", "drop_to_zero", "constant")


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    """One training series: ``positive`` steps are anomalies to learn, ``ignore`` are unused."""

    name: str
    series: Series
    positive: BoolArray
    ignore: BoolArray
    source: str


def examples_from(dataset: LabeledDataset, source: str) -> list[Example]:
    """Real-label examples of a data set (NAB windows ignored; other runs capped at HEAD)."""
    out = []
    for one in dataset.series:
        positive, ignore = _head_labels(one, wide=dataset.form == "nab")
        out.append(
            Example(
                name=f"{source}/{one.name}",
                series=one.series,
                positive=positive,
                ignore=ignore,
                source=source,
            )
        )
    return out


def _head_labels(one: LabeledSeries, *, wide: bool) -> tuple[BoolArray, BoolArray]:
    n = len(one.series)
    positive = np.zeros(n, dtype=bool)
    ignore = np.zeros(n, dtype=bool)
    for start, end in one.windows:
        if wide:
            ignore[start : end + 1] = True
            continue
        positive[start : min(end + 1, start + HEAD)] = True
        ignore[start + HEAD : end + 1] = True
    return positive, ignore


def inject(example: Example, rng: np.random.Generator, *, per_1000: float = 2.0) -> Example:
    """A copy of ``example`` with synthetic anomalies placed away from its real labels."""
    values = example.series.values.copy()
    n = len(values)
    positive = example.positive.copy()
    ignore = example.ignore.copy()
    taken = positive | ignore
    count = max(1, int(rng.poisson(per_1000 * n / 1000.0)))
    for _ in range(count):
        kind = INJECTED_KINDS[int(rng.integers(len(INJECTED_KINDS)))]
        length = 1 if kind == "spike" else int(rng.integers(6, 60))
        if kind == "spike":
            length = int(rng.integers(1, 4))
        if n < 120 + length:
            break
        start = int(rng.integers(60, n - length))
        lo, hi = max(0, start - 40), min(n, start + length + 20)
        if taken[lo:hi].any():
            continue
        past = values[max(0, start - 48) : start]
        past = past[~np.isnan(past)]
        if past.size < 8:
            continue
        level = float(np.median(past))
        spread = float(np.std(np.diff(past))) or max(abs(level) * 0.05, 1e-6)
        values[start : start + length] = _anomaly(
            kind, rng, values[start : start + length], level, spread
        )
        positive[start : start + min(length, HEAD)] = True
        ignore[start + HEAD : start + length] = True
        # The steps right after an anomaly still carry it in the model's inputs.
        taken[lo:hi] = True
    series = replace(example.series, values=values)
    return Example(
        name=example.name + "+injected",
        series=series,
        positive=positive,
        ignore=ignore,
        source=example.source,
    )


def _anomaly(
    kind: str,
    rng: np.random.Generator,
    segment: npt.NDArray[np.float64],
    level: float,
    spread: float,
) -> npt.NDArray[np.float64]:
    sign = 1.0 if rng.random() < 0.5 else -1.0
    if kind == "spike":
        return segment + sign * rng.uniform(4.0, 12.0) * spread * np.ones_like(segment)
    if kind == "level_shift":
        return segment + sign * rng.uniform(3.0, 8.0) * spread
    if kind == "variance":
        return (
            level
            + (segment - level) * rng.uniform(3.0, 6.0)
            + rng.normal(0.0, 2.0 * spread, segment.shape)
        )
    if kind == "drop_to_zero":
        return np.zeros_like(segment) if abs(level) > 3 * spread else segment - 6.0 * spread
    return np.full_like(segment, level)  # constant run


def split_by_series(
    examples: list[Example], validation: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Split whole series (never steps of one series) into train and validation."""
    order = np.random.default_rng(seed).permutation(len(examples))
    cut = round(len(examples) * (1.0 - validation))
    return [examples[i] for i in order[:cut]], [examples[i] for i in order[cut:]]
