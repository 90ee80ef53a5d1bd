"""A sample's kurtosis, the nuisance shape the standard deviation's test needs
(:func:`vigil.stats.change.std_band`): how noisy ``ln sd`` is depends on how heavy the tails are.

A (sketched) distribution's kurtosis is read by the midpoint rule over its quantile function
(:func:`kurtosis_of`, or :func:`kurtosis_rows` for many at once); the test takes the heavier of
the two sides' readings, or more where a side's farthest value alone says so
(:func:`spread_kurtosis`, :func:`bounded_kurtosis`).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from vigil.profile import Moments
from vigil.stats.sketches import FloatArray, QuantileSource

MIN_VALUES = 2


@lru_cache(maxsize=1024)
def _kurtosis_grid(n: int, levels: int) -> tuple[FloatArray, FloatArray]:
    """:func:`kurtosis_of`'s bin widths and midpoints for ``n`` values (read-only: shared)."""
    tail = 1.0 / levels
    halves: list[float] = []
    while tail > 1.0 / n and len(halves) < 60:
        tail /= 2.0
        halves.append(tail)
    low = np.array([0.0, *halves[::-1]])
    edges = np.concatenate([low, np.linspace(1.0 / levels, 1.0 - 1.0 / levels, levels - 1)])
    edges = np.concatenate([edges, 1.0 - low[::-1]])
    widths, middles = np.diff(edges), (edges[:-1] + edges[1:]) / 2.0
    widths.setflags(write=False)
    middles.setflags(write=False)
    return widths, middles


def kurtosis_of(source: QuantileSource, *, levels: int = 256) -> float:
    """The kurtosis ``m4 / m2²`` of a (sketched) distribution by the midpoint rule over its
    quantile function; NaN when it has no spread.

    ``levels`` equal bins, the two end bins halved again and again down to one value's share
    (``1/n``): the fourth moment of a heavy tail lives in its last few values, which equal bins
    would skip (a lognormal(σ=1) sample then read 23 where its own moments say 58)."""
    if source.n < MIN_VALUES:
        return math.nan
    widths, middles = _kurtosis_grid(source.n, levels)
    return kurtosis_rows(widths, source.quantiles(middles))[0]


def kurtosis_rows(widths: FloatArray, values: FloatArray) -> list[float]:
    """:func:`kurtosis_of` of each row of ``values`` (a sample's quantiles at the grid's
    middles; one row or many of the same size): each row's sums are the one row's, value for
    value and in the same order."""
    rows = np.atleast_2d(values)
    centred = rows - np.sum(widths * rows, axis=1, keepdims=True)
    m2s = np.sum(widths * centred**2, axis=1)
    m4s = np.sum(widths * centred**4, axis=1)
    return [
        float(m4) / float(m2) ** 2 if m2 > 0 else math.nan
        for m2, m4 in zip(m2s.tolist(), m4s.tolist(), strict=True)
    ]


def heavier_kurtosis(current: QuantileSource, reference: QuantileSource) -> float:
    """The heavier of the two samples' kurtosis readings (each its own, so centred and scaled
    by itself); NaN when neither side has one.

    The standard deviation's test needs the kurtosis as a nuisance shape: it sets the noise of
    ``ln sd``. Read from the reference alone it fails on a heavy tail. A sample kurtosis is
    bounded by about its ``n``, and for a lognormal(σ=1) (kurtosis 114) it reads 19-89 (10th to
    90th percentile) from 1,400 values: a week lacking the rare huge values reads a light tail,
    and a day that has one "doubles" its standard deviation far beyond the band (a 200-value
    day's sd 110 against the week's 36 paged, issue 20; 36 of 20,000 simulated unchanged days
    flagged at ``alpha`` 1e-6). The window holding the huge value reads its own tail as heavy,
    so the heavier reading is taken, as the mean's test takes the larger variance
    (:func:`mean_band`): none of the 20,000 flagged. A doubled variance of a normal column
    reads 3 on both sides; pooling the two samples' raw fourth moments (Layard's estimate)
    would read it as a heavier tail (BENCHMARKS.md, issue 20)."""
    found = [k for source in (current, reference) if math.isfinite(k := kurtosis_of(source))]
    return max(found, default=math.nan)


def extreme_kurtosis(moments: Moments) -> float:
    """The least kurtosis a sample can have given its farthest value alone: one value ``d``
    from the mean makes ``m4 >= d^4 / n``, so the kurtosis is at least ``(d / sd)^4 / n``; NaN
    without spread. Read from the exact moments (min, max, mean, sd), which a sketch's items
    may lack: beyond a few hundred values a KLL sketch keeps about half of each compacted
    level, and the one huge value of a heavy tail is lost from its items as often as not."""
    if moments.count < MIN_VALUES or not moments.variance > 0.0:
        return math.nan
    far = max(moments.max - moments.mean, moments.mean - moments.min)
    return (far / moments.std) ** 4 / moments.count


def spread_kurtosis(
    current: QuantileSource,
    current_moments: Moments,
    reference: QuantileSource,
    reference_moments: Moments,
) -> float:
    """The kurtosis the standard deviation's test takes: :func:`heavier_kurtosis`, or more
    where either side's farthest value alone says so (:func:`extreme_kurtosis`); NaN when
    nothing reads one.

    Calm logs paged "std 4.74, expected 1.7" on a Student-t feature (calm seed 60) in one run
    of two: its hour of 347 values held one of 84.3 (exact kurtosis 392, so the spread is not
    tested), but a KLL sketch keeps one of each pair it compacts, and 97 and 93 of 200 sketches of
    that hour (two runs) had lost the value from their items; each of those read a light tail and
    flagged the spread. With the farthest value's bound: none of the 200
    (``benchmarks/std_calm_hour.py``). On simulated t(3) hours of 500 against 3,500 the
    sketched heavier reading flagged 26 of 5,000 at ``alpha`` 1e-6 (exact values: none); with
    the bound, none. Normal columns never come near the bound (their farthest value of 500
    reads under 0.3), so a doubled variance is caught exactly as often (BENCHMARKS.md)."""
    return bounded_kurtosis(
        heavier_kurtosis(current, reference), current_moments, reference_moments
    )


def bounded_kurtosis(heavier: float, current_moments: Moments, reference_moments: Moments) -> float:
    """:func:`spread_kurtosis` from the heavier sketch reading, already read: the rule the one-pair
    and the batched bands (:mod:`vigil.stats.numeric_bands`) both take."""
    found = [
        k
        for k in (heavier, extreme_kurtosis(current_moments), extreme_kurtosis(reference_moments))
        if math.isfinite(k)
    ]
    return max(found, default=math.nan)
