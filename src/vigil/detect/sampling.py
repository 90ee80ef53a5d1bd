"""How likely sampling alone makes a step's value, when the series carries its sample size.

A rate of 1 in 10 rows where 1 in 200 is usual is four standard errors away, yet one such step
in twenty is what binomial sampling gives; a request count of 1 in a minute that usually sees
none is a Poisson draw at a low rate, not a 100-sigma outlier. The residual's Gaussian scale
(``a + b/n``) is right for many rows and wrong for few, where counts are discrete and skewed.

For a **proportion of rows** (values in [0, 1] whose ``value · n`` are whole counts) the step's
count is judged as binomial on its ``n`` rows, and for a **count** (a series carrying itself as
its ``n``: requests with ``n`` = requests) as Poisson. The rate is the larger tail of two: the
residual's expected value, and the pooled rate of the ``window`` steps before (a median of
mostly zeros says 0 where rows still arrive now and then). The probability is two-sided,
``2 · min(P(K <= k), P(K >= k))``, and is a floor: a step is never more surprising than
sampling at its expected rate makes it, so the floor can only remove alerts, never add one.

Where no exact law applies (a mean, a quantile) but the series carries each step's standard
error from its rows (``Series.stderr``), :func:`stderr_probability` gives the same kind of floor:
the Student-t tail of ``|value - expected| / se`` with ``n - 1`` degrees of freedom. ``consensus``
uses it only with ``ConsensusSettings(stderr_floor=True)``: measured on held-out seeds it cut
false events by a quarter but lost as many found events (``BENCHMARKS.md``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vigil.stats.series import Series

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def sampling_probability(
    series: Series, expected: FloatArray, *, window: int = 24
) -> FloatArray | None:
    """Per step, the two-sided probability of a value at least as far from ``expected`` under
    sampling alone (NaN where it is not defined); None when the series is neither a proportion
    nor a count with its sample size. Judged on the steps so far, as the detector is causal."""
    if series.support is None:
        return None
    values = series.values.astype(np.float64)
    n = series.support.astype(np.float64)
    known = ~np.isnan(values) & ~np.isnan(n) & (n >= 0)
    if not known.any():
        return None
    count = _count_steps(values, n, known)
    proportion = _proportion_steps(values, n, known)
    if not (count.any() or proportion.any()):
        return None
    from scipy import special

    k = np.where(count, values, np.round(values * np.where(known, n, 0.0)))
    k = np.where(known, np.maximum(k, 0.0), 0.0)
    rows = np.where(known, n, 0.0)
    # The pooled rate of the window before each step: counts per step for a count, counts per
    # row for a proportion (a count's rows are itself, so its "rows" per step are one).
    per = np.where(count, 1.0, rows)
    exposure = _trailing_sum(np.where(known, per, 0.0), window)
    pooled = _trailing_sum(k, window) / np.maximum(exposure, 1e-300)
    out = np.full(values.size, np.nan)
    best = np.zeros(values.size)
    for rate in (expected, pooled):
        if_count = _poisson_two_sided(special, k, np.maximum(rate, 1e-9))
        if_share = _binomial_two_sided(special, k, rows, np.clip(rate, 1e-9, 1 - 1e-9))
        p = np.where(count, if_count, if_share)
        best = np.fmax(best, np.where(np.isnan(rate), 0.0, p))
    defined = known & (count | (proportion & (rows > 0)))
    out[defined] = np.minimum(best[defined], 1.0)
    return out


def _count_steps(values: FloatArray, n: FloatArray, known: BoolArray) -> BoolArray:
    """Steps of a count carrying itself as its ``n``, judged on the steps so far."""
    carried = np.logical_and.accumulate(np.where(known, n == values, True))
    return np.asarray(carried & known & (np.cumsum(known) >= 20), dtype=bool)


def _proportion_steps(values: FloatArray, n: FloatArray, known: BoolArray) -> BoolArray:
    """Steps of a proportion of rows (at least 20 known values so far, none outside [0, 1], 99%
    of them whole counts of their rows), judged on the steps so far."""
    k = values * n
    whole = np.abs(k - np.round(k)) <= 1e-6 * np.maximum(n, 1.0)
    outside = known & ((values < 0) | (values > 1))
    seen = np.cumsum(known)
    looks = (seen >= 20) & (np.cumsum(outside) == 0) & (np.cumsum(known & whole) >= 0.99 * seen)
    return np.asarray(looks & known & (n > 0), dtype=bool)


def _trailing_sum(values: FloatArray, window: int) -> FloatArray:
    """Per step, the sum of the ``window`` steps before it."""
    total = np.concatenate([[0.0], np.cumsum(values)])
    steps = np.arange(values.size)
    return np.asarray(total[steps] - total[np.maximum(steps - window, 0)], dtype=np.float64)


def _poisson_two_sided(special: object, k: FloatArray, rate: FloatArray) -> FloatArray:
    lower = special.pdtr(k, rate)  # type: ignore[attr-defined]
    upper = np.where(k > 0, special.pdtrc(k - 1, rate), 1.0)  # type: ignore[attr-defined]
    return np.asarray(np.minimum(2.0 * np.minimum(lower, upper), 1.0), dtype=np.float64)


def _binomial_two_sided(
    special: object, k: FloatArray, rows: FloatArray, rate: FloatArray
) -> FloatArray:
    """``2 · min(P(K <= k), P(K >= k))`` for ``K ~ Binomial(rows, rate)``, through the
    regularized incomplete beta function (``bdtr`` refuses rows that are not whole)."""
    safe = np.maximum(rows, 1.0)
    kk = np.clip(k, 0.0, safe)
    betainc = special.betainc  # type: ignore[attr-defined]
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = betainc(np.maximum(safe - kk, 1e-300), kk + 1.0, 1.0 - rate)
        upper = betainc(np.maximum(kk, 1e-300), safe - kk + 1.0, rate)
    lower = np.where(kk < safe, lower, 1.0)
    upper = np.where(kk > 0, upper, 1.0)
    return np.asarray(np.minimum(2.0 * np.minimum(lower, upper), 1.0), dtype=np.float64)


def stderr_probability(series: Series, expected: FloatArray) -> FloatArray | None:
    """Per step, the two-sided probability that sampling alone, at the step's own standard error
    (``Series.stderr``), puts the value as far from ``expected`` as it is: a Student-t tail with
    ``n - 1`` degrees of freedom (the standard error is itself estimated from the ``n`` rows;
    10 when ``n`` is unknown, at least 1). NaN where the step has no standard error (or it is
    0: a stuck value has no spread and is news); None when the series carries none. The same
    floor as :func:`sampling_probability`, for means and quantiles: a mean of 5 heavy-tailed
    values whose own spread says it wanders by 40 is not news when it is 60 off."""
    if series.stderr is None:
        return None
    from scipy import special

    se = series.stderr.astype(np.float64)
    usable = np.isfinite(se) & (se > 0) & ~np.isnan(series.values) & ~np.isnan(expected)
    if not usable.any():
        return None
    n = series.support.astype(np.float64) if series.support is not None else None
    df = np.full(se.size, 10.0) if n is None else np.clip(np.nan_to_num(n - 1.0, nan=10.0), 1, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.abs(series.values - expected) / np.where(usable, se, 1.0)
    p = 2.0 * special.stdtr(df, -t)
    return np.asarray(np.where(usable, np.minimum(p, 1.0), np.nan), dtype=np.float64)


def routine_zeros(
    series: Series,
    expected: FloatArray,
    *,
    window: int = 24,
    unexplained: float = 1e-3,
    least: int = 3,
) -> FloatArray | None:
    """Per step that reads 0 where sampling cannot explain a 0 (its probability under sampling
    at the expected rate is below ``unexplained``: a busy count, a share on many rows), how often
    such zeros began on the series before: the number of earlier episodes of unexplained zeros
    over the number of earlier steps where a 0 would have been unexplained. NaN on every other
    step, and while fewer than ``least`` such episodes were seen; None when the series is
    neither a proportion nor a count with its sample size.

    A source that drops out now and then (a batch that did not report, a maintenance window)
    puts a point mass at 0 that no scale of the residual describes: its zeros at a busy hour are
    the largest deviations the series has, and every one pages. Once they have happened
    ``least`` times, a zero is no rarer than they have been. The first zeros keep all their
    evidence (a feed that dies for the first time is news), and so does a run of zeros longer
    than the series has shown (the zero run judges that). Episodes, not steps, are counted, so
    one long outage in the past does not make the next one routine."""
    if series.support is None:
        return None
    values = series.values.astype(np.float64)
    n = series.support.astype(np.float64)
    known = ~np.isnan(values) & ~np.isnan(n) & (n >= 0)
    count = _count_steps(values, n, known)
    proportion = _proportion_steps(values, n, known)
    if not (count.any() or proportion.any()):
        return None
    rows = np.where(known, n, 0.0)
    k = np.where(count, values, np.round(values * rows))
    k = np.where(known, np.maximum(k, 0.0), 0.0)
    per = np.where(count, 1.0, rows)
    exposure = _trailing_sum(np.where(known, per, 0.0), window)
    pooled = _trailing_sum(k, window) / np.maximum(exposure, 1e-300)
    # The chance of a 0 under sampling at the more lenient of the two rates, as the floor above.
    rate = np.fmin(np.nan_to_num(expected, nan=np.inf), np.nan_to_num(pooled, nan=np.inf))
    rate = np.maximum(rate, 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        share = np.clip(rate, 0.0, 1.0 - 1e-12)
        log_zero = np.where(count, -rate, rows * np.log1p(-share))
    judged = known & (count | proportion) & np.isfinite(log_zero)
    exposed = judged & (log_zero < np.log(unexplained))
    zero = exposed & (k == 0)
    previous = np.concatenate([[False], zero[:-1]])
    began = zero & ~previous
    episodes = np.cumsum(began) - began  # before the step
    steps = np.cumsum(exposed) - exposed
    with np.errstate(invalid="ignore", divide="ignore"):
        frequency = episodes / steps
    return np.asarray(np.where(zero & (episodes >= least), frequency, np.nan), dtype=np.float64)
