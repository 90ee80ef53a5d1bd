"""What a series should read now, and how far from it a value may stray: a residual per step.

Three causal baselines compete at every step, and the one with the smallest mean absolute error
over the last week of steps (four weeks of days on daily data) wins; a seasonal baseline
competes once it has half that window of errors behind it, and until then the local one stands
alone (``Residual.settled`` is where the competition begins):

- **local**: the median of the previous 24 steps;
- **daily**: the median of the same time on the previous 7 days (found *by time*, so gappy and
  irregular series get the right lag or none; the previous 4 weeks on daily data), plus the
  median of its recent errors (a level correction over an eighth of a day);
- **weekly**: the same with the same time on the previous 4 weeks, for business-hours traffic
  whose Monday is not Sunday.

The residual's scale is the robust spread (1.4826 · median |residual|) of the last 500 steps,
floored at 5% of the series' running standard deviation (quantised series repeat values). When
the series carries its sample size per step (``Series.support``: the rows behind each value),
the scale is a variance model ``a + b/n + c·n`` fitted on the past: ``b/n`` is the sampling
error of a rate or a mean (a night hour with 30 requests gives a noisy null rate), ``c·n`` that
of a count. A detector that knows ``n`` stops alerting on quiet nights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.stats.series import Series

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DAY_S = 86400.0
SPREAD = 1.4826  # MAD -> standard deviation for Gaussian noise


@dataclass(frozen=True, slots=True, kw_only=True)
class Residual:
    """Per step: the expected value, the residual's scale, and ``z = (value - expected)/scale``
    (NaN during warm-up and on missing values). ``settled``: the first step where a seasonal
    baseline competes (0 when the series has none, its length when none ever does). Before it,
    on a series with a sharp daily edge, the local baseline's error at every edge is large: a
    calibration should not learn from those steps what is routine."""

    expected: FloatArray
    scale: FloatArray
    z: FloatArray
    settled: int = 0


def residual(series: Series, *, warm_up: int = 30) -> Residual:
    """The best baseline's residual in units of its scale (see the module docstring)."""
    import pandas as pd  # on first use (0.2 CPU s to import): rolling windows only

    stamps = series.timestamps.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    values = series.values.astype(np.float64)
    size = values.size
    step = float(np.median(np.diff(stamps))) if size > 1 else DAY_S
    per_day = DAY_S / step
    baselines = [rolling_median(values, 24, shift=1)]
    if per_day >= 2 and size > 2 * per_day:
        correction = max(3, int(0.125 * min(per_day, 288)))
        baselines.append(_seasonal(stamps, values, step, DAY_S, 7, correction))
        if size > 8 * per_day:
            baselines.append(_seasonal(stamps, values, step, 7 * DAY_S, 4, correction))
    elif per_day < 2 and size > 21:
        baselines.append(_seasonal(stamps, values, step, 7 * DAY_S, 4, 3))
    window = int(min(7 * per_day, 2016)) if per_day >= 2 else 28
    expected, settled = _best(values, baselines, window, window // 2)
    error = values - expected
    scale = rolling_median(np.abs(error), 500, shift=1, min_periods=30) * SPREAD
    floor = pd.Series(values).shift(1).expanding(min_periods=2).std().to_numpy() * 0.05
    scale = np.fmax(scale, np.nan_to_num(floor, nan=0.0) + 1e-12)
    if series.support is not None:
        scale = _sampling_scale(error, scale, series.support.astype(np.float64), 500)
    z = error / scale
    scored = np.flatnonzero(~np.isnan(z))
    if scored.size:
        z[: scored[0] + warm_up] = np.nan
    return Residual(expected=expected, scale=scale, z=z, settled=settled)


def first_zeros(series: Series) -> tuple[FloatArray, BoolArray, int] | None:
    """For a count carrying itself as its sample size (requests with ``n`` = requests): per
    step, how far ``log(1 + x)`` falls short of the residual's expectation of it in logs (0 when
    above; NaN in warm-up, on missing values and once a value was not its own ``n``), whether the
    step is the series' first zero (no earlier step read 0), and where the logged residual's
    seasonal baselines began to compete. None for any other series.

    A busy count reading 0 is news the other evidence cannot give: on the plain scale its busy
    hours' errors set the residual's scale, so 0 where 190 are expected at a quieter hour is
    under one scale, and a run of zeros never seen is scored no rarer than about one over twice
    the history. Only the first zero: a series that has read 0 before (a maintenance window,
    routine) has shown that a zero happens, and the zero run judges how often."""
    support = series.support
    if support is None:
        return None
    values = series.values.astype(np.float64)
    present = ~np.isnan(values) & ~np.isnan(support)
    carried = np.logical_and.accumulate(np.where(present, support == values, True))
    if not (carried & present).any():
        return None
    logged = np.log1p(np.fmax(values, 0.0))
    found = residual(Series(key=series.key, timestamps=series.timestamps, values=logged))
    shortfall = np.where(np.isnan(found.z) | ~carried, np.nan, np.fmax(found.expected - logged, 0))
    zero = values == 0
    first = zero & (np.cumsum(zero) == 1)
    return np.asarray(shortfall, dtype=np.float64), first, found.settled


def settled_level(series: Series, lag: int) -> FloatArray:
    """Per step, what the series read at this time of day over the past days and weeks: the
    median of the same time on the previous 7 days and 4 weeks (the median of the 500 steps
    before on series without a daily shape), with no level correction, from values at least
    ``lag`` steps back. Slow to follow anything: an incident of a few days moves a few of its
    eleven values, so a series coming back from one comes back to it. Weekdays outnumber the
    weekend among a Monday's eleven."""
    stamps = series.timestamps.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    values = series.values.astype(np.float64)
    size = values.size
    step = float(np.median(np.diff(stamps))) if size > 1 else DAY_S
    per_day = DAY_S / step
    if per_day >= 2 and size > 2 * per_day:
        past = []
        for period, count in ((DAY_S, 7), (7 * DAY_S, 4)):
            first = max(1, math.ceil(lag * step / period - 1e-9))
            past += [lagged(stamps, values, k * period, step) for k in range(first, first + count)]
        return _column_medians(np.vstack(past))
    return rolling_median(values, 500, shift=lag, min_periods=30)


def _best(
    values: FloatArray, baselines: list[FloatArray], window: int, least: int
) -> tuple[FloatArray, int]:
    """Per step, the baseline with the smallest mean absolute error over the ``window`` steps
    before it (the local one until another has ``least`` errors to show)."""
    import pandas as pd  # on first use (0.2 CPU s to import): rolling windows only

    if len(baselines) == 1:
        return baselines[0], 0
    errors = np.vstack([np.abs(values - b) for b in baselines])
    mean_error = pd.DataFrame(errors.T).shift(1).rolling(window, min_periods=least).mean()
    table = mean_error.to_numpy().T
    winner = np.argmin(np.nan_to_num(table, nan=np.inf), axis=0)
    competing = np.flatnonzero(~np.isnan(table[1:]).all(axis=0))
    settled = int(competing[0]) if competing.size else values.size
    stacked = np.vstack(baselines)
    chosen = stacked[winner, np.arange(values.size)]
    return np.where(np.isnan(chosen), baselines[0], chosen), settled


def _seasonal(
    stamps: FloatArray, values: FloatArray, step: float, period: float, lags: int, correction: int
) -> FloatArray:
    """Median of the values one to ``lags`` periods ago (matched by time within half a step),
    plus the median of its last ``correction`` errors."""
    past = np.vstack([lagged(stamps, values, k * period, step) for k in range(1, lags + 1)])
    typical = _column_medians(past)
    level = rolling_median(values - typical, correction, shift=1)
    return np.asarray(typical + np.nan_to_num(level), dtype=np.float64)


def _column_medians(rows: FloatArray) -> FloatArray:
    """``np.nanmedian(rows, axis=0)``, NaN for a column without values, to the last bit: a sort
    with NaN last and the middle one or two values of each column (numpy's nanmedian goes
    through masked arrays for a few rows, four times slower)."""
    ordered = np.sort(rows, axis=0)
    count = np.sum(~np.isnan(rows), axis=0)
    columns = np.arange(rows.shape[1])
    low = ordered[np.maximum((count - 1) // 2, 0), columns]
    high = ordered[count // 2 - (count == 0), columns]
    with np.errstate(over="ignore", invalid="ignore"):  # as nanmedian's mean of two
        middle = np.where(count % 2 == 1, high, (low + high) / 2)
    return np.asarray(np.where(count > 0, middle, np.nan), dtype=np.float64)


def lagged(stamps: FloatArray, values: FloatArray, lag: float, step: float) -> FloatArray:
    target = stamps - lag
    right = np.clip(np.searchsorted(stamps, target), 0, stamps.size - 1)
    left = np.clip(right - 1, 0, stamps.size - 1)
    nearest = np.where(np.abs(stamps[left] - target) < np.abs(stamps[right] - target), left, right)
    found = (np.abs(stamps[nearest] - target) <= step / 2) & (nearest < np.arange(stamps.size))
    return np.where(found, values[nearest], np.nan)


def rolling_median(
    values: FloatArray, window: int, *, shift: int, min_periods: int | None = None
) -> FloatArray:
    import pandas as pd  # on first use (0.2 CPU s to import): rolling windows only

    rolling = (
        pd.Series(values)
        .shift(shift)
        .rolling(window, min_periods=min_periods or max(3, window // 4))
    )
    return rolling.median().to_numpy(dtype=np.float64)


def _sampling_scale(
    error: FloatArray, scale: FloatArray, size: FloatArray, window: int
) -> FloatArray:
    """``sqrt(a + b·f(n))`` by least squares on the last ``window`` squared errors, with
    ``f(n) = 1/n`` (a rate or a mean) or ``f(n) = n`` (a count), whichever fits better; the
    coefficients are kept non-negative, and the plain scale rules until 30 steps back the fit.
    Squared errors are clipped at 25 times what a first fit expects for their own ``n``
    (clipping at the plain scale would clip the noisy low-``n`` steps the model is for)."""
    ok = ~np.isnan(error) & (size > 0)
    n = np.maximum(size, 1.0)
    # The features are scaled by a typical n for conditioning; a power of two, because scaling
    # by one is exact: the fit is then the same, to the last bit, whichever power it is, so a
    # prefix of the series fits exactly as the whole series does (the watch relies on it).
    typical = 2.0 ** round(math.log2(float(np.median(n[ok])))) if ok.any() else 1.0
    features = np.column_stack([typical / n, n / typical])
    # The window sums that do not depend on the squared errors are shared by both fits: the
    # steps, and each feature and its square. Summed in one pass over stacked columns (one
    # pandas call instead of one per sum, which cost 0.23 ms each, mostly call overhead).
    used = np.where(ok[:, None], features, 0.0)
    fixed = _rolling_sums(np.column_stack([ok.astype(np.float64), used, used * used]), window)
    squared = np.where(ok, error**2, 0.0)
    first = _variance_model(
        np.minimum(squared, (50 * np.nan_to_num(scale, nan=np.inf)) ** 2),
        ok,
        features,
        fixed,
        window,
    )
    variance = _variance_model(
        np.minimum(squared, 25 * np.nan_to_num(first, nan=np.inf)), ok, features, fixed, window
    )
    good = (fixed[:, 0] >= 30) & (variance > 0) & ok
    return np.where(good, np.sqrt(np.maximum(variance, 1e-300)), scale)


def _variance_model(
    target: FloatArray, ok: BoolArray, features: FloatArray, fixed: FloatArray, window: int
) -> FloatArray:
    """Per step, the better of the fits on each column of ``features`` (smaller squared error
    over the window). ``fixed`` holds the window sums of the steps, of the features and of
    their squares (:func:`_sampling_scale`)."""
    count = features.shape[1]
    y = np.where(ok, target, 0.0)
    used = np.where(ok[:, None], features, 0.0)
    sums = _rolling_sums(np.column_stack([y, y * y, used * y[:, None]]), window)
    s0, sy, syy = fixed[:, 0], sums[:, 0], sums[:, 1]
    best_variance = np.full(target.size, np.nan)
    best_error = np.full(target.size, np.inf)
    for column in range(count):
        s1, s11, s1y = fixed[:, 1 + column], fixed[:, 1 + count + column], sums[:, 2 + column]
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.maximum((s0 * s1y - s1 * sy) / (s0 * s11 - s1**2), 0.0)
            b = np.where(np.isfinite(b), b, 0.0)
            a = (sy - b * s1) / s0
            b = np.where(a < 0, s1y / s11, b)
            a = np.maximum(a, 0.0)
        error = syy - 2 * a * sy - 2 * b * s1y + a * a * s0 + 2 * a * b * s1 + b * b * s11
        better = error < best_error
        variance = a + b * np.where(ok, features[:, column], np.nan)
        best_error = np.where(better, error, best_error)
        best_variance = np.where(better, variance, best_variance)
    return best_variance


def _rolling_sums(columns: FloatArray, window: int) -> FloatArray:
    """Per step and column, the sum of the ``window`` steps before it (one pandas pass; each
    column is summed exactly as a Series of it would be)."""
    import pandas as pd  # on first use (0.2 CPU s to import): rolling windows only

    frame = pd.DataFrame(columns).shift(1).rolling(window, min_periods=1).sum()
    return frame.to_numpy(np.float64)
