"""The ``service`` family: a served model with a daily and weekly cycle of Poisson traffic
(hourly, 10-minute or daily steps); incidents: spike, level shift, gradual drift, variance
change, stuck value, traffic stop and drop, missing feature.

See :mod:`vigil.lab.simulation.rows`.
"""

from __future__ import annotations

import numpy as np

from vigil.lab.labeled import LabeledSeries
from vigil.lab.simulation.rows import (
    BoolArray,
    FloatArray,
    Params,
    Rng,
    calendar,
    labeled_series,
    statistic_from_rows,
)

STATS = ("traffic", "null_rate", "feature_mean", "latency_p99", "positive_rate", "error_rate")


def service_series(rng: Rng, index: int) -> LabeledSeries:
    stat = STATS[index % len(STATS)]
    r = rng.random()
    if r < 0.2:
        step_s, days = 86400, int(rng.integers(120, 300))
    elif r < 0.4:
        step_s, days = 600, int(rng.integers(10, 25))
    else:
        step_s, days = 3600, int(rng.integers(40, 100))
    n_steps = days * 86400 // step_s
    start = np.datetime64("2024-03-01T00:00:00") + np.timedelta64(int(rng.integers(0, 200)), "D")
    ts = start + np.arange(n_steps) * np.timedelta64(step_s, "s")
    hours, weekday = calendar(ts)
    per_day = rng.lognormal(np.log(20000), 1.2)
    peak = rng.uniform(10, 18)
    amp = rng.uniform(0.5, 0.95)
    daily = (
        1 + amp * np.cos(2 * np.pi * (hours - peak) / 24) if step_s < 86400 else np.ones(n_steps)
    )
    weekly = np.where(weekday >= 5, rng.uniform(0.4, 0.9), 1.0)
    trend = np.exp(rng.uniform(-0.3, 0.5) * np.arange(n_steps) / n_steps)
    lam = per_day * step_s / 86400 * daily * weekly * trend
    lam = np.maximum(lam, 0.2)
    labels = np.zeros(n_steps, bool)
    spans = []
    params = _base_params(rng, stat, n_steps, hours)
    lam_mult = np.ones(n_steps)
    override: dict[tuple[int, int], str] = {}
    spd = 86400 // step_s
    if rng.random() >= 0.2:
        choices = _incidents(stat)
        for kind in rng.choice(choices, size=int(rng.integers(1, 4)), replace=False):
            span = _place(rng, n_steps, spd, labels, str(kind))
            if span is None:
                continue
            a, b = span
            ok = _inject(rng, str(kind), stat, params, lam_mult, override, a, b, lam)
            if ok:
                labels[a:b] = True
                spans.append((a, b, str(kind)))
    n = rng.poisson(lam * lam_mult)
    values, stderr = statistic_from_rows(rng, stat, n, params)
    for (a, b), how in override.items():
        if how == "stuck":
            values[a:b] = values[a - 1] if not np.isnan(values[a - 1]) else np.nanmedian(values[:a])
            if stat != "traffic":  # every row reads the one value: no spread
                stderr[a:b] = 0.0
        elif how == "missing":
            values[a:b] = np.nan
            stderr[a:b] = np.nan
    gran = {86400: "daily", 3600: "hourly", 600: "10min"}[step_s]
    return labeled_series(
        f"{index:03d}_{stat}_{gran}.csv",
        stat,
        ts.astype("datetime64[s]"),
        values,
        n,
        labels,
        spans,
        model="service",
        stderr=stderr,
    )


def _base_params(rng: Rng, stat: str, n: int, hours: FloatArray) -> Params:
    drift = np.cumsum(rng.normal(0, 1, n)) / np.sqrt(n)  # slow benign wander
    if stat in ("null_rate",):
        p = rng.uniform(0.005, 0.15) * np.exp(0.1 * drift)
        return {"p": p}
    if stat == "positive_rate":
        p = (
            rng.uniform(0.05, 0.6)
            * (1 + 0.1 * np.sin(2 * np.pi * hours / 24))
            * np.exp(0.05 * drift)
        )
        return {"p": np.clip(p, 0, 1)}
    if stat == "error_rate":
        return {"p": np.full(n, rng.uniform(0.0005, 0.02))}
    if stat == "feature_mean":
        mu = rng.normal(0, 100)
        sd = rng.uniform(1, 50)
        return {
            "mu": mu
            + 0.05 * sd * drift
            + 0.2 * sd * np.sin(2 * np.pi * hours / 24) * rng.choice([0, 1]),
            "sd": np.full(n, sd),
        }
    if stat == "latency_p99":
        return {
            "mu": np.full(n, np.log(rng.uniform(20, 300))),
            "sd": np.full(n, rng.uniform(0.3, 0.9)),
        }
    return {}


