"""Evidence summed over a stretch of steps, each weighed by its own known variance.

Some incidents are smaller than one step's sampling noise: a rate 0.5 points up on 88 rows, a
mean one standard error off, a share that reads 0 of 13 where 1 of 13 is usual. No single step
is news, and a per-step detector cannot see them; forty-eight such steps in a row are. For a
series that carries each step's standard error (``Series.stderr``), each step's deviation from
what was expected of it *before the stretch began* is standardized by the variance it should
have,

    z_t = (x_t - expected_t) / sqrt(se_t² + v_t),

where ``se_t`` is the step's sampling error and ``v_t`` the variance the forecast has beyond
sampling (the mean of ``err² - se²`` over the last ``window`` steps before the stretch). Over a
stretch of ``L`` steps the standardized sum ``S = Σ z / sqrt(count)`` is about N(0, 1) on a calm
series and grows as ``sqrt(L)`` times the shift when every step is a little off: two days one
standard error up is seven.

Decisions, each against a way this goes wrong (measured in ``BENCHMARKS.md``, session 8):

- **The expected value must not follow the incident.** The forecast for a stretch of ``L``
  steps is the settled level (:func:`vigil.detect.residual.settled_level`: the median of the same
  time on the previous 7 days and 4 weeks) plus the level the series kept against it over the
  ``max(L, 24)`` steps before the stretch, each step weighed by its inverse sampling variance (a
  median of a few steps, most of them a quiet night's, is as noisy as the night; the residual's
  own level correction follows a shift within two steps of hourly data).
- **A series coming back from an incident is not news.** A step's deviation counts only as far
  as it also deviates, in the same direction, from the settled level: after a three-day level
  shift, what was expected a stretch ago is the incident's level.
- **A standard error from two rows says little**, and a rate of 0 in 13 rows has a plug-in
  standard error of 0: a step's sampling variance is never below the series' mean variance per
  row (``se² · n`` over the window) over its rows.
- **A spike is the residual's news, not a stretch's**: each ``z`` is clipped at ``clip``.
- **Steps without a standard error** (NaN: a count, an empty window) do not count; a stretch
  needs them on at least half its steps. A series with neither standard errors nor sample
  sizes has no stretch evidence at all (None), so it scores exactly as before.
- **Sample sizes without standard errors** (the labeled CSV ``timestamp,value,label,n``, a
  stored series none of whose points has one): each step's sampling variance is derived from
  the series itself (:func:`derived_variance`: a per-row variance, the median of its bends
  over the window before the stretch, over ``n``), unless ``from_support`` is False. A count
  carrying itself as its ``n`` has none, as where the pipeline writes standard errors.
- The sums overlap and the forecasts' errors are correlated, so ``S`` is not exactly N(0, 1):
  ``consensus`` calibrates ``|S|`` on the series' own history like its other evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError
from vigil.detect.residual import settled_level
from vigil.stats.series import Series

FloatArray = npt.NDArray[np.float64]
CHI2_1_MEDIAN = 0.4549364231195724  # the median of a chi-square of one degree of freedom


@dataclass(frozen=True, slots=True, kw_only=True)
class Stretch:
    """Which stretches are summed, how far one step may count, over how many steps the
    forecast's own variance is estimated, above which novelty probability a stretch is
    taken for a return to the familiar (``consensus``: a series coming back to shapes it has
    shown before is ending an incident, not starting one), and whether a series with sample
    sizes but no standard errors derives its steps' variances (:func:`derived_variance`)."""

    lengths: tuple[int, ...] = (4, 12, 48)
    clip: float = 3.0
    window: int = 500
    familiar: float = 0.1
    from_support: bool = True

    def __post_init__(self) -> None:
        if not self.lengths or any(length < 2 for length in self.lengths):
            raise ConfigError(f"stretch lengths must be >= 2, got {self.lengths!r}")
        if not self.clip > 0:
            raise ConfigError(f"stretch clip must be > 0, got {self.clip!r}")
        if self.window < 30:
            raise ConfigError(f"stretch window must be >= 30, got {self.window!r}")
        if not 0.0 < self.familiar <= 1.0:
            raise ConfigError(f"stretch familiar must be in (0, 1], got {self.familiar!r}")
        if not isinstance(self.from_support, bool):
            raise ConfigError(
                f"stretch from_support must be True or False, got {self.from_support!r}"
            )


