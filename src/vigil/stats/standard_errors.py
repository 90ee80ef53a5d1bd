"""The standard error of a health statistic, from what the rows behind it say.

A health point is an estimate from the rows of its window, and its sampling noise is known from
the same rows: a detector that knows it does not read 5 heavy-tailed values far from the usual
mean as news when their own spread says the mean of 5 such values wanders that far.

- a **mean** of ``n`` values: ``s / sqrt(n)`` with ``s`` the sample standard deviation
  (``n >= 2``; one value says nothing about its spread);
- a **proportion** of ``n`` rows (a null rate, a share): binomial, ``sqrt(p (1 - p) / n)``
  (0 at ``p`` = 0 or 1: the plug-in knows no better, and the detector's exact binomial floor
  judges those steps);
- a **standard deviation** of ``n`` values: ``s / sqrt(2 (n - 1))`` (the normal-theory one);
- a **quantile** at level ``q`` of ``n`` values: half the width of the order-statistic
  interval, the values at ranks ``q ± sqrt(q (1 - q) / n)`` (the binomial spread of how many
  values fall below the true quantile), widened by the sketch's own rank error when the values
  come from a sketch. That is one standard error for a smooth density, and needs no density
  estimate.

Counts (rows, requests), extremes (min, max), distinct counts and the quality flags have none
here (NaN): a count is what happened, and its sampling law lives with the detector
(:mod:`vigil.detect.sampling`, Poisson).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from vigil.profile import ColumnProfile, LogHistogram, QuantileSketch
from vigil.stats.series import FloatArray


def mean_stderr(std: float, n: float) -> float:
    """``std / sqrt(n)``, ``std`` the sample standard deviation of the ``n`` values (NaN below
    two values)."""
    if not n >= 2 or not math.isfinite(std):
        return math.nan
    return abs(std) / math.sqrt(n)


def proportion_stderr(share: float, n: float) -> float:
    """Binomial ``sqrt(p (1 - p) / n)`` of a share ``p`` of ``n`` rows (NaN without rows)."""
    if not n > 0 or not 0.0 <= share <= 1.0:
        return math.nan
    return math.sqrt(share * (1.0 - share) / n)


def std_stderr(std: float, n: float) -> float:
    """``s / sqrt(2 (n - 1))``: the standard error of a sample standard deviation of ``n``
    normal values (NaN below two values)."""
    if not n >= 2 or not math.isfinite(std):
        return math.nan
    return abs(std) / math.sqrt(2.0 * (n - 1.0))


def quantile_stderrs(
    quantiles: Callable[[FloatArray], FloatArray],
    levels: FloatArray,
    n: float,
    *,
    rank_error: float = 0.0,
) -> FloatArray:
    """Per level ``q``, half the spread between the quantiles at ``q ± (sqrt(q (1 - q) / n) +
    rank_error)`` (clipped to [0, 1]), read in one call from ``quantiles`` (levels -> values: a
    sketch's, or ``np.quantile`` over the raw values). ``rank_error``: the sketch's own
    one-sigma normalized rank error (0 for exact values). NaN without values."""
    levels = np.asarray(levels, dtype=np.float64)
    if not n >= 1 or levels.size == 0:
        return np.full(levels.shape, np.nan)
    half = np.sqrt(levels * (1.0 - levels) / n) + max(rank_error, 0.0)
    ends = np.concatenate([np.clip(levels - half, 0.0, 1.0), np.clip(levels + half, 0.0, 1.0)])
    found = np.asarray(quantiles(ends), dtype=np.float64)
    low, high = found[: levels.size], found[levels.size :]
    return np.asarray(np.abs(high - low) / 2.0, dtype=np.float64)


def quantile_stderr(
    quantiles: Callable[[FloatArray], FloatArray],
    level: float,
    n: float,
    *,
    rank_error: float = 0.0,
) -> float:
    """:func:`quantile_stderrs` of one level."""
    levels = np.array([level], dtype=np.float64)
    return float(quantile_stderrs(quantiles, levels, n, rank_error=rank_error)[0])


PROPORTIONS = frozenset({"null_rate", "nonfinite_rate", "coverage", "top_share", "traffic_ratio"})
"""Health statistics that are a share of their ``support`` rows (with ``share_above_*``)."""

KLL_SIGMAS = 2.576
"""DataSketches states KLL's normalized rank error at 99% confidence: this many sigmas."""


def column_stderrs(
    column: ColumnProfile | None,
    stats: Mapping[str, float],
    sizes: Mapping[str, float],
    quantiles: Mapping[str, float],
) -> dict[str, float]:
    """The standard error of each statistic of one column's window that has one (see the
    module docstring), keyed as ``stats``; ``sizes`` maps each to its sample size (the
    column's numbers when absent), ``quantiles`` each quantile statistic to its level.
    Quantiles are read from the column's KLL sketch, whose one-sigma rank error is added to the
    sampling one (:func:`sketch_quantile_stderrs`)."""
    found: dict[str, float] = {}
    numbers = float(column.moments.count) if column is not None else 0.0
    for name, value in stats.items():
        size = sizes.get(name, numbers)
        if name in PROPORTIONS or name.startswith("share_above_"):
            found[name] = proportion_stderr(value, size)
        elif name == "mean":
            found[name] = mean_stderr(stats.get("std", math.nan), numbers)
        elif name == "std":
            found[name] = std_stderr(value, numbers)
    levels = [(name, level) for name, level in quantiles.items() if name in stats]
    if levels and column is not None:
        errors = sketch_quantile_stderrs(column.quantiles, [level for _, level in levels])
        found.update((name, error) for (name, _), error in zip(levels, errors, strict=True))
    return found


def sketch_quantile_stderrs(sketch: QuantileSketch, levels: Sequence[float]) -> list[float]:
    """The standard error of each quantile of a KLL sketch: the rank interval of its values,
    widened by the sketch's one-sigma rank error once it compacts (below ``k`` values it holds
    them all, exactly)."""
    if sketch.n == 0:
        return [math.nan] * len(levels)
    rank_error = sketch.normalized_rank_error / KLL_SIGMAS if sketch.n > sketch.k else 0.0
    errors = quantile_stderrs(
        sketch.quantiles,
        np.asarray(levels, dtype=np.float64),
        float(sketch.n),
        rank_error=rank_error,
    )
    return [float(e) for e in errors]


def histogram_quantile_stderrs(
    histogram: LogHistogram | None, levels: Sequence[float]
) -> list[float]:
    """The standard error of each quantile of a latency histogram (its rank interval, read from
    the histogram; its buckets' relative error is inside the values it reads)."""
    if histogram is None or histogram.total == 0:
        return [math.nan] * len(levels)

    def read(at: FloatArray) -> FloatArray:
        return np.array([histogram.quantile(float(q)) for q in at], dtype=np.float64)

    errors = quantile_stderrs(read, np.asarray(levels, dtype=np.float64), float(histogram.total))
    return [float(e) for e in errors]
