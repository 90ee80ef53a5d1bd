"""Model-health series computed from simulated raw rows, step by step.

Every statistic of a step is computed from the rows that step received: a null rate is a
binomial share of ``n`` rows, a mean the mean of ``n`` draws, a p99 the 99th percentile of ``n``
latencies, a count is ``n`` itself. So the noise follows traffic, as it does in production: a
night hour with 30 requests gives a noisy null rate. Every series carries ``support`` = ``n``,
and ``stderr``, the standard error its rows give the value (NaN for counts).

Four families with different shapes (so one can be held out when judging a detector):

- ``service`` (:mod:`vigil.lab.simulation.service`): a served model with a daily and weekly
  cycle of Poisson traffic, hourly, 10-minute or daily steps;
- ``business`` (:mod:`vigil.lab.simulation.business`): business-hours traffic near zero at
  night and on weekends, bursty overdispersed arrivals, dropped timestamps, heavy tails;
- ``marketplace`` (:mod:`vigil.lab.simulation.marketplace`): weekend-heavy traffic with sales
  days, zero-inflated counts, ratios and bimodal quantiles; written after the default
  detector's design was frozen, to judge it on shapes it was not built around;
- ``payments`` (:mod:`vigil.lab.simulation.payments`): two daily peaks, paydays, growth, a
  daylight-saving shift, 1-minute to 2-hour steps, incidents in relative sizes; written before
  any tuning for goal 3, as a held-out check.

Labels mark every step whose statistic an incident changed; each window keeps its kind.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, SeriesKey
from vigil.lab.labeled import LabeledDataset, LabeledSeries, runs
from vigil.stats.series import Series
from vigil.stats.standard_errors import (
    mean_stderr,
    proportion_stderr,
    quantile_stderr,
    std_stderr,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
TimeArray = npt.NDArray[np.datetime64]
Rng = np.random.Generator
Params = dict[str, FloatArray]


def calendar(ts: TimeArray) -> tuple[FloatArray, IntArray]:
    hours = (ts.astype("datetime64[m]").astype(np.int64) % 1440) / 60.0
    weekday = (ts.astype("datetime64[D]").astype(np.int64) + 3) % 7
    return hours, weekday


def statistic_from_rows(
    rng: Rng, stat: str, n: IntArray, params: Params
) -> tuple[FloatArray, FloatArray]:
    """One statistic per step from n rows drawn with per-step params (dict of arrays), and its
    standard error from the same rows (:mod:`vigil.stats.standard_errors`; NaN for a count)."""
    steps = len(n)
    out = np.full(steps, np.nan)
    se = np.full(steps, np.nan)
    for i in range(steps):
        k = int(n[i])
        if stat == "traffic":
            out[i] = k
            continue
        if k == 0:
            continue
        if stat in ("null_rate", "positive_rate", "error_rate", "rare_rate", "segment_share"):
            out[i] = rng.binomial(k, min(max(params["p"][i], 0.0), 1.0)) / k
            se[i] = proportion_stderr(out[i], k)
        elif stat == "feature_mean":
            x = rng.normal(params["mu"][i], params["sd"][i], k)
            out[i], se[i] = x.mean(), sample_mean_stderr(x)
        elif stat == "feature_mean_heavy":
            x = params["mu"][i] * (1.0 + rng.pareto(params["alpha"][i], k)) * params["sd"][i]
            out[i], se[i] = x.mean(), sample_mean_stderr(x)
        elif stat == "feature_std":
            x = rng.normal(params["mu"][i], params["sd"][i], k)
            out[i] = x.std() if k > 1 else np.nan
            se[i] = std_stderr(out[i], k)
        elif stat in ("latency_p99", "latency_p50"):
            x = rng.lognormal(params["mu"][i], params["sd"][i], k)
            q = 0.99 if stat == "latency_p99" else 0.5
            out[i], se[i] = np.quantile(x, q), sample_quantile_stderr(x, q)
    return out, se


def sample_mean_stderr(x: FloatArray) -> float:
    """The standard error of the mean of the raw values ``x``."""
    return mean_stderr(float(x.std(ddof=1)), x.size) if x.size > 1 else float("nan")


def sample_quantile_stderr(x: FloatArray, level: float) -> float:
    """The standard error of the ``level`` quantile of the raw values ``x`` (order statistics)."""

    def read(levels: FloatArray) -> FloatArray:
        return np.asarray(np.quantile(x, levels), dtype=np.float64)

    return quantile_stderr(read, level, x.size)


def labeled_series(
    name: str,
    family: str,
    ts: TimeArray,
    values: FloatArray,
    n: IntArray,
    labels: BoolArray,
    kinds_spans: list[tuple[int, int, str]],
    model: str,
    stderr: FloatArray | None = None,
) -> LabeledSeries:
    key = SeriesKey(model=model, version="", family=family, column=name, statistic="value")
    windows = runs(labels)
    kinds = []
    for s, e in windows:
        k = next((kind for (a, b, kind) in kinds_spans if a <= s < b or (s <= a <= e)), "unknown")
        kinds.append(k)
    return LabeledSeries(
        name=name,
        family=family,
        series=Series(
            key=key, timestamps=ts, values=values, support=n.astype(float), stderr=stderr
        ),
        labels=labels,
        windows=windows,
        window_kinds=tuple(kinds),
    )


def simulate_rows(family: str, *, seed: int, count: int = 48) -> LabeledDataset:
    """``count`` series of one family, deterministic in ``seed`` (named ``family:seed``)."""
    from vigil.lab.simulation.business import business_series
    from vigil.lab.simulation.marketplace import marketplace_series
    from vigil.lab.simulation.payments import payments_series
    from vigil.lab.simulation.service import service_series

    families: dict[str, Callable[[Rng, int], LabeledSeries]] = {
        "service": service_series,
        "business": business_series,
        "marketplace": marketplace_series,
        "payments": payments_series,
    }
    if family not in families:
        raise ConfigError(f"unknown family {family!r}; known: {', '.join(families)}")
    if count < 1:
        raise ConfigError(f"count must be >= 1, got {count!r}")
    rng = np.random.default_rng(seed)
    made = tuple(families[family](rng, index) for index in range(count))
    return LabeledDataset(name=f"{family}:{seed}", form="simulated", series=made)


ROW_FAMILIES = ("service", "business", "marketplace", "payments")