def stretch_sums(series: Series, settings: Stretch) -> tuple[FloatArray, ...] | None:
    """Per length in ``settings.lengths``, the standardized sum ``S`` of the stretch ending at
    each step (NaN where it has too few usable steps); None when the series carries no
    standard error and no sample sizes to derive them from (or is a count of itself)."""
    if series.stderr is None and series.support is not None and settings.from_support:
        if _counts_itself(series):
            return None
        return tuple(_sums(series, length, settings) for length in settings.lengths)
    if series.stderr is None or not np.isfinite(series.stderr).any():
        return None
    return tuple(_sums(series, length, settings) for length in settings.lengths)


def _counts_itself(series: Series) -> bool:
    """Whether the series is a count carrying itself as its ``n`` (requests with ``n`` =
    requests), judged on its first step of two rows or more, so a prefix judges as the whole:
    such a count has no standard error (NaN) where the pipeline writes them."""
    assert series.support is not None
    n = series.support.astype(np.float64)
    first = np.flatnonzero(np.isfinite(series.values) & (n >= 2))
    return bool(first.size) and bool(n[first[0]] == series.values[first[0]])


def derived_variance(series: Series, length: int, window: int) -> FloatArray:
    """Each step's sampling variance for a series carrying sample sizes but no standard errors:
    a per-row variance pooled over the ``window`` steps before the stretch, over the step's
    ``n`` rows. The per-row variance is the median over those steps of the squared bend
    ``b = x_{t-1} - (x_{t-2} + x_t) / 2`` over ``1/n_{t-1} + 1/(4 n_{t-2}) + 1/(4 n_t)`` (the
    variance of ``b`` when the level holds or changes linearly: a daily cycle's slope, which
    the change from the step before carries, cancels), over 0.4549, the median of a chi-square
    of one degree of freedom. A median, so that the incidents in the window count as little as
    anything else. NaN where the step has no rows."""
    import pandas as pd  # on first use (0.2 CPU s to import): rolling windows only

    assert series.support is not None
    values = series.values.astype(np.float64)
    n = series.support.astype(np.float64)
    known = np.isfinite(values) & np.isfinite(n) & (n > 0)
    ratio = np.full(values.size, np.nan)
    trio = known[2:] & known[1:-1] & known[:-2]
    with np.errstate(invalid="ignore", divide="ignore"):
        bend = (values[1:-1] - 0.5 * (values[:-2] + values[2:])) ** 2 / (
            1.0 / n[1:-1] + 0.25 / n[:-2] + 0.25 / n[2:]
        )
    ratio[2:] = np.where(trio, bend, np.nan)  # kept at t: it reads x_t, never later steps
    per_row = pd.Series(ratio).shift(length).rolling(window, min_periods=30).median()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = per_row.to_numpy() / CHI2_1_MEDIAN / n
    return np.asarray(np.where(known, out, np.nan), dtype=np.float64)


def standardized(series: Series, length: int, settings: Stretch) -> FloatArray:
    """Per step, ``z`` against the forecast for a stretch of ``length`` steps, clipped (see the
    module docstring); NaN where the step has no value, standard error or forecast."""
    import pandas as pd  # on first use (0.2 CPU s to import): rolling windows only

    values = series.values.astype(np.float64)
    if series.stderr is None:
        sampling = derived_variance(series, length, settings.window)
    else:
        sampling = sampling_variance(series, length, settings.window)
    error = values - weighted_expected(series, length, sampling)
    # Only as far as the step deviates from the settled level too, in the same direction.
    usual = values - settled_level(series, length)
    agree = np.sign(usual) == np.sign(error)
    least = np.sign(error) * np.fmin(np.abs(error), np.abs(usual))
    error = np.where(np.isnan(usual), error, np.where(agree, least, 0.0))
    usable = np.isfinite(error) & np.isfinite(sampling)
    # The forecast's variance beyond sampling, over the window before the stretch: the mean of
    # err² - se², which is that variance whatever each step's se (a median of |err| would mix
    # quiet nights with busy days), each term capped at ten times the typical err² so that the
    # incidents of the past do not count as routine error.
    squared = np.where(usable, error**2, np.nan)
    typical = (
        pd.Series(squared).shift(length).rolling(settings.window, min_periods=30).median()
    ).to_numpy()
    excess = np.where(usable, np.fmin(squared - sampling, 10.0 * typical), np.nan)
    beyond = (
        pd.Series(excess).shift(length).rolling(settings.window, min_periods=30).mean()
    ).to_numpy()
    variance = sampling + np.fmax(beyond, 0.05 * typical)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = error / np.sqrt(variance)
    ok = usable & np.isfinite(z) & (variance > 0)
    return np.asarray(np.where(ok, np.clip(z, -settings.clip, settings.clip), np.nan))


