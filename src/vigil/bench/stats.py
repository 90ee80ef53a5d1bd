"""``vigil bench stats``: how fast health and drift series are computed, and how exact KS is.

Timings run on synthetic hourly profiles (numeric features with a daily rhythm, two categorical
features, two outputs) that have no drift, so the drift values also show the noise floor. The
KS statistic computed from two KLL sketches is checked against ``scipy.stats.ks_2samp`` on the
raw rows, next to the error bound the sketches state; p-values on identical distributions
should be uniform (median near 0.5).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from vigil.core import ValueKind
from vigil.ingest import META_SCHEMA, Column, RecordBatch
from vigil.profile import Profile, ProfileSpec, QuantileSketch, profile_batch
from vigil.stats import StatsSpec, drift_series, health_series, numeric_drift

START = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatsBenchResult:
    """Measured numbers of one ``vigil bench stats`` run; times in seconds, wall and CPU."""

    windows: int
    columns: int
    rows: int
    trials: int
    kll_k: int
    profiling_s: float
    health_series: int
    health_s: float
    health_cpu_s: float
    drift_series: int
    drift_s: float
    drift_cpu_s: float
    psi_median: float
    psi_p99: float
    psi_share_above_0_1: float
    ks_median: float
    ks_p99: float
    same_g_p_median: float
    same_g_p_min: float
    same_ks_p_median: float
    same_ks_p_min: float
    ks_error_max: float
    ks_error_mean: float
    ks_stated_bound: float


def run_stats_bench(
    *, days: int, features: int, rows: int, trials: int, seed: int
) -> StatsBenchResult:
    """Time the series of ``days`` x 24 hourly profiles, then check KS over ``trials`` trials."""
    rng = np.random.default_rng(seed)
    spec = ProfileSpec()
    started = time.perf_counter()
    profiles: list[Profile] = []
    for hour in range(days * 24):
        profiles.extend(profile_batch(synthetic_hour(rng, hour, rows, features), spec).values())
    profiled = time.perf_counter() - started
    stats_spec = StatsSpec()
    wall, cpu = time.perf_counter(), time.process_time()
    health = health_series(profiles, stats_spec)
    health_s, health_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    drift = drift_series(profiles, None, stats_spec)
    drift_s, drift_cpu = time.perf_counter() - wall, time.process_time() - cpu
    psi = np.concatenate([s.values for s in drift if s.key.statistic == "psi"])
    ks = np.concatenate([s.values for s in drift if s.key.statistic == "ks"])
    psi, ks = psi[~np.isnan(psi)], ks[~np.isnan(ks)]
    errors, bounds = _ks_against_scipy(rng, spec.kll_k, trials)
    g_p, ks_p = _p_values_on_identical(rng, spec.kll_k, trials)
    return StatsBenchResult(
        windows=len(profiles),
        columns=features + 4,  # two categorical features, two outputs
        rows=rows,
        trials=trials,
        kll_k=spec.kll_k,
        profiling_s=profiled,
        health_series=len(health),
        health_s=health_s,
        health_cpu_s=health_cpu,
        drift_series=len(drift),
        drift_s=drift_s,
        drift_cpu_s=drift_cpu,
        psi_median=float(np.median(psi)),
        psi_p99=float(np.quantile(psi, 0.99)),
        psi_share_above_0_1=float(np.mean(psi > 0.1)),
        ks_median=float(np.median(ks)),
        ks_p99=float(np.quantile(ks, 0.99)),
        same_g_p_median=float(np.median(g_p)),
        same_g_p_min=min(g_p),
        same_ks_p_median=float(np.median(ks_p)),
        same_ks_p_min=min(ks_p),
        ks_error_max=max(errors),
        ks_error_mean=float(np.mean(errors)),
        ks_stated_bound=bounds[0],
    )


def _ks_against_scipy(
    rng: np.random.Generator, kll_k: int, trials: int
) -> tuple[list[float], list[float]]:
    """|KS from sketches - exact KS| on 100k+100k rows per trial, and the stated bounds."""
    from scipy import stats as scipy_stats

    errors, bounds = [], []
    for _ in range(trials):
        shift = float(rng.uniform(0.0, 1.0))
        cur, ref = rng.normal(shift, 1.0, 100_000), rng.normal(0.0, 1.0, 100_000)
        sketched = numeric_drift(
            QuantileSketch.empty(kll_k).update(cur), QuantileSketch.empty(kll_k).update(ref)
        )[0]
        errors.append(abs(sketched.value - scipy_stats.ks_2samp(cur, ref).statistic))
        bounds.append(sketched.sketch_error)
    return errors, bounds


def _p_values_on_identical(
    rng: np.random.Generator, kll_k: int, trials: int
) -> tuple[list[float], list[float]]:
    """G-test and KS p-values of two 40k-row samples of one distribution, per trial."""
    g_p, ks_p = [], []
    for _ in range(trials):
        same = numeric_drift(
            QuantileSketch.empty(kll_k).update(rng.normal(0.0, 1.0, 40_000)),
            QuantileSketch.empty(kll_k).update(rng.normal(0.0, 1.0, 40_000)),
        )
        ks_p.append(same[0].p_value)
        g_p.append(same[3].p_value)
    return g_p, ks_p


def format_result(result: StatsBenchResult) -> str:
    """The lines ``vigil bench stats`` prints."""
    r = result
    cells = r.windows * r.columns
    return "\n".join(
        [
            f"{r.windows} hourly profiles x {r.columns} columns x {r.rows} rows (profiling took "
            f"{r.profiling_s:.1f} s, not counted); times are wall (CPU)",
            f"health_series: {r.health_series} series in {r.health_s:.2f} s "
            f"({r.health_cpu_s:.2f} s) = {1000 * r.health_s / r.windows:.1f} "
            f"({1000 * r.health_cpu_s / r.windows:.1f}) ms per window",
            f"drift_series (same hours of the previous 7 days): {r.drift_series} series in "
            f"{r.drift_s:.2f} s ({r.drift_cpu_s:.2f} s) = {1000 * r.drift_s / cells:.2f} "
            f"({1000 * r.drift_cpu_s / cells:.2f}) ms per column-window",
            f"no-drift data: PSI median {r.psi_median:.4f}, p99 {r.psi_p99:.4f}, "
            f"share > 0.1: {r.psi_share_above_0_1:.4f}; KS median {r.ks_median:.4f}, "
            f"p99 {r.ks_p99:.4f}",
            f"p-values on identical distributions (40k vs 40k rows, {r.trials} trials): G-test "
            f"median {r.same_g_p_median:.2f}, min {r.same_g_p_min:.3f}; KS median "
            f"{r.same_ks_p_median:.2f}, min {r.same_ks_p_min:.3f}",
            f"KS from KLL k={r.kll_k} vs scipy.ks_2samp on 100k+100k rows, {r.trials} trials: "
            f"max error {r.ks_error_max:.4f}, mean {r.ks_error_mean:.4f}, "
            f"stated bound {r.ks_stated_bound:.4f}",
        ]
    )


def synthetic_hour(rng: np.random.Generator, hour: int, rows: int, features: int) -> RecordBatch:
    """One hour of records: numeric features with a daily rhythm, two categories, two scores."""
    start_us = int((START + timedelta(hours=hour)).timestamp() * 1e6)
    daily = math.sin(2 * math.pi * (hour % 24) / 24)
    meta = pa.table(
        {
            "model": pa.array(["bench"] * rows, pa.string()),
            "version": pa.array(["v1"] * rows, pa.string()),
            "timestamp": pa.array(
                start_us + rng.integers(0, 3_600_000_000, rows), pa.timestamp("us", tz="UTC")
            ),
            "request_id": pa.array([f"r{hour}-{i}" for i in range(rows)], pa.string()),
            "host": pa.nulls(rows, pa.string()),
            "event": pa.array(["prediction"] * rows, pa.string()),
            "latency_ms": pa.array(rng.lognormal(2.0, 0.5, rows), pa.float64()),
            "label": pa.nulls(rows, pa.float64()),
        },
        schema=META_SCHEMA,
    )

    def category(choices: list[str]) -> Column:
        return Column(
            kinds=np.full(rows, ValueKind.STRING, dtype=np.int8),
            numbers=np.full(rows, np.nan),
            texts=pa.array(rng.choice(choices, rows).tolist(), pa.string()),
        )

    numeric = {
        f"f{i:02d}": Column.from_numbers(rng.normal(daily * i / 10, 1.0 + i / 10, rows))
        for i in range(features)
    }
    return RecordBatch(
        meta=meta,
        features={
            **numeric,
            "country": category(["DE", "FR", "US", "JP", "BR"]),
            "device": category(["ios", "android", "web"]),
        },
        outputs={
            "score": Column.from_numbers(rng.beta(2, 5, rows)),
            "ranked.length": Column.from_numbers(rng.integers(1, 20, rows)),
        },
    )
