"""A broad generated corpus of *normal* series for training the deep detector (no real data).

The first corpora (``vigil simulate series``, the minute-level series) were smooth hourly
health series and four kinds of heavy-tailed minute noise. The detector then learned what
those look like and little else; on data sets it never saw it was weak. This corpus spans the
shapes production series take, each drawn with its own parameters:

- **kinds**: counts (Poisson or overdispersed, the traffic itself), proportions (a binomial
  share of the step's rows), means of heavy-tailed rows, high quantiles of skewed latencies,
  smooth sensor-like series and spiky heavy-tailed gauges;
- **sampling noise that follows traffic**: proportions, means and quantiles are computed from
  the ``n`` rows a step received, so a quiet night is noisy; those series carry ``support``;
- **seasons and change**: daily cycles (smooth or business hours), weekend dips, trends, and
  regime changes (traffic and volatility switch level; sensor levels ramp to a new normal);
- **gaps**: dropped timestamps (irregular steps), jittered timestamps, runs of missing values;
- **steps** of 1, 5 and 10 minutes, an hour and a day.

Every series is normal: anomalies are injected into copies during training
(:func:`vigil.lab.training.corpus.inject`), so labels are exact. Deterministic in ``seed``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from vigil.core import ConfigError, SeriesKey
from vigil.lab.training.corpus import Example
from vigil.stats.series import Series

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Rng = np.random.Generator

KINDS = ("count", "proportion", "mean", "quantile", "sensor", "gauge")
SAMPLED = ("proportion", "mean", "quantile")
"""Kinds computed from the step's rows: their noise follows ``n`` and they carry ``support``."""
STEPS_S = (60, 300, 600, 3600, 86_400)
STEP_WEIGHTS = (0.1, 0.2, 0.15, 0.4, 0.15)
DAY_S = 86_400
ROWS_DRAWN = 400
"""Rows actually drawn per step for means and quantiles; beyond it the central limit holds."""


def generated_series(*, seed: int, count: int) -> list[Example]:
    """``count`` normal series of every kind in turn, deterministic in ``seed``."""
    if count < 0:
        raise ConfigError(f"count must be >= 0, got {count!r}")
    rng = np.random.default_rng(seed)
    return [_one(rng, index) for index in range(count)]


def _one(rng: Rng, index: int) -> Example:
    kind = KINDS[index % len(KINDS)]
    step_s = int(rng.choice(STEPS_S, p=STEP_WEIGHTS))
    n = int(rng.integers(400, 1200)) if step_s == DAY_S else int(rng.integers(1500, 5000))
    start = np.datetime64("2023-01-02T00:00:00") + np.timedelta64(int(rng.integers(0, 700)), "D")
    timestamps = start + np.arange(n) * np.timedelta64(step_s, "s")
    season = _season(rng, timestamps, step_s)
    traffic = _traffic(rng, season, step_s, n)
    values, support = _values(rng, kind, season, traffic)
    timestamps, values, support = _gaps(rng, timestamps, values, support, step_s)
    key = SeriesKey(
        model="generated", version="", family=kind, column=f"{kind}-{index}", statistic="value"
    )
    series = Series(key=key, timestamps=timestamps, values=values, support=support)
    none = np.zeros(len(values), dtype=bool)
    return Example(
        name=f"generated/{kind}-{index}",
        series=series,
        positive=none,
        ignore=none.copy(),
        source="generated",
    )


