"""Generated minute-level series for the training corpus: heavy tails, counts, volatility bursts.

`vigil simulate series` makes hourly and daily model-health series: smooth, Gaussian noise,
seasonal. Production telemetry is often sampled every minute or five and looks different:
heavy-tailed noise, small integer counts with many zeros, right-skewed latencies, and calm
stretches that alternate with volatile ones. A detector that never saw such series during
training mistakes their routine excursions for anomalies. These generated series (no real
data copied) are all *normal*; anomalies are injected into copies of them like into every
other corpus series (:func:`vigil.lab.training.corpus.inject`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from vigil.core import ConfigError, SeriesKey
from vigil.lab.training.corpus import Example
from vigil.stats.series import Series

KINDS = ("heavy_tailed", "counts", "volatility_bursts", "skewed_latency")
DAY_S = 86_400
FloatArray = npt.NDArray[np.float64]


def minute_series(*, seed: int, count: int) -> list[Example]:
    """``count`` unlabeled 1- or 5-minute series (2,000-6,000 steps), deterministic in ``seed``."""
    if count < 0:
        raise ConfigError(f"count must be >= 0, got {count!r}")
    rng = np.random.default_rng(seed)
    return [_one(rng, index) for index in range(count)]


def _one(rng: np.random.Generator, index: int) -> Example:
    kind = KINDS[index % len(KINDS)]
    step_s = 60 if rng.random() < 0.6 else 300
    n = int(rng.integers(2000, 6001))
    start = np.datetime64("2024-01-01T00:00:00") + np.timedelta64(
        int(rng.integers(0, 300 * 1440)), "m"
    )
    timestamps = start + np.arange(n) * np.timedelta64(step_s, "s")
    seconds = timestamps.astype("datetime64[s]").astype(np.int64)
    phase = rng.uniform(0.0, 2 * np.pi)
    daily = 1.0 + rng.uniform(0.0, 0.6) * np.sin(2 * np.pi * (seconds % DAY_S) / DAY_S + phase)
    level = float(10 ** rng.uniform(-1.0, 4.0))
    if kind == "heavy_tailed":
        noise = rng.standard_t(rng.uniform(2.0, 5.0), n) * rng.uniform(0.02, 0.2)
        values = level * (daily + noise)
    elif kind == "counts":
        rate = rng.uniform(0.2, 30.0) * daily * np.exp(_ar1(rng, n, 0.99, 0.05))
        values = rng.poisson(rate).astype(np.float64)
    elif kind == "volatility_bursts":
        volatility = np.exp(_ar1(rng, n, 0.98, 0.25))
        values = level * (daily + rng.uniform(0.01, 0.08) * volatility * rng.normal(size=n))
    else:
        values = level * daily * rng.lognormal(0.0, rng.uniform(0.1, 0.6), n)
    key = SeriesKey(
        model="generated", version="", family="minute", column=f"{kind}-{index}", statistic="value"
    )
    series = Series(key=key, timestamps=timestamps, values=values)
    none = np.zeros(n, dtype=bool)
    return Example(
        name=f"minute/{kind}-{index}",
        series=series,
        positive=none,
        ignore=none.copy(),
        source="minute",
    )


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> FloatArray:
    """A stationary AR(1) path: slowly wandering log-rates and log-volatilities."""
    shocks = rng.normal(0.0, sd, n)
    shocks[0] /= np.sqrt(1 - phi**2)
    out: FloatArray = np.asarray(lfilter([1.0], [1.0, -phi], shocks), dtype=np.float64)
    return out