def sampling_variance(series: Series, length: int, window: int) -> FloatArray:
    """Each step's sampling variance, ``se²``, never below the series' mean variance per row
    (``se² · n``) over the ``window`` steps before the stretch, over the step's ``n`` rows;
    ``se²`` alone when the series carries no sample sizes. NaN where the step has none."""
    import pandas as pd  # on first use (0.2 CPU s to import): rolling windows only

    assert series.stderr is not None
    sampling = series.stderr.astype(np.float64) ** 2
    if series.support is None:
        return sampling
    n = series.support.astype(np.float64)
    per_row = np.where((n > 0) & np.isfinite(sampling), sampling * n, np.nan)
    typical = pd.Series(per_row).shift(length).rolling(window, min_periods=30).mean().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = typical / n
    floor = np.where((n > 0) & np.isfinite(pooled), pooled, 0.0)
    return np.asarray(np.where(np.isfinite(sampling), np.fmax(sampling, floor), sampling))


def weighted_expected(
    series: Series, length: int, sampling: FloatArray | None = None
) -> FloatArray:
    """Per step, the settled level plus the level the series kept against it over the
    ``max(length, 24)`` steps before the stretch began, each step weighed by its inverse
    ``sampling`` variance (``se²`` when not given)."""
    values = series.values.astype(np.float64)
    usual = settled_level(series, length)
    if sampling is None:
        assert series.stderr is not None
        se = series.stderr.astype(np.float64)
    else:
        se = np.sqrt(sampling)
    ok = np.isfinite(values) & np.isfinite(usual) & np.isfinite(se)
    if not ok.any():
        return np.asarray(usual, dtype=np.float64)
    # A standard error of 0 (a stuck mean of one row) would weigh without bound: never below a
    # tenth of the median of the steps before (causal, so a prefix forecasts as the whole does).
    import pandas as pd  # on first use (0.2 CPU s to import): rolling windows only

    before = pd.Series(np.where(ok, se, np.nan)).expanding().median().shift(1).to_numpy()
    floor = 0.1 * np.nan_to_num(before, nan=0.0) + 1e-12
    weight = np.where(ok, 1.0 / np.maximum(se, floor) ** 2, 0.0)
    offset = np.where(ok, values - usual, 0.0)
    span = max(length, 24)
    total = _trailing(weight * offset, span)
    mass = _trailing(weight, span)
    level = np.full(values.size, np.nan)
    level[length:] = (total / np.where(mass > 0, mass, np.nan))[:-length]
    return np.asarray(usual + level, dtype=np.float64)


def _sums(series: Series, length: int, settings: Stretch) -> FloatArray:
    z = standardized(series, length, settings)
    present = ~np.isnan(z)
    total = _trailing(np.where(present, z, 0.0), length)
    count = _trailing(present.astype(np.float64), length)
    enough = count >= (length + 1) // 2
    with np.errstate(invalid="ignore", divide="ignore"):
        size = total / np.sqrt(count)
    return np.asarray(np.where(enough, size, np.nan), dtype=np.float64)


def _trailing(values: FloatArray, length: int) -> FloatArray:
    """Per step, the sum of the ``length`` steps ending at it (fewer at the start)."""
    total = np.concatenate([[0.0], np.cumsum(values)])
    steps = np.arange(1, values.size + 1)
    return np.asarray(total[steps] - total[np.maximum(steps - length, 0)], dtype=np.float64)