def _season(rng: Rng, timestamps: npt.NDArray[np.datetime64], step_s: int) -> FloatArray:
    """A positive multiplicative season around 1: daily (smooth or business hours) x weekly."""
    seconds = timestamps.astype("datetime64[s]").astype(np.int64)
    hours = (seconds % DAY_S) / 3600.0
    weekday = ((seconds // DAY_S) + 3) % 7
    daily = np.ones(len(seconds))
    if step_s < DAY_S:
        style = rng.random()
        if style < 0.5:
            amp = rng.uniform(0.0, 0.9)
            daily = 1.0 + amp * np.cos(2 * np.pi * (hours - rng.uniform(0, 24)) / 24)
        elif style < 0.8:
            night = rng.uniform(0.02, 0.4)
            opens, closes = rng.uniform(6, 10), rng.uniform(16, 21)
            edge = 1.0 / (1.0 + np.exp(-(hours - opens) * 2)) / (1.0 + np.exp((hours - closes) * 2))
            daily = night + (1.0 - night) * edge
    weekly = np.ones(len(seconds))
    if rng.random() < 0.6:
        weekly = np.where(weekday >= 5, rng.uniform(0.2, 1.2), 1.0)
    out: FloatArray = daily * weekly
    return out


def _traffic(rng: Rng, season: FloatArray, step_s: int, n: int) -> IntArray:
    """Rows per step: Poisson or gamma-Poisson around a seasonal rate, with regime switches."""
    per_step = float(10 ** rng.uniform(1.3, 4.0)) * max(step_s / 3600, 1 / 12) ** 0.5
    drift = np.exp(_ar1(rng, n, 0.995, rng.uniform(0.0, 0.03)))
    rate = per_step * season * drift * _regimes(rng, n, (0.3, 3.0)) * _trend(rng, n)
    if rng.random() < 0.4:
        shape = rng.uniform(2.0, 20.0)  # overdispersion: gamma-Poisson
        rate = rate * rng.gamma(shape, 1.0 / shape, n)
    rows: IntArray = rng.poisson(np.maximum(rate, 0.01)).astype(np.int64)
    return rows


def _values(
    rng: Rng, kind: str, season: FloatArray, n: IntArray
) -> tuple[FloatArray, FloatArray | None]:
    steps = len(season)
    if kind == "count":
        return n.astype(np.float64), None
    if kind == "proportion":
        logit = np.log(p := rng.uniform(0.001, 0.5)) - np.log(1 - p)
        logit = logit + rng.uniform(0, 0.6) * (season - 1) + _ar1(rng, steps, 0.99, 0.02)
        share = 1.0 / (1.0 + np.exp(-logit))
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(n > 0, rng.binomial(n, share) / n, np.nan)
        return values, n.astype(np.float64)
    if kind in ("mean", "quantile"):
        return _from_rows(rng, kind, season, n)
    level = float(10 ** rng.uniform(-2.0, 4.0))
    base = level * (1.0 + rng.uniform(0.0, 0.5) * (season - 1)) * _trend(rng, steps)
    if kind == "sensor":
        ramps = _regimes(rng, steps, (0.7, 1.4), ramp=int(rng.integers(12, 100)))
        wander = _ar1(rng, steps, rng.uniform(0.8, 0.99), rng.uniform(0.005, 0.05))
        return base * ramps * (1.0 + wander), None
    volatility = _regimes(rng, steps, (0.5, 2.5)) * rng.uniform(0.01, 0.2)
    noise = rng.standard_t(rng.uniform(1.5, 4.0), steps) * volatility
    return base * np.maximum(1.0 + noise, 0.0), None


def _from_rows(
    rng: Rng, kind: str, season: FloatArray, n: IntArray
) -> tuple[FloatArray, FloatArray]:
    """The mean of heavy-tailed rows or a high quantile of skewed latencies, per step."""
    steps = len(season)
    drawn = np.minimum(n, ROWS_DRAWN)
    centre = float(10 ** rng.uniform(-1.0, 3.0)) * (1.0 + rng.uniform(0.0, 0.4) * (season - 1))
    sigma = rng.uniform(0.2, 1.2)
    df = rng.uniform(2.5, 8.0)
    q = float(rng.choice((0.5, 0.9, 0.99)))
    shape = (steps, ROWS_DRAWN)
    if kind == "quantile":
        rows = rng.lognormal(0.0, sigma, shape)
    else:
        rows = 1.0 + 0.3 * rng.standard_t(df, shape)
    # Step i uses its first drawn[i] rows; the rest sort past them as +inf.
    rows = np.where(np.arange(ROWS_DRAWN)[None, :] < drawn[:, None], rows, np.inf)
    if kind == "quantile":
        rows = np.sort(rows, axis=1)
        rows[drawn == 0] = np.nan  # no rows, no quantile (and no inf - inf)
        position = q * np.maximum(drawn - 1, 0)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(drawn - 1, 0))
        picked = np.arange(steps)
        low, high = rows[picked, below], rows[picked, above]
        values = low + (position - below) * (high - low)
    else:
        values = np.where(np.isfinite(rows), rows, 0.0).sum(axis=1) / np.maximum(drawn, 1)
    values = np.where(drawn > 0, values, np.nan)
    return centre * values, drawn.astype(np.float64)


def _gaps(
    rng: Rng,
    timestamps: npt.NDArray[np.datetime64],
    values: FloatArray,
    support: FloatArray | None,
    step_s: int,
) -> tuple[npt.NDArray[np.datetime64], FloatArray, FloatArray | None]:
    """Dropped timestamps, jittered timestamps and runs of missing values."""
    steps = len(values)
    values = values.copy()
    if rng.random() < 0.3:
        for _ in range(int(rng.integers(1, 4))):
            at, length = int(rng.integers(0, steps)), int(rng.integers(1, 20))
            values[at : at + length] = np.nan
    keep = rng.random(steps) >= (rng.uniform(0.0, 0.03) if rng.random() < 0.5 else 0.0)
    if rng.random() < 0.2:
        jitter = rng.integers(-step_s // 10, step_s // 10 + 1, steps)
        timestamps = timestamps + jitter.astype("timedelta64[s]")
    return timestamps[keep], values[keep], None if support is None else support[keep]


def _regimes(rng: Rng, n: int, bounds: tuple[float, float], *, ramp: int = 1) -> FloatArray:
    """A piecewise-constant multiplier (0 to 3 switches, half the series none), ramped."""
    out = np.ones(n)
    if rng.random() < 0.5:
        return out
    for at in np.sort(rng.integers(n // 10, n, int(rng.integers(1, 4)))):
        factor = float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))
        out[at:] *= 1.0 + (factor - 1.0) * np.clip((np.arange(n - at) + 1) / ramp, 0.0, 1.0)
    return out


def _trend(rng: Rng, n: int) -> FloatArray:
    if rng.random() < 0.5:
        return np.ones(n)
    out: FloatArray = np.exp(rng.uniform(-0.5, 0.5) * np.arange(n) / n)
    return out


def _ar1(rng: Rng, n: int, phi: float, sd: float) -> FloatArray:
    shocks = rng.normal(0.0, sd, n)
    shocks[0] /= np.sqrt(1 - phi**2)
    out: FloatArray = np.asarray(lfilter([1.0], [1.0, -phi], shocks), dtype=np.float64)
    return out