def _incidents(stat: str) -> list[str]:
    common = ["spike", "level_shift", "gradual_drift", "variance_change", "stuck", "traffic_stop"]
    if stat == "traffic":
        return ["spike", "level_shift", "traffic_drop", "traffic_stop", "gradual_drift", "stuck"]
    if stat in ("null_rate", "feature_mean"):
        return [*common, "missing"]
    return common


def _place(rng: Rng, n: int, spd: int, taken: BoolArray, kind: str) -> tuple[int, int] | None:
    if kind == "spike":
        length = int(rng.integers(1, 4))
    elif kind == "traffic_stop":
        length = max(1, int(rng.integers(1, 10)) * spd // 24)
    elif kind == "gradual_drift":
        length = int(rng.integers(3, 15)) * spd
    elif kind in ("stuck", "missing"):
        length = max(2, int(rng.integers(3, 30)) * spd // 24)
    else:
        length = max(2, int(rng.integers(6, 120)) * spd // 24)
    length = min(length, max(1, n // 4))
    for _ in range(30):
        start = int(rng.integers(n // 5, max(n // 5 + 1, n - length)))
        stop = min(n, start + length)
        guard = max(3, spd)
        if not taken[max(0, start - guard) : stop + guard].any():
            return start, stop
    return None


def _inject(
    rng: Rng,
    kind: str,
    stat: str,
    params: Params,
    lam_mult: FloatArray,
    override: dict[tuple[int, int], str],
    a: int,
    b: int,
    lam: FloatArray,
) -> bool:
    sign = rng.choice([-1.0, 1.0])
    length = b - a
    typical_n = float(np.median(lam))
    if kind == "traffic_stop":
        lam_mult[a:b] = 0.0
        return True
    if kind == "traffic_drop":
        lam_mult[a:b] *= rng.uniform(0.2, 0.6)
        return True
    if kind == "stuck":
        override[(a, b)] = "stuck"
        return True
    if kind == "missing":
        if stat == "null_rate":
            params["p"][a:b] = 1.0
        else:
            override[(a, b)] = "missing"
        return True
    if stat == "traffic":
        f = rng.uniform(1.5, 3.0) if sign > 0 else rng.uniform(0.3, 0.6)
        if kind == "spike":
            lam_mult[a:b] *= f * 1.5 if sign > 0 else 0.15
        elif kind == "level_shift":
            lam_mult[a:b] *= f
        elif kind == "gradual_drift":
            lam_mult[a:b] *= np.linspace(1, f, length)
        else:
            return False
        return True
    ramp = np.linspace(0, 1, length) if kind == "gradual_drift" else np.ones(length)
    if kind == "spike":
        size = rng.uniform(6, 12)
    elif kind == "variance_change":
        size = 0.0
    else:
        size = rng.uniform(3, 8)
    if "p" in params:
        p = params["p"]
        base = float(np.median(p[:a]))
        se = np.sqrt(base * (1 - base) / max(typical_n, 1))
        if kind == "variance_change":
            p[a:b] = np.clip(p[a:b] * np.exp(rng.normal(0, 0.6, length)), 0, 1)
            return True
        delta = size * se + rng.uniform(0.1, 0.5) * base
        p[a:b] = np.clip(p[a:b] + sign * ramp * delta, 0, 1)
        return True
    mu, sd = params["mu"], params["sd"]
    if stat == "latency_p99":
        if kind == "variance_change":
            sd[a:b] *= rng.uniform(1.4, 2.0)
        else:
            mu[a:b] += sign * ramp * rng.uniform(0.2, 0.7) * (1.5 if kind == "spike" else 1.0)
        return True
    se = sd[a] / np.sqrt(max(typical_n, 1))
    if kind == "variance_change":
        sd[a:b] *= rng.uniform(3, 8)
    else:
        mu[a:b] += sign * ramp * (size * se + rng.uniform(0.05, 0.3) * sd[a])
    return True
